// SPDX-License-Identifier: Apache-2.0
// Shell completion through @oclif/plugin-autocomplete, colour rules (NO_COLOR, FORCE_COLOR),
// and help text that says how logs behave.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { uniqueName, type ControlPlane } from '@wasmfleet/test-support';
import { cli, sharedControlPlane } from './helpers.ts';

const ESC = '\x1b[';

function bashSyntaxCheck(script: string): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile('bash', ['-n'], (error, _stdout, stderr) =>
      resolve({ code: error ? 1 : 0, stderr }),
    );
    child.stdin?.end(script);
  });
}

describe('wasmfleet completion, colours and help', () => {
  let cache: string;
  before(async () => {
    cache = await mkdtemp(path.join(tmpdir(), 'cli-cache-'));
  });

  it('completion bash prints a valid script that knows the commands and their flags', async () => {
    const r = await cli(['completion', 'bash'], undefined, { XDG_CACHE_HOME: cache });
    assert.equal(r.exitCode, 0, r.stderr);
    for (const id of ['rollout:status', 'rollout:undo', 'logs', 'invoke', 'push', 'nodes:cordon'])
      assert.match(r.stdout, new RegExp(`^${id} `, 'm'), id);
    assert.match(r.stdout, /^rollout:undo .*--to-revision/m);
    assert.match(r.stdout, /complete .*-F _wasmfleet_autocomplete wasmfleet/);
    const syntax = await bashSyntaxCheck(r.stdout);
    assert.equal(syntax.code, 0, syntax.stderr);
  });

  it('completion zsh registers itself when sourced; an unknown shell lists the choices', async () => {
    const zsh = await cli(['completion', 'zsh'], undefined, { XDG_CACHE_HOME: cache });
    assert.equal(zsh.exitCode, 0, zsh.stderr);
    assert.match(zsh.stdout, /^#compdef wasmfleet/);
    assert.ok(zsh.stdout.trimEnd().endsWith('compdef _wasmfleet wasmfleet'));
    const fish = await cli(['completion', 'fish'], undefined, { XDG_CACHE_HOME: cache });
    assert.notEqual(fish.exitCode, 0);
    assert.match(fish.stderr, /bash, zsh, powershell/);
  });

  describe('colour', () => {
    let plane: ControlPlane;
    before(async () => {
      plane = await sharedControlPlane();
      const node = uniqueName('cli-colour');
      const created = await plane.kubectl(['apply', '-f', '-'], {
        stdin: `apiVersion: wasmfleet.io/v1alpha1\nkind: EdgeNode\nmetadata: { name: ${node} }\nspec: {}\n`,
      });
      assert.equal(created.code, 0, created.stderr);
    });

    it('FORCE_COLOR=1 colours output; NO_COLOR=1 wins over it', async () => {
      const forced = await cli(['get', 'nodes'], plane.kubeconfigPath, {
        NO_COLOR: undefined,
        FORCE_COLOR: '1',
      });
      assert.equal(forced.exitCode, 0, forced.stderr);
      assert.ok(forced.stdout.includes(ESC), 'FORCE_COLOR=1 gives ANSI codes');
      const plain = await cli(['get', 'nodes'], plane.kubeconfigPath, { NO_COLOR: '1', FORCE_COLOR: '1' });
      assert.ok(!plain.stdout.includes(ESC), 'NO_COLOR=1 gives none');
      assert.match(plain.stdout, /^NAME\s+STATUS/);
      const colouredError = await cli(['rollout', 'status', 'nope'], plane.kubeconfigPath, {
        NO_COLOR: undefined,
        FORCE_COLOR: '1',
      });
      assert.ok(colouredError.stderr.startsWith(ESC), colouredError.stderr);
      const plainError = await cli(['rollout', 'status', 'nope'], plane.kubeconfigPath, {
        NO_COLOR: '1',
        FORCE_COLOR: '1',
      });
      assert.ok(plainError.stderr.startsWith('error: '), plainError.stderr);
    });
  });

  it('logs --help says lines are not stored and that it listens for a window without -f', async () => {
    const r = await cli(['logs', '--help']);
    assert.equal(r.exitCode, 0, r.stderr);
    const text = r.stdout.replace(/\s+/g, ' ');
    assert.match(text, /only lines published while this command listens are shown/);
    assert.match(text, /Without -f it listens for --window \(2s\) and exits/);
  });
});
