// SPDX-License-Identifier: Apache-2.0
// Regression: `helm install` starts the operator and Mosquitto together; an operator that came up
// first exited on "connect ECONNREFUSED" and its container restarted (seen in the kind e2e). It
// waits for the broker now, not ready meanwhile, and a refusal that waiting cannot fix still ends
// the start with its reason.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  freePort,
  sharedControlPlane,
  startMosquitto,
  uniqueName,
  waitFor,
  type ControlPlane,
  type Mosquitto,
} from '@wasmfleet/test-support';
import { spawnOperator, type OperatorProcess } from './operator-process.ts';

describe('an operator started before its broker', () => {
  let plane: ControlPlane;
  let ns: string;
  const operators: OperatorProcess[] = [];
  const brokers: Mosquitto[] = [];
  const start = (url: string) => {
    const op = spawnOperator(
      ['--broker', url, '--namespace', ns, '--fleet', uniqueName('fleet')],
      plane.kubeconfigPath,
    );
    operators.push(op);
    return op;
  };

  before(async () => {
    plane = await sharedControlPlane();
    ns = uniqueName('late-broker');
    await plane.kubectl(['create', 'namespace', ns]);
  });
  after(async () => {
    for (const op of operators) await op.kill('SIGTERM');
    for (const b of brokers) await b.stop();
    await plane.kubectl(['delete', 'namespace', ns, '--wait=false']);
  });

  it('waits for the broker, not ready meanwhile, and becomes ready once the broker is up', async () => {
    const port = await freePort();
    const op = start(`mqtt://127.0.0.1:${port}`);
    await waitFor(
      'the operator to say it waits for the broker',
      () =>
        op.log.some((l) => l.includes('waiting for the MQTT broker') && l.includes('ECONNREFUSED')) ||
        undefined,
    );
    assert.equal(await op.readyz(), 503, 'not ready while the broker is missing');
    assert.equal(op.child.exitCode, null, `the operator exited:\n${op.log.join('\n')}`);
    brokers.push(await startMosquitto({ port }));
    await waitFor(
      'the operator to become ready once the broker is up',
      async () => (await op.readyz()) === 200 || undefined,
      {
        timeoutMs: 30_000,
      },
    );
    assert.equal(op.child.exitCode, null);
  });

  it('still stops at once, with the reason, when the broker refuses its login', async () => {
    const broker = await startMosquitto({ extraConfig: ['allow_anonymous false'] });
    brokers.push(broker);
    const op = start(broker.url);
    await waitFor('the operator to exit', () => op.child.exitCode !== null || undefined, {
      timeoutMs: 30_000,
    });
    const output = op.log.join('\n');
    assert.match(output, /cannot connect to the MQTT broker/);
    assert.match(output, /[Nn]ot authorized/);
    assert.doesNotMatch(output, /waiting for the MQTT broker/);
  });
});
