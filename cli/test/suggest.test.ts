// SPDX-License-Identifier: Apache-2.0
// "Did you mean …?" for a mistyped command or flag (issue 14: `wasmfleet gte nodes` said
// "command gte:nodes not found"). Pure tests of the matching, then the real CLI.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { closest, commandSuggestions } from '../src/suggest.ts';
import { cli } from './helpers.ts';

const IDS = ['get', 'describe', 'apply', 'logs', 'rollout:status', 'rollout:undo', 'dev:up', 'dev:down'];

describe('suggestions for typos', () => {
  it('names the command meant, level by level, and the closest that exist', () => {
    assert.deepEqual(commandSuggestions(['gte', 'nodes'], IDS), { unknown: 'gte', suggestions: ['get'] });
    assert.deepEqual(commandSuggestions(['rollout', 'stauts', 'fn'], IDS), {
      unknown: 'rollout stauts',
      suggestions: ['rollout status'],
    });
    assert.deepEqual(commandSuggestions(['rolout'], IDS).suggestions, ['rollout']);
    assert.deepEqual(commandSuggestions(['frobnicate'], IDS).suggestions, []);
    assert.deepEqual(closest('--outptu', ['--output', '--namespace', '-o']), ['--output']);
  });

  it('the CLI answers a mistyped command and a mistyped flag like kubectl, with exit codes 1 and 2', async () => {
    const command = await cli(['gte', 'nodes']);
    assert.equal(command.exitCode, 1);
    assert.equal(
      command.stderr,
      `error: unknown command "gte" for "wasmfleet"\n\nDid you mean this?\n\tget\n\nRun 'wasmfleet --help' for the commands.\n`,
    );
    const flag = await cli(['get', 'nodes', '--outptu', 'json']);
    assert.equal(flag.exitCode, 2);
    assert.match(
      flag.stderr,
      /^error: unknown flag: --outptu\nhint: did you mean --output\? `wasmfleet get --help` lists its flags\n$/,
    );
  });

  it('offers the broker flags only on commands that use a broker, and one completion command', async () => {
    const apply = await cli(['apply', '--help']);
    assert.doesNotMatch(apply.stdout, /--broker/);
    // get nodes / describe node read each device's own status from the broker (ADR 0023).
    const get = await cli(['get', '--help']);
    assert.match(get.stdout, /--broker=<value>/);
    const logs = await cli(['logs', '--help']);
    assert.match(logs.stdout, /--broker=<value>/);
    const root = await cli(['--help']);
    assert.match(root.stdout, /^ {2}completion /m);
    assert.doesNotMatch(root.stdout, /autocomplete/);
  });
});
