// SPDX-License-Identifier: Apache-2.0
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import type { ControlPlane } from '@wasmfleet/test-support';
import { CLI_BIN, cli, namespaceFor, sharedControlPlane } from './helpers.ts';

const EXAMPLE = new URL('../../api/examples/temp-alert-url.yaml', import.meta.url).pathname;

describe('wasmfleet apply / get / describe against a real API server', () => {
  let plane: ControlPlane;
  let ns: string;
  before(async () => {
    plane = await sharedControlPlane();
    ns = await namespaceFor(plane, 'cli-get');
  });

  it('says so when a namespace has no functions', async () => {
    const r = await cli(['get', 'functions', '-n', ns], plane.kubeconfigPath);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`No wasmfunctions found in ${ns} namespace`));
  });

  it('get without a name leaves piped input alone (a `while read` loop keeps its lines)', async () => {
    // oclif reads a missing argument from a non-terminal stdin: `get functions` took the loop's
    // lines as the name ("wasmfunction "a\nb" not found") and the loop ran once.
    const loop = `printf 'a\nb\n' | while read -r line; do "$NODE" "$CLI" get functions -n "$NS" || exit 1; echo "read $line"; done`;
    const r = await new Promise<{ stdout: string; stderr: string; code: number }>((resolve) => {
      execFile(
        'sh',
        ['-c', loop],
        {
          env: {
            ...process.env,
            NODE: process.execPath,
            CLI: CLI_BIN,
            NS: ns,
            NO_COLOR: '1',
            KUBECONFIG: plane.kubeconfigPath,
            WASMFLEET_DEV_DIR: path.join(tmpdir(), 'wasmfleet-no-dev-stack-here'),
          },
        },
        (error, stdout, stderr) => resolve({ stdout, stderr, code: error ? 1 : 0 }),
      );
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'read a\nread b\n');
    assert.match(r.stderr, new RegExp(`No wasmfunctions found in ${ns} namespace`));
  });

  it('applies an example: created, then unchanged on the second run', async () => {
    const first = await cli(['apply', '-f', EXAMPLE, '-n', ns], plane.kubeconfigPath);
    assert.equal(first.exitCode, 0, first.stderr);
    assert.equal(first.stdout.trim(), 'wasmfunction.wasmfleet.io/temp-alert created');
    const second = await cli(['apply', '-f', EXAMPLE, '-n', ns], plane.kubeconfigPath);
    assert.equal(second.stdout.trim(), 'wasmfunction.wasmfleet.io/temp-alert unchanged');
    const seen = await plane.kubectl([
      'get',
      'wasmfunction',
      'temp-alert',
      '-n',
      ns,
      '-o',
      'jsonpath={.spec.placement.sensors[0]}',
    ]);
    assert.equal(seen.stdout, 'temperature');
  });

  it('applies CRDs as written (regression: the typed client dropped x-kubernetes-int-or-string)', async () => {
    const crds = new URL('../../crds/', import.meta.url).pathname;
    const r = await cli(['apply', '-f', crds], plane.kubeconfigPath);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(
      r.stdout,
      /customresourcedefinition\.apiextensions\.k8s\.io\/wasmfunctions\.wasmfleet\.io (unchanged|configured)/,
    );
    const schema = await plane.kubectl([
      'get',
      'crd',
      'wasmfunctions.wasmfleet.io',
      '-o',
      'jsonpath={.spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.rollout.properties.maxUnavailable}',
    ]);
    assert.match(schema.stdout, /"x-kubernetes-int-or-string":true/);
  });

  it('lists functions with the same columns as kubectl get', async () => {
    const ours = await cli(['get', 'fn', '-n', ns], plane.kubeconfigPath);
    assert.equal(ours.exitCode, 0, ours.stderr);
    const theirs = await plane.kubectl(['get', 'wasmfunctions', '-n', ns]);
    const header = (text: string) => text.split('\n')[0]?.trim().split(/\s+/);
    assert.deepEqual(header(ours.stdout), header(theirs.stdout));
    assert.match(ours.stdout, /^temp-alert\s/m);
  });

  it('prints -o json, -o yaml and -o name for scripts', async () => {
    const json = await cli(['get', 'function', 'temp-alert', '-n', ns, '-o', 'json'], plane.kubeconfigPath);
    const parsed = JSON.parse(json.stdout) as { kind: string; spec: { rollout: { strategy: string } } };
    assert.equal(parsed.kind, 'WasmFunction');
    assert.equal(parsed.spec.rollout.strategy, 'Canary');
    const yaml = await cli(['get', 'function', 'temp-alert', '-n', ns, '-o', 'yaml'], plane.kubeconfigPath);
    assert.match(yaml.stdout, /^kind: WasmFunction$/m);
    const name = await cli(['get', 'functions', '-n', ns, '-o', 'name'], plane.kubeconfigPath);
    assert.equal(name.stdout.trim(), 'wasmfunction.wasmfleet.io/temp-alert');
  });

  it('describes a function with its spec, conditions and events sections', async () => {
    const r = await cli(['describe', 'function', 'temp-alert', '-n', ns], plane.kubeconfigPath);
    assert.equal(r.exitCode, 0, r.stderr);
    for (const heading of ['Name:', 'Namespace:', 'Spec:', 'Conditions:', 'Events:'])
      assert.ok(r.stdout.includes(heading), heading);
    assert.match(r.stdout, /sha256: 3f2a9c4e/);
  });

  it('rejects an invalid manifest before sending anything, naming the field', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'cli-bad-'));
    const file = path.join(dir, 'bad.yaml');
    await writeFile(
      file,
      [
        'apiVersion: wasmfleet.io/v1alpha1',
        'kind: WasmFunction',
        'metadata: { name: good-one }',
        'spec: { module: { configMap: { name: m, key: k } }, inputs: [{ topic: "a/b" }] }',
        '---',
        'apiVersion: wasmfleet.io/v1alpha1',
        'kind: WasmFunction',
        'metadata: { name: no-digest }',
        'spec: { module: { url: "https://example.invalid/f.wasm" }, inputs: [{ topic: "a/b" }] }',
      ].join('\n'),
    );
    const r = await cli(['apply', '-f', file, '-n', ns], plane.kubeconfigPath);
    assert.equal(r.exitCode, 1);
    assert.match(r.stderr, /no-digest: spec\.module.*sha256 is required with module\.url/);
    assert.match(r.stderr, /nothing was applied/);
    const listed = await plane.kubectl(['get', 'wasmfunction', 'good-one', '-n', ns]);
    assert.notEqual(listed.code, 0, 'the valid object in the same file must not have been applied');
  });

  it('explains a file that does not exist and YAML that does not parse', async () => {
    const missing = await cli(['apply', '-f', '/no/such/file.yaml', '-n', ns], plane.kubeconfigPath);
    assert.match(missing.stderr, /cannot read \/no\/such\/file\.yaml/);
    const dir = await mkdtemp(path.join(tmpdir(), 'cli-yaml-'));
    await writeFile(path.join(dir, 'broken.yaml'), 'kind: WasmFunction\nmetadata: {name: x\n');
    const broken = await cli(['apply', '-f', dir, '-n', ns], plane.kubeconfigPath);
    assert.match(broken.stderr, /broken\.yaml:\d+:\d+: invalid YAML/);
  });

  it('reports an unknown function with a hint to list what exists', async () => {
    const r = await cli(['get', 'function', 'does-not-exist', '-n', ns], plane.kubeconfigPath);
    assert.equal(r.exitCode, 1);
    assert.match(r.stderr, /not found in namespace/);
    assert.match(r.stderr, /hint: .*wasmfleet get functions -A/);
  });

  it('reports an unknown resource type with the accepted names', async () => {
    const r = await cli(['get', 'pods'], plane.kubeconfigPath);
    assert.match(r.stderr, /unknown resource type "pods"/);
    assert.match(r.stderr, /functions\|function\|fn/);
  });
});
