// SPDX-License-Identifier: Apache-2.0
// The startup snapshot's call-path warm-up (cli/bin/snapshot-warm-call.ts, docs/adr/0058) runs
// oclif's Config.load, the flag parser and the kubeconfig reader while the snapshot is built. What
// it leaves behind is kept in every call's heap, so it must leave oclif's global state as it found
// it: a build made with DEBUG set must not turn on oclif's debug output for every later call.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { settings } from '@oclif/core/settings';
import { currentBundle } from '../bin/bundle.js';
import { warmUpCallPath } from '../bin/snapshot-warm-call.ts';
import { WARMING, loadRootPlugin } from '../bin/snapshot-warm-up.ts';
import Describe from '../src/commands/describe.ts';
import Get from '../src/commands/get.ts';

describe('the snapshot’s call-path warm-up', () => {
  it('parses each command and leaves oclif’s settings and the lazy-module guard as they were', async () => {
    const dir = currentBundle();
    assert.ok(dir, 'a current build');
    const plugin = await loadRootPlugin(dir, dir);
    const debug = process.env.DEBUG;
    // What the build's environment may hold: oclif reads it into its global settings.
    process.env.DEBUG = '*';
    const before = structuredClone({ ...settings });
    try {
      await warmUpCallPath(plugin, [
        { id: 'get', command: Get, argv: ['functions', '-o', 'wide'] },
        { id: 'describe', command: Describe, argv: ['function', 'temp-alert', '-n', 'default'] },
      ]);
    } finally {
      if (debug === undefined) delete process.env.DEBUG;
      else process.env.DEBUG = debug;
    }
    assert.deepEqual({ ...settings }, before);
    assert.equal(Reflect.get(globalThis, WARMING), undefined);
  });

  it('fails when a flag it parses is not one the command has, rather than warming nothing', async () => {
    const dir = currentBundle();
    assert.ok(dir, 'a current build');
    const plugin = await loadRootPlugin(dir, dir);
    await assert.rejects(
      warmUpCallPath(plugin, [{ id: 'get', command: Get, argv: ['nodes', '--no-such-flag'] }]),
      /Nonexistent flag/,
    );
    assert.equal(Reflect.get(globalThis, WARMING), undefined);
  });
});
