// SPDX-License-Identifier: Apache-2.0
// What a conformance check is: a named, documented promise of the contract, run against a fresh
// runtime process, that passes or fails with a message saying what the runtime did instead.
import type { DesiredFunction } from '@wasmfleet/api';
import type { Mosquitto } from '@wasmfleet/test-support';
import type { AgentStart, AgentUnderTest } from './agent-under-test.ts';
import type { Fleet } from './fleet.ts';
import type { Guests } from './guests.ts';

/** A check's verdict when the runtime did not do what the contract says. */
export class CheckFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CheckFailure';
  }
}

export interface Check {
  /** Stable, dotted: `<area>.<promise>`; what reports and --only use. */
  readonly name: string;
  /** The promise, as a sentence. */
  readonly title: string;
  /** Where the contract says so. */
  readonly contract: string;
  run(ctx: CheckContext): Promise<void>;
}

export interface CheckContext {
  /** The run's broker (Mosquitto 2, MQTT 5), shared by the checks. */
  readonly broker: Mosquitto;
  readonly fleet: Fleet;
  readonly guests: Guests;
  /** A node id unique to this check. */
  node(suffix?: string): string;
  /** A directory of this check (data directories, keys, served files). */
  readonly dir: string;
  /** Starts the runtime under test (stopped by the runner after the check). */
  startAgent(
    start: Omit<AgentStart, 'brokerUrl' | 'dataDir'> & { brokerUrl?: string; dataDir?: string },
  ): Promise<AgentUnderTest>;
  /** The runtimes this check started, oldest first. */
  agents(): readonly AgentUnderTest[];
  /** A private broker, disposed after the check (for checks that stop it). */
  privateBroker(): Promise<Mosquitto>;
  /** `ms` scaled by --timeout-scale. */
  within(ms: number): number;
  /** Runs when the check ends, pass or fail (servers it started, say). */
  onCleanup(cleanup: () => Promise<void>): void;
  /** A function of this check, with the kit's defaults (namespace, limits, echo output). */
  fn(name: string, bytes: Uint8Array, overrides?: Partial<DesiredFunction>): DesiredFunction;
}

export function expect(condition: boolean, message: string): asserts condition {
  if (!condition) throw new CheckFailure(message);
}

/** Polls `done` until true; fails with `what` after `timeoutMs`. */
export async function until(what: string, done: () => boolean, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > end)
      throw new CheckFailure(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}`);
    await sleep(25);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
