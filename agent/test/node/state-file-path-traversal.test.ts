// SPDX-License-Identifier: Apache-2.0
// Regression: a function's state file was named from the desired document's namespace and name
// (`<data-dir>/state/<namespace>__<name>.json`) while the wire schema only bounded their length,
// so `../` in a name wrote files outside the data directory: whoever could write a device's
// desired topic could write files on it, breaking the promise that a compromised control plane
// can only stop functions. Names now follow Kubernetes' patterns in the wire schema, and state
// files are named by a hash of the function's identity.
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseDesiredState, type DesiredFunction } from '@wasmfleet/api';
import { startMosquitto } from '@wasmfleet/test-support';
import { Agent } from '../../src/node/agent.ts';
import { adoptLegacyStateFile, stateFile } from '../../src/state/state-file.ts';
import {
  collect,
  connect,
  fnSpec,
  fnStatus,
  publishDesired,
  publishModule,
  until,
  waitForStatus,
} from '../helpers/fleet.ts';
import { tempDir } from '../helpers/tmp.ts';
import { fixture } from '../helpers/wasm.ts';

/** Every file under `dir`, as paths relative to it. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => path.relative(dir, path.join(e.parentPath, e.name)));
}

const HOSTILE: readonly Partial<DesiredFunction>[] = [
  { namespace: '..', name: '../../../../escape' },
  { namespace: 'plant-1', name: '../../../../escape' },
  { namespace: '../../..', name: 'escape' },
  { namespace: 'plant-1', name: 'a/b' },
  { namespace: 'Plant-1', name: 'temp' },
  { namespace: 'plant-1', name: 'temp..x' },
];

describe('state files cannot leave the data directory', () => {
  it('the wire schema refuses namespaces and names that are not Kubernetes names', async () => {
    const echo = await fixture('healthy/echo.wat');
    for (const names of HOSTILE) {
      const doc = { version: 1, node: 'd', generation: 1, functions: [fnSpec('f', echo, names)] };
      const parsed = parseDesiredState(JSON.stringify(doc));
      assert.equal(parsed.ok, false, `refused: ${JSON.stringify(names)}`);
    }
    const fine = { version: 1, node: 'd', generation: 1, functions: [fnSpec('temp.v2-x', echo)] };
    assert.equal(parseDesiredState(JSON.stringify(fine)).ok, true);
  });

  it('a desired document naming ../ paths writes nothing outside the data directory; functions still keep state', async () => {
    await using broker = await startMosquitto();
    await using root = await tempDir();
    const dataDir = path.join(root.path, 'device', 'data');
    await mkdir(dataDir, { recursive: true });
    const operator = await connect(broker.url);
    const logs: string[] = [];
    const agent = new Agent({
      brokerUrl: broker.url,
      nodeId: 'victim',
      dataDir,
      heartbeatSeconds: 1,
      log: (_level, text) => logs.push(text),
    });
    await agent.start();
    try {
      const features = await fixture('healthy/features.wat');
      await publishModule(operator, features);
      const inputs = [{ topic: 'sensors/{node}/s', qos: 1 as const, format: 'raw' as const }];
      const outputs = [{ topic: 'out/{node}/s', qos: 1 as const, retain: false }];
      await publishDesired(
        operator,
        'victim',
        HOSTILE.slice(0, 3).map((names) => fnSpec('f', features, { ...names, inputs, outputs })),
        1,
      );
      // Refused (or, before the fix, started): either way the functions get readings that make
      // them write state, and their state files get time to be written.
      let running = 0;
      const watch = waitForStatus(operator, 'victim', (s) => {
        running = s.functions?.filter((f) => f.phase === 'Running').length ?? 0;
        return running === 3;
      }).catch(() => undefined);
      await until(
        'the refusal or the functions running',
        () => logs.some((l) => l.includes('refusing the desired state')) || running === 3,
      );
      for (let i = 0; i < 5; i++) {
        await operator.publishAsync('sensors/victim/s', 's', { qos: 1 });
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      await new Promise((resolve) => setTimeout(resolve, 300));
      // A valid document: the function keeps state (in a file named by a hash).
      await publishDesired(operator, 'victim', [fnSpec('counter', features, { inputs, outputs })], 2);
      await waitForStatus(operator, 'victim', (s) => fnStatus(s, 'counter')?.phase === 'Running');
      const sink = await collect(operator, 'out/victim/s');
      await operator.publishAsync('sensors/victim/s', 's', { qos: 1 });
      await until('an output', () => sink.length > 0);
      void watch;
    } finally {
      await agent.stop();
      await operator.endAsync();
    }
    const outside = (await filesUnder(root.path)).filter(
      (f) => !f.startsWith(`device${path.sep}data${path.sep}`),
    );
    assert.deepEqual(outside, [], 'no file outside the data directory');
    const state = (await filesUnder(dataDir)).filter((f) => f.startsWith(`state${path.sep}`));
    assert.deepEqual(state, [path.relative(dataDir, stateFile(dataDir, 'plant-1', 'counter'))]);
  });

  it('a state file path is inside <data-dir>/state for any namespace and name', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (namespace, name) => {
        const file = stateFile('/data', namespace, name);
        assert.equal(path.dirname(file), path.join('/data', 'state'));
        assert.match(path.basename(file), /^[0-9a-f]{64}\.json$/);
      }),
    );
  });

  it('a state file of an older agent is moved to its new name once; hostile names move nothing', async () => {
    await using dir = await tempDir();
    await mkdir(path.join(dir.path, 'state'));
    await writeFile(path.join(dir.path, 'state', 'plant-1__counter.json'), '{"n":"AQAAAA=="}');
    await adoptLegacyStateFile(dir.path, 'plant-1', 'counter');
    assert.equal(await readFile(stateFile(dir.path, 'plant-1', 'counter'), 'utf8'), '{"n":"AQAAAA=="}');
    await adoptLegacyStateFile(dir.path, 'plant-1', 'counter'); // nothing left to move
    await writeFile(path.join(dir.path, 'outside__x.json'), 'keep');
    await adoptLegacyStateFile(dir.path, '..', 'x');
    assert.deepEqual((await filesUnder(dir.path)).sort(), [
      'outside__x.json',
      path.relative(dir.path, stateFile(dir.path, 'plant-1', 'counter')),
    ]);
  });
});
