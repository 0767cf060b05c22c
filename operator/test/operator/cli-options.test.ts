// SPDX-License-Identifier: Apache-2.0
// The operator's flags: defaults, and a message that says what to write for every bad value.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseOperatorArgs, UsageError, type OperatorCliOptions } from '../../src/cli-options.ts';

const BROKER = ['--broker', 'mqtt://127.0.0.1:1883'];

function parse(args: readonly string[], env: NodeJS.ProcessEnv = {}): OperatorCliOptions {
  const options = parseOperatorArgs(args, env);
  assert.notEqual(options, 'help');
  return options as OperatorCliOptions;
}

function refuses(args: readonly string[], message: RegExp): void {
  assert.throws(
    () => parseOperatorArgs(args, {}),
    (error: unknown) => {
      assert.ok(error instanceof UsageError, String(error));
      assert.match(error.message, message);
      return true;
    },
  );
}

describe('operator flags', () => {
  it('defaults: 4 workers, Optional signatures, a 10-minute event aggregation window', () => {
    const o = parse(BROKER);
    assert.equal(o.workers, 4);
    assert.equal(o.moduleSignatures, 'Optional');
    assert.equal(o.eventAggregationWindowMs, 600_000);
    assert.deepEqual(o.opsAddress, { host: '127.0.0.1', port: 8080 });
  });

  it('takes the broker from WASMFLEET_BROKER and durations in ms, s or m', () => {
    const o = parse(['--event-aggregation-window', '90s'], { WASMFLEET_BROKER: 'mqtts://broker:8883' });
    assert.equal(o.broker, 'mqtts://broker:8883');
    assert.equal(o.eventAggregationWindowMs, 90_000);
  });

  it('refuses bad values with what to write instead', () => {
    refuses([], /--broker is required \(or set WASMFLEET_BROKER\), e\.g\. --broker mqtt:/);
    refuses(['--broker', 'http://x'], /is not an MQTT URL; write mqtt:\/\/host:1883/);
    refuses([...BROKER, '--workers', '0'], /--workers 0 must be a whole number from 1 to 64/);
    refuses([...BROKER, '--event-aggregation-window', 'ten'], /must be a duration like 500ms, 15s or 1m/);
    refuses([...BROKER, '--event-aggregation-window', '10ms'], /must be at least 1s, e\.g\. 10m/);
    refuses([...BROKER, '--module-signatures', 'yes'], /must be Required or Optional/);
    refuses([...BROKER, '--ops-bind-address', 'nowhere'], /must be HOST:PORT/);
    refuses([...BROKER, '--nope'], /run wasmfleet-operator --help for the flags/);
  });
});
