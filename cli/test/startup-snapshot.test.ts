// SPDX-License-Identifier: Apache-2.0
// The CLI's startup snapshot (docs/adr/0040): the commands that read start from it, and print
// exactly what the bundle prints — colours, help wrapped to the caller's terminal width, typo
// suggestions — because the modules that look at the terminal load at run time, not while the
// snapshot is built. A command it does not hold is handed to the launcher.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { generateTestCertificates, uniqueName, type ControlPlane } from '@wasmfleet/test-support';
import { SNAPSHOT_SCRIPT, currentBundle } from '../bin/bundle.js';
import { cli, sharedControlPlane, type CliResult } from './helpers.ts';

const FROM_SNAPSHOT = /started from the startup snapshot/;
const DEBUG = { WASMFLEET_CLI_DEBUG: '1' };
const WITHOUT_SNAPSHOT = { WASMFLEET_CLI_SNAPSHOT: 'off' };

/** The same call from the snapshot and from the bundle alone. */
async function bothWays(
  args: readonly string[],
  kubeconfig?: string,
  env: NodeJS.ProcessEnv = {},
): Promise<{ snapshot: CliResult; bundle: CliResult }> {
  const [snapshot, bundle] = await Promise.all([
    cli(args, kubeconfig, { ...env, ...DEBUG }),
    cli(args, kubeconfig, { ...env, ...DEBUG, ...WITHOUT_SNAPSHOT }),
  ]);
  return { snapshot, bundle };
}

function assertSameOutput({ snapshot, bundle }: { snapshot: CliResult; bundle: CliResult }): void {
  assert.match(snapshot.stderr, FROM_SNAPSHOT);
  assert.doesNotMatch(bundle.stderr, FROM_SNAPSHOT);
  assert.equal(snapshot.exitCode, bundle.exitCode, snapshot.stderr);
  // The two calls run side by side and may straddle a second: an age ("(14s ago)") may differ by one.
  const ageless = (text: string) => text.replace(/\(\S+ ago\)/g, '(… ago)');
  assert.equal(ageless(snapshot.stdout), ageless(bundle.stdout));
  assert.equal(snapshot.stderr.replace(/^wasmfleet: started from .*\n/m, ''), bundle.stderr);
}

describe('the startup snapshot', () => {
  let plane: ControlPlane;
  let node: string;
  before(async () => {
    plane = await sharedControlPlane();
    node = uniqueName('snapshot-node');
    const created = await plane.kubectl(['apply', '-f', '-'], {
      stdin: `apiVersion: wasmfleet.io/v1alpha1\nkind: EdgeNode\nmetadata: { name: ${node}, labels: { site: plant-9 } }\nspec: {}\n`,
    });
    assert.equal(created.code, 0, created.stderr);
  });

  it('get, describe and rollout status start from it and print what the bundle prints', async () => {
    for (const args of [
      ['get', 'nodes', node, '-o', 'yaml'],
      ['get', 'nodes', '-l', 'site=plant-9', '-o', 'json'],
      ['describe', 'node', node],
      ['rollout', 'status', 'no-such-function'],
    ]) {
      assertSameOutput(await bothWays(args, plane.kubeconfigPath));
    }
  });

  // The snapshot trusts the kubeconfig's CA as the process's default list rather than as the
  // request's `ca` option (kube/ca-trust.ts, docs/adr/0046): it must trust exactly that CA — the
  // cluster's own is accepted, and a server signed by another CA is refused as the bundle refuses it.
  describe('trusts the kubeconfig’s CA and nothing else', () => {
    let dir: string;
    before(async () => (dir = await mkdtemp(path.join(tmpdir(), 'wasmfleet-snapshot-ca-'))));
    after(() => rm(dir, { recursive: true, force: true }));

    it('refuses the API server when the kubeconfig names another CA', async () => {
      const other = await generateTestCertificates();
      try {
        const otherCa = (await readFile(other.caFile)).toString('base64');
        const kubeconfig = path.join(dir, 'other-ca.kubeconfig');
        const original = await readFile(plane.kubeconfigPath, 'utf8');
        const swapped = original.replace(
          /certificate-authority-data: \S+/,
          `certificate-authority-data: ${otherCa}`,
        );
        assert.notEqual(swapped, original, 'the test kubeconfig names its CA inline');
        await writeFile(kubeconfig, swapped);
        const both = await bothWays(['get', 'nodes', node], kubeconfig);
        assertSameOutput(both);
        assert.notEqual(both.snapshot.exitCode, 0);
        assert.match(both.snapshot.stderr, /certificate/i);
      } finally {
        await other.dispose();
      }
    });

    it('accepts it with a CA bundle that also holds an unrelated certificate', async () => {
      const other = await generateTestCertificates();
      try {
        const original = await readFile(plane.kubeconfigPath, 'utf8');
        const ca = Buffer.from(/certificate-authority-data: (\S+)/.exec(original)?.[1] ?? '', 'base64');
        const bundle = Buffer.concat([await readFile(other.caFile), ca]).toString('base64');
        const kubeconfig = path.join(dir, 'bundle.kubeconfig');
        await writeFile(
          kubeconfig,
          original.replace(/certificate-authority-data: \S+/, `certificate-authority-data: ${bundle}`),
        );
        const both = await bothWays(['get', 'nodes', node, '-o', 'name'], kubeconfig);
        assertSameOutput(both);
        assert.equal(both.snapshot.exitCode, 0, both.snapshot.stderr);
        assert.match(both.snapshot.stdout, new RegExp(node));
      } finally {
        await other.dispose();
      }
    });
  });

  it('help is wrapped to the caller’s terminal width and coloured by the caller’s settings', async () => {
    const byWidth = new Map<string, string>();
    for (const env of [
      { OCLIF_COLUMNS: '50' },
      { OCLIF_COLUMNS: '140' },
      { FORCE_COLOR: '1', NO_COLOR: undefined },
    ]) {
      // Root and topic help (the topics oclif finds, docs/adr/0053), each command's, and `help`.
      for (const args of [
        ['--help'],
        ['get', '--help'],
        ['rollout', '--help'],
        ['rollout', 'status', '--help'],
        ['describe', '--help'],
        ['help', 'get'],
      ]) {
        const both = await bothWays(args, undefined, env);
        assertSameOutput(both);
        if (env.OCLIF_COLUMNS) byWidth.set(`${args.join(' ')} ${env.OCLIF_COLUMNS}`, both.snapshot.stdout);
      }
    }
    // The width is read when a call runs, not when the snapshot was built.
    assert.notEqual(byWidth.get('get --help 50'), byWidth.get('get --help 140'));
  });

  // The snapshot reads theme.json its own way (synchronously, cli/scripts/snapshot.ts; docs/adr/0053).
  it('colours help by the user’s theme.json, as the bundle does', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'wasmfleet-theme-'));
    try {
      const colour = { FORCE_COLOR: '1', NO_COLOR: undefined, WASMFLEET_CONFIG_DIR: dir };
      const plain = await bothWays(['get', '--help'], undefined, colour);
      await writeFile(
        path.join(dir, 'theme.json'),
        JSON.stringify({ sectionHeader: 'red', commandSummary: '#00ff00', flag: 'magenta' }),
      );
      const themed = await bothWays(['get', '--help'], undefined, colour);
      assertSameOutput(plain);
      assertSameOutput(themed);
      assert.notEqual(themed.snapshot.stdout, plain.snapshot.stdout, 'the theme changes the colours');
      // Red, the theme's section headers, appears only with the theme.
      const RED = '\u001b[31m';
      assert.ok(themed.snapshot.stdout.includes(RED), themed.snapshot.stdout);
      assert.ok(!plain.snapshot.stdout.includes(RED), plain.snapshot.stdout);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  // TypeBox (the api's schemas) stays out of the snapshot: its every megabyte costs each call
  // ~5 ms to read (docs/adr/0053); a new import of a module that builds a schema as it loads
  // would bring it back unnoticed. The script is minified (no module comments left), so TypeBox
  // is known by the key every schema it builds carries; its own sources prove it still does.
  it('holds no TypeBox schema code', async () => {
    const KIND_KEY = /[`'"]~kind[`'"]/;
    const typebox = path.join(
      path.dirname(fileURLToPath(import.meta.resolve('typebox'))),
      'type/types/object.mjs',
    );
    assert.match(await readFile(typebox, 'utf8'), KIND_KEY, 'TypeBox schemas still carry ~kind');
    const dir = currentBundle();
    assert.ok(dir, 'a current build');
    const script = await readFile(path.join(dir, SNAPSHOT_SCRIPT), 'utf8');
    assert.doesNotMatch(script, KIND_KEY);
  });

  // The snapshot's warm-up ran oclif's Config.load with a silent logger (docs/adr/0058): a call
  // with DEBUG set still gets oclif's own debug lines, as the bundle prints them.
  it('prints oclif’s debug lines when DEBUG asks for them, as the bundle does', async () => {
    const both = await bothWays(['get', 'nodes', '-o', 'name'], plane.kubeconfigPath, { DEBUG: 'oclif:*' });
    for (const result of [both.snapshot, both.bundle]) {
      assert.equal(result.exitCode, 0, result.stderr);
      assert.match(result.stderr, /oclif:config config done/);
      assert.match(result.stderr, /oclif:config start init hook/);
    }
    assert.match(both.snapshot.stderr, FROM_SNAPSHOT);
    assert.equal(both.snapshot.stdout, both.bundle.stdout);
  });

  it('suggests the command for a typo after a topic it holds', async () => {
    const both = await bothWays(['rollout', 'stauts', 'temp-alert']);
    assertSameOutput(both);
    assert.equal(both.snapshot.exitCode, 1);
    assert.match(both.snapshot.stderr, /Did you mean this\?\n\trollout status\n/);
  });

  it('hands a command it does not hold to the launcher, which runs it from the bundle', async () => {
    const both = await bothWays(['rollout', 'pause']);
    assertSameOutput(both);
    assert.equal(both.snapshot.exitCode, 2);
    assert.match(both.snapshot.stderr, /Missing 1 required arg/);
  });
});
