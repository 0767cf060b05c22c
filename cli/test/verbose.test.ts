// SPDX-License-Identifier: Apache-2.0
// `--verbose`: what a command does, as structured lines on stderr (docs/adr/0035) — the
// kubeconfig context it chose and each API request with its status and time, never its token —
// JSON lines when stderr is read by a program, readable lines with WASMFLEET_LOG_FORMAT=text;
// nothing of it without the flag, and stdout unchanged either way.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { ControlPlane } from '@wasmfleet/test-support';
import { cli, namespaceFor, sharedControlPlane } from './helpers.ts';

interface Entry {
  readonly level?: unknown;
  readonly component?: unknown;
  readonly msg?: unknown;
  readonly status?: unknown;
  readonly durationMs?: unknown;
  readonly context?: unknown;
  readonly server?: unknown;
}

/** The JSON lines of a stderr (the command's own messages are plain text). */
const entries = (stderr: string): Entry[] =>
  stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Entry);

describe('wasmfleet --verbose', () => {
  let plane: ControlPlane;
  let ns: string;
  before(async () => {
    plane = await sharedControlPlane();
    ns = await namespaceFor(plane, 'cli-verbose');
  });

  it('logs the context and each API request with its status and time, as JSON lines', async () => {
    const quiet = await cli(['get', 'functions', '-n', ns, '-o', 'json'], plane.kubeconfigPath);
    const r = await cli(['get', 'functions', '-n', ns, '-o', 'json', '--verbose'], plane.kubeconfigPath);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.equal(r.stdout, quiet.stdout, 'stdout is the same with --verbose');
    assert.deepEqual(entries(quiet.stderr), [], 'nothing is logged without --verbose');
    const logged = entries(r.stderr);
    const context = logged.find((e) => e.msg === 'kubeconfig');
    assert.ok(context, r.stderr);
    assert.equal(context.component, 'cli');
    assert.equal(context.server, plane.server);
    assert.equal(typeof context.context, 'string');
    const request = logged.find(
      (e) => typeof e.msg === 'string' && e.msg.includes(`/namespaces/${ns}/wasmfunctions`),
    );
    assert.ok(request, r.stderr);
    assert.equal(request.level, 'debug');
    assert.match(String(request.msg), /^GET https:\/\//);
    assert.equal(request.status, 200);
    assert.equal(typeof request.durationMs, 'number');
    assert.ok(!r.stderr.includes(plane.token), 'the bearer token is never logged');
  });

  it('writes readable lines with WASMFLEET_LOG_FORMAT=text', async () => {
    const r = await cli(['get', 'functions', '-n', ns, '--verbose'], plane.kubeconfigPath, {
      WASMFLEET_LOG_FORMAT: 'text',
    });
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(
        `^\\S+Z DEBUG cli: GET https://\\S+/namespaces/${ns}/wasmfunctions status=200 durationMs=\\d+$`,
        'm',
      ),
    );
    assert.deepEqual(entries(r.stderr), []);
  });
});
