// SPDX-License-Identifier: Apache-2.0
// The operator's log as a cluster's log collector and a person at a terminal meet it
// (docs/adr/0035): JSON lines when stderr is not a terminal (a container), each with its level
// and component, and a reconcile's lines with controller-runtime's `controller`, `object`
// (ns/name) and `reconcileID`; `--log-format text` gives readable lines with the same fields.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  sharedControlPlane,
  startMosquitto,
  uniqueName,
  waitFor,
  type ControlPlane,
  type Mosquitto,
} from '@wasmfleet/test-support';
import { functionYaml } from './harness.ts';
import { spawnOperator, type OperatorProcess } from './operator-process.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

interface Entry {
  readonly time?: unknown;
  readonly level?: unknown;
  readonly component?: unknown;
  readonly msg?: unknown;
  readonly controller?: unknown;
  readonly object?: unknown;
  readonly reconcileID?: unknown;
  readonly outcome?: unknown;
}

describe('operator logs', () => {
  let plane: ControlPlane;
  let broker: Mosquitto;
  let ns: string;
  const operators: OperatorProcess[] = [];
  const args = (...more: string[]) => [
    '--broker',
    broker.url,
    '--namespace',
    ns,
    '--fleet',
    uniqueName('fleet'),
    ...more,
  ];
  const applyFunction = (name: string) =>
    plane.kubectl(['apply', '-n', ns, '-f', '-'], {
      stdin: functionYaml(name, {
        module: { configMap: { name: 'missing', key: 'module.wasm' } },
        inputs: [{ topic: 'in/{node}' }],
      }),
    });

  before(async () => {
    plane = await sharedControlPlane();
    broker = await startMosquitto();
    ns = uniqueName('op-logs');
    await plane.kubectl(['create', 'namespace', ns]);
  });
  after(async () => {
    await Promise.all(operators.map((o) => o.kill('SIGTERM')));
    await broker.dispose();
  });

  it('writes JSON lines in a container: level, component, and controller, object and reconcileID for a reconcile', async () => {
    const operator = spawnOperator(args('--log-level', 'debug'), plane.kubeconfigPath);
    operators.push(operator);
    const entries = (): Entry[] =>
      operator.log.flatMap((line) => {
        try {
          return [JSON.parse(line) as Entry];
        } catch {
          return [];
        }
      });
    await applyFunction('logged');
    const reconciled = await waitFor('a JSON line for the reconcile of logged', () =>
      entries().find(
        (e) => e.controller === 'wasmfunction' && e.object === `${ns}/logged` && e.msg === 'reconciled',
      ),
    );
    assert.equal(reconciled.level, 'debug');
    assert.equal(reconciled.component, 'operator');
    assert.match(String(reconciled.reconcileID), UUID);
    assert.equal(typeof reconciled.outcome, 'string', 'the outcome is a field');
    // Every line is one JSON object with a time, a level and the component, not only that one.
    for (const line of operator.log) {
      let e: Entry;
      try {
        e = JSON.parse(line) as Entry;
      } catch (error) {
        throw new Error(`a line that is not JSON: ${line}`, { cause: error });
      }
      assert.ok(typeof e.time === 'string' && !Number.isNaN(Date.parse(e.time)), line);
      assert.ok(['debug', 'info', 'warn', 'error'].includes(String(e.level)), line);
      assert.equal(e.component, 'operator', line);
      assert.equal(typeof e.msg, 'string', line);
    }
    assert.ok(
      entries().some((e) => e.msg === 'operator ready' && e.level === 'info'),
      'the messages people grep for are unchanged',
    );
    const ids = entries()
      .filter((e) => e.msg === 'reconciled')
      .map((e) => e.reconcileID);
    assert.equal(new Set(ids).size, ids.length, `each reconcile has its own ID: ${ids.join(', ')}`);
    await operator.kill('SIGTERM');
  });

  it('--log-format text writes readable lines: time, level, component, message, then the fields', async () => {
    const operator = spawnOperator(
      args('--log-format', 'text', '--log-level', 'debug'),
      plane.kubeconfigPath,
    );
    operators.push(operator);
    await applyFunction('logged-text');
    const line = await waitFor('a text line for the reconcile of logged-text', () =>
      operator.log.find((l) => l.includes(`object=${ns}/logged-text`) && l.includes('reconciled')),
    );
    assert.match(
      line,
      /^\d{4}-\d\d-\d\dT[\d:.]+Z DEBUG operator: reconciled controller=wasmfunction object=\S+ reconcileID=[0-9a-f-]{36} outcome=\w+ durationMs=\d+$/,
    );
    assert.ok(
      operator.log.some((l) => / INFO {2}operator: operator ready$/.test(l)),
      operator.log.join('\n'),
    );
    assert.ok(!operator.log.some((l) => l.startsWith('{')), 'no JSON line in text format');
    await operator.kill('SIGTERM');
  });

  it('refuses a log level or format it does not know, saying which ones it takes', async () => {
    const operator = spawnOperator(args('--log-format', 'xml'), plane.kubeconfigPath);
    operators.push(operator);
    await waitFor('the operator to exit', () => (operator.child.exitCode !== null ? true : undefined));
    assert.equal(operator.child.exitCode, 2);
    assert.match(operator.log.join('\n'), /--log-format "xml": use one of json, text/);
  });
});
