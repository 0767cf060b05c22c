// SPDX-License-Identifier: Apache-2.0
// The chart's log settings (docs/adr/0035): operator.logLevel and operator.logFormat reach the
// operator as WASMFLEET_LOG_LEVEL and WASMFLEET_LOG_FORMAT (JSON lines by default, for a log
// collector), the operator reads them, and a value it does not know fails `helm install`.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseOperatorArgs } from '../../../operator/src/cli-options.ts';
import { operatorEnv, render, template } from './helm.ts';

describe('operator.logLevel and operator.logFormat', () => {
  it('default to info and JSON lines, pass other values on, and reject a typo naming the key', async () => {
    const env = operatorEnv((await render()).manifests);
    assert.equal(env.WASMFLEET_LOG_LEVEL, 'info');
    assert.equal(env.WASMFLEET_LOG_FORMAT, 'json');
    const debug = operatorEnv(
      (await render({ values: { operator: { logLevel: 'debug', logFormat: 'text' } } })).manifests,
    );
    assert.deepEqual([debug.WASMFLEET_LOG_LEVEL, debug.WASMFLEET_LOG_FORMAT], ['debug', 'text']);
    const options = parseOperatorArgs(['--broker', 'mqtt://127.0.0.1:1883'], debug);
    assert.ok(options !== 'help');
    assert.deepEqual(options.log, { level: 'debug', format: 'text' });
    const wrong = await template({ values: { operator: { logLevel: 'verbose' } } });
    assert.notEqual(wrong.code, 0);
    assert.match(wrong.stderr, /logLevel/);
  });
});
