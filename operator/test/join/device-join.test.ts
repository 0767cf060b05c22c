// SPDX-License-Identifier: Apache-2.0
// One-command join end to end, as a fleet operator and a device owner meet it: the real API
// server, the real operator with per-device identity, a real Mosquitto (TLS, dynamic security),
// the real CLI and the real agent — the Node agent and the native one (agent-native/), each
// running the printed command as it is printed. `wasmfleet nodes join` registers the device and
// prints one command; that command trades the token for the device's own credentials (files only
// the agent may read) and the agent comes Online with them. The same token a second time, an
// expired one and a forged one are each refused with a message that says what happened and what
// to do.
import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { ensureNativeAgent, spawnManaged, uniqueName, waitFor } from '@wasmfleet/test-support';
import { runProgram, startJoinStack, type JoinStack, type Run } from './join-stack.ts';

const AGENT_BIN = fileURLToPath(new URL('../../../agent/bin/wasmfleet-agent.js', import.meta.url));

/** How a device runs `wasmfleet-agent …`: the program and what goes before its arguments. */
interface DeviceAgent {
  readonly name: string;
  program(): Promise<{ readonly file: string; readonly prefix: readonly string[] }>;
}
const AGENTS: readonly DeviceAgent[] = [
  { name: 'the Node agent', program: () => Promise.resolve({ file: process.execPath, prefix: [AGENT_BIN] }) },
  {
    // Its package installs it as wasmfleet-agent too, so the printed command is run as printed.
    name: 'the native agent',
    program: async () => ({
      file: (await ensureNativeAgent({ progress: (l) => console.error(`[native agent] ${l}`) })).path,
      prefix: [],
    }),
  },
];

describe('wasmfleet nodes join', { timeout: 30 * 60_000 }, () => {
  let stack: JoinStack;
  const cleanups: (() => Promise<unknown>)[] = [];
  const nodesJoin = (node: string, ...extra: string[]): Promise<Run> => stack.nodesJoin(node, ...extra);

  before(async () => {
    stack = await startJoinStack('join');
    cleanups.push(() => stack.dispose());
  });
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  for (const agent of AGENTS)
    describe(`on a device running ${agent.name}`, () => {
      let program: Awaited<ReturnType<DeviceAgent['program']>>;
      const run = (args: readonly string[]): Promise<Run> =>
        runProgram(program.file, [...program.prefix, ...args]);
      /** Runs the printed command with the agent, writing into `dir` and starting nothing. */
      const deviceRuns = (command: string, dir: string): Promise<Run> => {
        const words = command.trim().split(/\s+/);
        assert.equal(words[0], 'wasmfleet-agent');
        return run([...words.slice(1), '--config-dir', dir, '--no-start']);
      };
      before(async () => {
        program = await agent.program();
      });

      it('registers the device, and the printed command gets it its own credentials and brings it Online', async () => {
        const node = uniqueName('pump');
        const printed = await nodesJoin(node);
        assert.equal(printed.code, 0, printed.stderr);
        assert.match(printed.stderr, new RegExp(`edgenode.wasmfleet.io/${node} created`));
        const command = printed.stdout.trim();
        assert.match(
          command,
          /^wasmfleet-agent join mqtts:\/\/\S+ --token wfjoin\.[a-f0-9]{16}\.\S{43} --ca \S+$/,
        );
        assert.equal((await stack.edgeNode(node)).metadata.labels?.site, 'plant-9');
        // The cluster keeps a hash of the token, never the token.
        const secrets = await stack.plane.kubectl([
          'get',
          'secrets',
          '-n',
          stack.namespace,
          '-l',
          'wasmfleet.io/join-token=true',
          '-o',
          'json',
        ]);
        const token = /--token (\S+)/.exec(command)?.[1] ?? '';
        assert.ok(!secrets.stdout.includes(Buffer.from(token.split('.')[2] ?? '').toString('base64')));

        const dir = path.join(stack.scratch, node);
        const joined = await deviceRuns(command, dir);
        assert.equal(joined.code, 0, joined.stderr);
        assert.match(joined.stdout, new RegExp(`joined the fleet as ${node}`));
        assert.equal((await stat(path.join(dir, 'mqtt-password'))).mode & 0o777, 0o600);
        assert.equal((await stat(path.join(dir, 'agent.env'))).mode & 0o777, 0o600);
        const env = Object.fromEntries(
          (await readFile(path.join(dir, 'agent.env'), 'utf8'))
            .split('\n')
            .filter((l) => /^[A-Z_]+=/.test(l))
            .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
        );
        assert.equal(env.WASMFLEET_NODE, node);
        assert.equal(env.WASMFLEET_MQTT_USERNAME, node);

        const device = spawnManaged(`agent ${node}`, program.file, {
          args: [...program.prefix, '--data-dir', path.join(dir, 'data'), '--heartbeat', '1'],
          env: { ...process.env, ...env },
          logFile: path.join(stack.scratch, `${node}.log`),
        });
        cleanups.push(() => device.stop());
        await waitFor(
          `${node} Online`,
          async () => ((await stack.edgeNode(node)).status?.phase === 'Online' ? true : undefined),
          { timeoutMs: 60_000, intervalMs: 250 },
        );

        const again = await deviceRuns(command, path.join(stack.scratch, `${node}-again`));
        assert.equal(again.code, 1);
        assert.match(
          again.stderr,
          /refused the token \(Used\): this token was already used \(at .*\) and works only once; run `wasmfleet nodes join .*` again/,
        );
      });

      it('refuses an expired token and says how to get a new one', async () => {
        const node = uniqueName('late');
        const printed = await nodesJoin(node, '--ttl', '1s');
        assert.equal(printed.code, 0, printed.stderr);
        await new Promise((resolve) => setTimeout(resolve, 1500));
        const late = await deviceRuns(printed.stdout, path.join(stack.scratch, node));
        assert.equal(late.code, 1);
        assert.match(
          late.stderr,
          new RegExp(
            `refused the token \\(Expired\\): this token expired at .*; run \`wasmfleet nodes join ${node}\` again for a new one`,
          ),
        );
      });

      it('refuses a token the cluster never issued', async () => {
        const printed = await nodesJoin(uniqueName('real'));
        const forged = printed.stdout.replace(
          /wfjoin\.([a-f0-9]{16})\.(\S{43})/,
          (_m, id: string) => `wfjoin.${id}.${'A'.repeat(43)}`,
        );
        const refused = await deviceRuns(forged, path.join(stack.scratch, 'forged'));
        assert.equal(refused.code, 1);
        assert.match(refused.stderr, /refused the token \(Forged\): this cluster did not issue this token/);
        const garbage = await run(['join', stack.broker.tlsUrl ?? '', '--token', 'not-a-token']);
        assert.equal(garbage.code, 2);
        assert.match(garbage.stderr, /--token is not a join token/);
      });
    });

  it('prints the same join as JSON with -o json, for scripts', async () => {
    const node = uniqueName('json');
    const printed = await nodesJoin(node, '-o', 'json');
    assert.equal(printed.code, 0, printed.stderr);
    const parsed = JSON.parse(printed.stdout) as Record<string, unknown>;
    assert.match(String(parsed.command), /^wasmfleet-agent join mqtts:\/\/\S+ --token wfjoin\./);
    assert.equal(parsed.node, node);
  });
});
