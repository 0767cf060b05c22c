// SPDX-License-Identifier: Apache-2.0
// Whether a bootstrap token may be traded for a device's credentials, and what a refused device
// is told. Pure: the record comes from the token's Secret, the clock from the caller. The secret
// is compared as a hash in constant time; a token we never issued, one whose secret does not
// match, and one that was revoked (its Secret deleted) all read as Forged, so the answer leaks
// nothing about which tokens exist.
import { timingSafeEqual } from 'node:crypto';
import { joinSecretHash, parseJoinToken, type JoinRefusal } from '@wasmfleet/api';

export interface StoredJoinToken {
  readonly node: string;
  /** sha256 hex of the token's secret. */
  readonly sha256: string;
  readonly expiresAt: number;
  /** When it was traded (RFC 3339), if it was. */
  readonly usedAt?: string;
}

export type JoinVerdict =
  | { readonly ok: true; readonly node: string }
  | { readonly ok: false; readonly reason: JoinRefusal; readonly message: string };

const AGAIN = (node: string): string => `run \`wasmfleet nodes join ${node}\` again for a new one`;

export function judgeJoinToken(token: string, stored: StoredJoinToken | undefined, now: number): JoinVerdict {
  const parsed = parseJoinToken(token);
  const matches =
    parsed !== undefined &&
    stored !== undefined &&
    timingSafeEqual(
      Buffer.from(joinSecretHash(parsed.secret)),
      Buffer.from(stored.sha256.padEnd(64).slice(0, 64)),
    );
  if (!parsed || !stored || !matches)
    return {
      ok: false,
      reason: 'Forged',
      message:
        'this cluster did not issue this token (or it was revoked): copy the whole command `wasmfleet nodes join <node>` printed, or ask for a new one',
    };
  if (stored.usedAt)
    return {
      ok: false,
      reason: 'Used',
      message: `this token was already used (at ${stored.usedAt}) and works only once; ${AGAIN(stored.node)}`,
    };
  if (now >= stored.expiresAt)
    return {
      ok: false,
      reason: 'Expired',
      message: `this token expired at ${new Date(stored.expiresAt).toISOString()}; ${AGAIN(stored.node)}`,
    };
  return { ok: true, node: stored.node };
}
