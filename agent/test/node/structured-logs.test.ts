// SPDX-License-Identifier: Apache-2.0
// The agent's log as a device's journal, a log collector and a person at a terminal meet it
// (docs/adr/0035): JSON lines when stderr is not a terminal (a service manager, a file), each with
// its time, level, component and the device's node id; text lines on a terminal (coloured unless
// NO_COLOR) or with --log-format text; never the password of the broker URL.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { it } from 'node:test';
import { freePort, spawnManaged, startMosquitto, uniqueName, waitFor } from '@wasmfleet/test-support';
import { tempDir } from '../helpers/tmp.ts';

const AGENT_BIN = fileURLToPath(new URL('../../bin/wasmfleet-agent.js', import.meta.url));
const SECRET = 'hunter2-in-the-url';

interface Entry {
  readonly time?: unknown;
  readonly level?: unknown;
  readonly component?: unknown;
  readonly msg?: unknown;
  readonly node?: unknown;
}

/** Runs the agent, its stderr to a file, until `done` says the log holds what the test needs. */
async function agentLog(args: readonly string[], done: (log: string) => boolean): Promise<string> {
  await using dir = await tempDir();
  const logFile = path.join(dir.path, 'agent.log');
  const agent = spawnManaged('agent', process.execPath, {
    args: [AGENT_BIN, '--data-dir', path.join(dir.path, 'data'), '--heartbeat', '1', ...args],
    logFile,
  });
  try {
    return await waitFor('the agent to log', async () => {
      const log = await readFile(logFile, 'utf8').catch(() => '');
      return done(log) ? log : undefined;
    });
  } finally {
    await agent.stop();
  }
}

it('logs JSON lines under a service manager: time, level, component and node on every line', async () => {
  await using broker = await startMosquitto();
  const node = uniqueName('json-log');
  const log = await agentLog(['--broker', broker.url, '--node', node], (l) => l.includes('"connected to '));
  const lines = log.split('\n').filter(Boolean);
  const entries = lines.map((line) => {
    try {
      return JSON.parse(line) as Entry;
    } catch (error) {
      throw new Error(`a line that is not JSON: ${line}`, { cause: error });
    }
  });
  for (const [i, e] of entries.entries()) {
    assert.ok(typeof e.time === 'string' && !Number.isNaN(Date.parse(e.time)), lines[i]);
    assert.ok(['debug', 'info', 'warn', 'error'].includes(String(e.level)), lines[i]);
    assert.match(String(e.component), /^agent/, lines[i]);
    assert.equal(e.node, node, lines[i]);
  }
  const connected = entries.find((e) => String(e.msg).startsWith('connected to '));
  assert.ok(connected, log);
  assert.equal(connected.level, 'info');
  assert.equal(connected.component, 'agent');
  assert.match(String(connected.msg), /^connected to mqtt:\/\/127\.0\.0\.1:\d+ \(MQTT 5\)$/);
});

it('--log-format text logs readable lines, and the broker password reaches no line in either format', async () => {
  const port = await freePort();
  const broker = `mqtt://dev:${SECRET}@127.0.0.1:${port}`;
  const text = await agentLog(
    ['--broker', broker, '--node', uniqueName('text-log'), '--log-format', 'text'],
    (l) => / WARN {2}agent: .*dev:\*\*\*@127\.0\.0\.1/.test(l),
  );
  const line = text.split('\n').find((l) => l.includes(' WARN  agent: ')) ?? '';
  assert.match(line, /^\d{4}-\d\d-\d\dT[\d:.]+Z WARN {2}agent: .* node=text-log-\S+$/);
  assert.doesNotMatch(text, new RegExp(SECRET), 'the password is never logged (text)');
  assert.ok(!text.split('\n').some((l) => l.startsWith('{')), 'no JSON line in text format');

  const json = await agentLog(['--broker', broker, '--node', uniqueName('json-secret')], (l) =>
    /"level":"warn".*dev:\*\*\*@127\.0\.0\.1/.test(l),
  );
  assert.doesNotMatch(json, new RegExp(SECRET), 'the password is never logged (JSON)');
});

it('logs readable, coloured lines on a terminal', async () => {
  const port = await freePort();
  const node = uniqueName('tty-log');
  await using dir = await tempDir();
  const command = [
    JSON.stringify(process.execPath),
    JSON.stringify(AGENT_BIN),
    `--broker mqtt://127.0.0.1:${port} --node ${node}`,
    `--data-dir ${JSON.stringify(path.join(dir.path, 'data'))}`,
  ].join(' ');
  const env = { ...process.env };
  delete env.NO_COLOR;
  // script(1) gives the agent a pseudo-terminal, as a person's shell would.
  const terminal = spawn('script', ['-q', '-e', '-c', command, '/dev/null'], {
    env,
    detached: true,
    stdio: ['pipe', 'pipe', 'ignore'],
  });
  let screen = '';
  terminal.stdout.on('data', (chunk: Buffer) => (screen += chunk.toString('utf8')));
  try {
    const line = await waitFor('a warning on the terminal', () =>
      screen.split(/\r?\n/).find((l) => l.includes('agent: ') && l.includes(node)),
    );
    const esc = String.fromCharCode(27); // the level in colour: ESC[<n>m … ESC[0m
    assert.match(
      line,
      new RegExp(`^\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z ${esc}\\[\\d+m(INFO |WARN |ERROR)${esc}\\[0m agent: `),
    );
    assert.ok(!screen.includes('{"time"'), 'no JSON on a terminal');
  } finally {
    if (terminal.pid !== undefined) process.kill(-terminal.pid, 'SIGTERM');
    await new Promise((resolve) => terminal.once('exit', resolve));
  }
});
