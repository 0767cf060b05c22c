// SPDX-License-Identifier: Apache-2.0
// The pure parts of one-command join: which tokens are traded, what a refused device is told, and
// that a sealed answer opens only with the token and request it was sealed for.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  joinSecretHash,
  newJoinRequestId,
  newJoinToken,
  openJoinResult,
  parseJoinResult,
  sealJoinResult,
} from '@wasmfleet/api';
import { judgeJoinToken, type StoredJoinToken } from '../../src/join/join-verdict.ts';

const NOW = Date.parse('2026-12-06T12:00:00Z');

describe('judgeJoinToken', () => {
  const issued = newJoinToken();
  const stored: StoredJoinToken = {
    node: 'pump-7',
    sha256: joinSecretHash(issued.secret),
    expiresAt: NOW + 60_000,
  };

  it('trades a fresh token for its device', () => {
    assert.deepEqual(judgeJoinToken(issued.token, stored, NOW), { ok: true, node: 'pump-7' });
  });

  it('calls a token it cannot find, one whose secret differs and garbage all Forged, with the same message', () => {
    const other = newJoinToken();
    const verdicts = [
      judgeJoinToken(issued.token, undefined, NOW),
      judgeJoinToken(`wfjoin.${issued.id}.${other.secret}`, stored, NOW),
      judgeJoinToken('not a token', stored, NOW),
    ];
    for (const v of verdicts)
      assert.ok(!v.ok && v.reason === 'Forged' && /did not issue this token/.test(v.message));
    assert.equal(new Set(verdicts.map((v) => (v.ok ? '' : v.message))).size, 1);
  });

  it('refuses a used token (saying when) before an expired one, and an expired one with its expiry', () => {
    const used = judgeJoinToken(issued.token, { ...stored, usedAt: '2026-12-06T11:59:00Z' }, NOW + 120_000);
    assert.ok(!used.ok && used.reason === 'Used' && used.message.includes('2026-12-06T11:59:00Z'));
    const late = judgeJoinToken(issued.token, stored, NOW + 60_000);
    assert.ok(!late.ok && late.reason === 'Expired' && late.message.includes('wasmfleet nodes join pump-7'));
  });
});

describe('sealed join answers', () => {
  it('open with the token and request they were sealed for, and with nothing else', () => {
    const { token } = newJoinToken();
    const request = newJoinRequestId();
    // Regression: the password was 'pw', which the base64 of the sealed answer contains by chance
    // in about one run of 28 (141 of 4,000 seals; CI failed on it). Spaces never occur in base64.
    const password = 'the device password';
    const sealed = sealJoinResult({ ok: true, node: 'pump-7', username: 'pump-7', password }, token, request);
    assert.ok(!JSON.stringify(sealed).includes(password));
    const opened = parseJoinResult(openJoinResult(sealed, token, request));
    assert.ok(opened.ok && opened.value.ok && opened.value.password === password);
    assert.throws(() => openJoinResult(sealed, newJoinToken().token, request));
    assert.throws(() => openJoinResult(sealed, token, newJoinRequestId()));
  });
});
