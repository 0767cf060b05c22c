// SPDX-License-Identifier: Apache-2.0
// The CRDs against a real kube-apiserver, driven with the real kubectl as a user would: the
// examples apply, the printer columns/short names/category work, status is a subresource, and
// every invalid fixture is rejected with a message that names the field and says what to fix.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sharedControlPlane, uniqueName, type ControlPlane } from '@wasmfleet/test-support';
import { CATEGORY, EDGE_NODE_CRD_NAME, WASM_FUNCTION_CRD_NAME } from '../src/index.ts';
import { EXAMPLES_DIR, exampleFiles, invalidFixtures, loadManifests } from './helpers.ts';

const headerOf = (stdout: string): string[] => (stdout.split('\n')[0] ?? '').trim().split(/\s+/);

/** Runs `tasks` with at most `limit` in flight (kubectl is a process each; the machine has 2 cores). */
async function pool<T, R>(items: readonly T[], limit: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < items.length; i = next++) results[i] = await task(items[i] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

describe('WasmFleet CRDs on a real API server', () => {
  let cp: ControlPlane;
  let ns: string;
  const kubectl = async (args: string[], stdin?: string) =>
    cp.kubectl(args, stdin === undefined ? {} : { stdin });

  before(async () => {
    cp = await sharedControlPlane();
    ns = uniqueName('api-crds');
    const created = await kubectl(['create', 'namespace', ns]);
    assert.equal(created.code, 0, created.stderr);
  });

  after(async () => {
    // EdgeNodes are cluster-scoped: remove the examples' nodes so other tests do not see them.
    await kubectl([
      'delete',
      '-f',
      path.join(EXAMPLES_DIR, 'edgenodes.yaml'),
      '--ignore-not-found',
      '--wait=false',
    ]);
    await kubectl(['delete', 'namespace', ns, '--wait=false']);
  });

  it('the installed CRDs are Established with no CEL cost or structural-schema complaints', async () => {
    for (const name of [WASM_FUNCTION_CRD_NAME, EDGE_NODE_CRD_NAME]) {
      const got = await kubectl([
        'get',
        'crd',
        name,
        '-o',
        'jsonpath={range .status.conditions[*]}{.type}={.status};{end}',
      ]);
      assert.equal(got.code, 0, got.stderr);
      assert.match(got.stdout, /Established=True/);
      assert.match(got.stdout, /NamesAccepted=True/);
      assert.doesNotMatch(got.stdout, /NonStructuralSchema=True/);
    }
  });

  it('every example manifest applies cleanly with kubectl apply -f', async () => {
    const files = await exampleFiles();
    assert.ok(files.length >= 4);
    for (const file of files) {
      const applied = await kubectl(['apply', '-n', ns, '-f', file]);
      assert.equal(applied.code, 0, `${file}: ${applied.stderr}`);
      assert.equal(applied.stderr, '', `${file} printed warnings`);
      for (const m of await loadManifests(file)) {
        assert.match(
          applied.stdout,
          new RegExp(`${m.kind.toLowerCase()}\\.wasmfleet\\.io/\\S+ (created|configured|unchanged)`),
          file,
        );
      }
    }
    const names = await kubectl(['get', 'wasmfunctions', '-n', ns, '-o', 'name']);
    assert.deepEqual(names.stdout.trim().split('\n').sort(), [
      'wasmfunction.wasmfleet.io/humidity-average',
      'wasmfunction.wasmfleet.io/temp-alert',
      'wasmfunction.wasmfleet.io/vibration-fft',
    ]);
  });

  it('the API server applies the schema defaults', async () => {
    const got = await kubectl([
      'get',
      'wasmfunction',
      'temp-alert',
      '-n',
      ns,
      '-o',
      'jsonpath={.spec.rollout.onFailure} {.spec.revisionHistoryLimit} {.spec.outputs[0].retain}',
    ]);
    assert.equal(got.stdout, 'Rollback 10 false');
  });

  it('kubectl get wasmfunctions,edgenodes prints the printer columns', async () => {
    const both = await kubectl(['get', 'wasmfunctions,edgenodes', '-n', ns]);
    assert.equal(both.code, 0, both.stderr);
    const [fnTable = '', nodeTable = ''] = both.stdout.split(/\n\s*\n/);
    assert.deepEqual(headerOf(fnTable), ['NAME', 'MODULE', 'READY', 'UP-TO-DATE', 'PHASE', 'AGE']);
    assert.deepEqual(headerOf(nodeTable), [
      'NAME',
      'STATUS',
      'SENSORS',
      'FUNCTIONS',
      'AGENT',
      'LAST-SEEN',
      'AGE',
    ]);
    assert.match(nodeTable, /edgenode\.wasmfleet\.io\/rpi-line1-01/);
  });

  it('short names, -o wide and the wasmfleet category work', async () => {
    for (const short of ['wfn', 'wasmfn']) {
      const got = await kubectl(['get', short, '-n', ns]);
      assert.equal(got.code, 0, got.stderr);
      assert.deepEqual(headerOf(got.stdout), ['NAME', 'MODULE', 'READY', 'UP-TO-DATE', 'PHASE', 'AGE']);
      assert.match(got.stdout, /^temp-alert\s/m);
    }
    const en = await kubectl(['get', 'en', 'rpi-line1-01', 'gw-line2-01']);
    assert.equal(en.code, 0, en.stderr);
    assert.deepEqual(headerOf(en.stdout), [
      'NAME',
      'STATUS',
      'SENSORS',
      'FUNCTIONS',
      'AGENT',
      'LAST-SEEN',
      'AGE',
    ]);
    const wide = await kubectl(['get', 'wfn', '-n', ns, '-o', 'wide']);
    assert.deepEqual(headerOf(wide.stdout), [
      'NAME',
      'MODULE',
      'READY',
      'UP-TO-DATE',
      'PHASE',
      'AGE',
      'MODE',
      'STRATEGY',
      'DIGEST',
    ]);
    assert.match(wide.stdout, /^vibration-fft\s.*\sReplicas\s+Rolling\s/m);
    const category = await kubectl(['get', CATEGORY, '-n', ns]);
    assert.equal(category.code, 0, category.stderr);
    assert.match(category.stdout, /wasmfunction\.wasmfleet\.io\/temp-alert/);
    assert.match(category.stdout, /edgenode\.wasmfleet\.io\/rpi-line1-01/);
    assert.ok(
      category.stdout.includes('UP-TO-DATE') && category.stdout.includes('LAST-SEEN'),
      category.stdout,
    );
  });

  it('status is a subresource, and the columns show what the operator writes there', async () => {
    const status = {
      status: {
        phase: 'Progressing',
        module: 'temp-alert.wasm',
        ready: '2/3',
        desiredNodes: 3,
        readyNodes: 2,
        updatedNodes: 1,
        conditions: [
          {
            type: 'Ready',
            status: 'False',
            reason: 'RolloutInProgress',
            message: '1 of 3 devices updated',
            lastTransitionTime: '2025-01-01T00:00:00Z',
          },
        ],
      },
    };
    const patched = await kubectl([
      'patch',
      'wasmfunction',
      'temp-alert',
      '-n',
      ns,
      '--subresource=status',
      '--type=merge',
      '-p',
      JSON.stringify(status),
    ]);
    assert.equal(patched.code, 0, patched.stderr);
    const row = await kubectl(['get', 'wfn', 'temp-alert', '-n', ns, '--no-headers']);
    assert.match(row.stdout, /^temp-alert\s+temp-alert\.wasm\s+2\/3\s+1\s+Progressing\s/);
    // Writes to the main resource cannot change status.
    const main = await kubectl([
      'patch',
      'wasmfunction',
      'temp-alert',
      '-n',
      ns,
      '--type=merge',
      '-p',
      '{"status":{"phase":"Failed"}}',
    ]);
    assert.equal(main.code, 0, main.stderr);
    const phase = await kubectl(['get', 'wfn', 'temp-alert', '-n', ns, '-o', 'jsonpath={.status.phase}']);
    assert.equal(phase.stdout, 'Progressing');
    const wait = await kubectl([
      'wait',
      'wfn/temp-alert',
      '-n',
      ns,
      '--for=condition=Ready=False',
      '--timeout=10s',
    ]);
    assert.equal(wait.code, 0, wait.stderr);

    const nodeStatus = {
      status: {
        phase: 'Online',
        sensorSummary: 'temperature,vibration',
        functionCount: 2,
        agentVersion: '0.1.0',
        lastHeartbeat: new Date().toISOString(),
        arch: 'arm64',
      },
    };
    const nodePatched = await kubectl([
      'patch',
      'edgenode',
      'rpi-line1-01',
      '--subresource=status',
      '--type=merge',
      '-p',
      JSON.stringify(nodeStatus),
    ]);
    assert.equal(nodePatched.code, 0, nodePatched.stderr);
    const nodeRow = await kubectl(['get', 'en', 'rpi-line1-01', '--no-headers', '-o', 'wide']);
    assert.match(
      nodeRow.stdout,
      /^rpi-line1-01\s+Online\s+temperature,vibration\s+2\s+0\.1\.0\s+\d+s\s+\S+\s+arm64\s/,
    );
  });

  it('kubectl explain shows the schema descriptions', async () => {
    const explained = await kubectl(['explain', 'wasmfunctions.spec.module']);
    assert.equal(explained.code, 0, explained.stderr);
    assert.match(explained.stdout, /exactly one of url, oci or configMap/);
  });

  it('rejects each invalid manifest with a message that names the field', async () => {
    const fixtures = await invalidFixtures();
    assert.ok(fixtures.length >= 15, `only ${fixtures.length} invalid fixtures`);
    const results = await pool(fixtures, 3, async (f) => ({
      f,
      r: await kubectl(['apply', '-n', ns, '-f', f.manifestPath]),
    }));
    const failures: string[] = [];
    for (const { f, r } of results) {
      if (r.code === 0) failures.push(`${f.name}: accepted (${r.stdout.trim()})`);
      const missing = f.expected.filter((line) => !r.stderr.includes(line));
      if (missing.length > 0)
        failures.push(`${f.name}: stderr lacks ${JSON.stringify(missing)}\n  stderr: ${r.stderr.trim()}`);
      if (!r.stderr.includes(f.field)) failures.push(`${f.name}: stderr does not name ${f.field}`);
    }
    assert.deepEqual(failures, []);
    // Nothing invalid was stored.
    const stored = await kubectl(['get', 'wasmfunctions', '-n', ns, '-o', 'name']);
    for (const f of fixtures) assert.ok(!stored.stdout.includes(`/${f.name}\n`), `${f.name} was stored`);
  });

  it("unknown fields are an error with kubectl's default (strict) validation, and pruned when validation is off", async () => {
    const name = uniqueName('unknown-field');
    const manifest = (extra: string) => `apiVersion: wasmfleet.io/v1alpha1
kind: WasmFunction
metadata: { name: ${name} }
spec:
  module: { oci: registry.example/a/b:1 }
  inputs: [{ topic: a/b }]
${extra}`;
    const strict = await kubectl(['apply', '-n', ns, '-f', '-'], manifest('  colour: blue\n'));
    assert.notEqual(strict.code, 0);
    assert.match(strict.stderr, /strict decoding error: unknown field "spec.colour"/);
    const lax = await kubectl(
      ['apply', '-n', ns, '--validate=false', '-f', '-'],
      manifest('  colour: blue\n'),
    );
    assert.equal(lax.code, 0, lax.stderr);
    const spec = await kubectl(['get', 'wfn', name, '-n', ns, '-o', 'jsonpath={.spec}']);
    assert.doesNotMatch(spec.stdout, /colour/);
  });
});
