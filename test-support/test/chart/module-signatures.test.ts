// SPDX-License-Identifier: Apache-2.0
// The chart's cluster-wide signature policy: operator.moduleSignatures reaches the operator as
// WASMFLEET_MODULE_SIGNATURES, and only the two policies the operator knows are accepted.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseOperatorArgs, UsageError } from '../../../operator/src/cli-options.ts';
import { operatorEnv, render, template } from './helm.ts';

describe('operator.moduleSignatures', () => {
  it('defaults to Optional, passes Required on, and rejects anything else naming the key', async () => {
    assert.equal(operatorEnv((await render()).manifests).WASMFLEET_MODULE_SIGNATURES, 'Optional');
    const required = await render({ values: { operator: { moduleSignatures: 'Required' } } });
    assert.equal(operatorEnv(required.manifests).WASMFLEET_MODULE_SIGNATURES, 'Required');
    const wrong = await template({ values: { operator: { moduleSignatures: 'Always' } } });
    assert.notEqual(wrong.code, 0);
    assert.match(wrong.stderr, /moduleSignatures/);
  });

  it('the operator reads the same setting from --module-signatures or the environment, and refuses a typo', () => {
    const base = ['--broker', 'mqtt://127.0.0.1:1883'];
    const fromEnv = parseOperatorArgs(base, { WASMFLEET_MODULE_SIGNATURES: 'Required' });
    assert.ok(fromEnv !== 'help');
    assert.equal(fromEnv.moduleSignatures, 'Required');
    const byDefault = parseOperatorArgs(base, {});
    assert.ok(byDefault !== 'help');
    assert.equal(byDefault.moduleSignatures, 'Optional');
    assert.throws(
      () => parseOperatorArgs([...base, '--module-signatures', 'required'], {}),
      (e: unknown) => e instanceof UsageError && /must be Required or Optional/.test(e.message),
    );
  });
});
