// SPDX-License-Identifier: Apache-2.0
// Every check of the kit, in the order they run. A new check goes into its area's file and is
// listed through it here; its name is its identity in reports and in --only (docs/conformance.md).
import type { Check } from '../check.ts';
import { badInputChecks } from './bad-input.ts';
import { deliveryChecks } from './delivery.ts';
import { desiredChecks } from './desired.ts';
import { guestAbiChecks } from './guest-abi.ts';
import { moduleChecks } from './modules.ts';
import { offlineChecks } from './offline.ts';
import { sandboxChecks } from './sandbox.ts';
import { signatureChecks } from './signatures.ts';
import { statusChecks } from './status.ts';

export const CHECKS: readonly Check[] = [
  ...statusChecks,
  ...desiredChecks,
  ...moduleChecks,
  ...signatureChecks,
  ...deliveryChecks,
  ...offlineChecks,
  ...sandboxChecks,
  ...badInputChecks,
  ...guestAbiChecks,
];
