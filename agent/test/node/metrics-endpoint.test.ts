// SPDX-License-Identifier: Apache-2.0
// The agent binary's opt-in /metrics: memory of the process (RSS, V8 heap) and its functions by
// phase, so a fleet dashboard or a soak run sees a leak without attaching a debugger. Off unless
// --metrics-address is given.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import path from 'node:path';
import type { MqttClient } from 'mqtt';
import {
  logMessages,
  spawnManaged,
  startMosquitto,
  waitFor,
  type ManagedProcess,
  type Mosquitto,
} from '@wasmfleet/test-support';
import { readFile } from 'node:fs/promises';
import { ConfigError, parseConfig } from '../../src/cli/config.ts';
import { renderAgentMetrics } from '../../src/metrics/prometheus.ts';
import { connect, fnSpec, fnStatus, publishDesired, publishModule, waitForStatus } from '../helpers/fleet.ts';
import { tempDir } from '../helpers/tmp.ts';
import { fixture } from '../helpers/wasm.ts';

const AGENT_BIN = new URL('../../bin/wasmfleet-agent.js', import.meta.url).pathname;

const value = (text: string, series: string): number | undefined => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};

describe('agent metrics', () => {
  it('renders memory and functions by phase as Prometheus text', () => {
    const text = renderAgentMetrics(
      { rss: 50e6, heapUsed: 9e6, heapTotal: 12e6, external: 1e6, arrayBuffers: 2e5, heapLive: 7e6 },
      {
        version: 1,
        node: 'n',
        state: 'online',
        functions: ['Running', 'Running', 'CrashLoopBackOff'].map((phase, i) => ({
          namespace: 'ns',
          name: `f${i}`,
          revision: 'r',
          phase: phase as 'Running',
          since: new Date(0).toISOString(),
          restarts: 0,
          invocations: 0,
          errors: 0,
          malformed: 0,
        })),
      },
    );
    assert.equal(value(text, 'wasmfleet_agent_process_resident_memory_bytes'), 50e6);
    assert.equal(value(text, 'wasmfleet_agent_nodejs_heap_size_used_bytes'), 9e6);
    assert.equal(value(text, 'wasmfleet_agent_nodejs_heap_live_bytes'), 7e6);
    assert.equal(value(text, 'wasmfleet_agent_functions{phase="Running"}'), 2);
    assert.equal(value(text, 'wasmfleet_agent_functions{phase="CrashLoopBackOff"}'), 1);
    assert.equal(value(text, 'wasmfleet_agent_functions{phase="Pending"}'), 0);
    assert.match(text, /^# TYPE wasmfleet_agent_nodejs_heap_size_used_bytes gauge$/m);
  });

  it('leaves the live heap out until the first major GC has measured it', () => {
    const text = renderAgentMetrics(
      { rss: 1, heapUsed: 1, heapTotal: 1, external: 1, arrayBuffers: 1 },
      { version: 1, node: 'n', state: 'online' },
    );
    assert.doesNotMatch(text, /heap_live/);
  });

  it('--metrics-address takes HOST:PORT or a bare port (127.0.0.1) and explains anything else', () => {
    const base = ['--broker', 'mqtt://b', '--node', 'n'];
    const at = (a: string) => {
      const o = parseConfig([...base, '--metrics-address', a], {});
      assert.ok(o !== 'help');
      return o.metricsAddress;
    };
    assert.deepEqual(at('9464'), { host: '127.0.0.1', port: 9464 });
    assert.deepEqual(at('0.0.0.0:9464'), { host: '0.0.0.0', port: 9464 });
    assert.deepEqual(at('[::1]:0'), { host: '::1', port: 0 });
    const off = parseConfig(base, {});
    assert.ok(off !== 'help' && off.metricsAddress === undefined);
    assert.throws(
      () => at('localhost'),
      (e: unknown) => e instanceof ConfigError && /HOST:PORT/.test(e.message),
    );
    assert.throws(() => at('1:70000'), /HOST:PORT/);
  });

  describe('the agent process', () => {
    let broker: Mosquitto;
    let operator: MqttClient;
    let agent: ManagedProcess;
    let dir: Awaited<ReturnType<typeof tempDir>>;
    before(async () => {
      broker = await startMosquitto();
      operator = await connect(broker.url);
      dir = await tempDir();
    });
    after(async () => {
      await agent.stop();
      await operator.endAsync();
      await broker.dispose();
      await dir[Symbol.asyncDispose]();
    });

    it('serves /metrics when asked: the heap, the RSS and the running function', async () => {
      const log = path.join(dir.path, 'agent.log');
      agent = spawnManaged('agent', process.execPath, {
        args: [
          AGENT_BIN,
          '--broker',
          broker.url,
          '--node',
          'm-1',
          '--data-dir',
          path.join(dir.path, 'data'),
          '--heartbeat',
          '1',
          '--metrics-address',
          '127.0.0.1:0',
        ],
        logFile: log,
      });
      const url = await waitFor('the agent to serve metrics', async () => {
        const logged = logMessages(await readFile(log, 'utf8').catch(() => '')).join('\n');
        const m = /serving metrics on (\S+)/.exec(logged);
        return m?.[1];
      });
      const echo = await fixture('healthy/echo.wat');
      await publishModule(operator, echo);
      await publishDesired(operator, 'm-1', [fnSpec('f', echo)], 1);
      await waitForStatus(operator, 'm-1', (s) => fnStatus(s, 'f')?.phase === 'Running');
      const res = await fetch(url);
      assert.equal(res.status, 200);
      const text = await res.text();
      assert.ok((value(text, 'wasmfleet_agent_nodejs_heap_size_used_bytes') ?? 0) > 1e6);
      assert.ok((value(text, 'wasmfleet_agent_process_resident_memory_bytes') ?? 0) > 10e6);
      assert.equal(value(text, 'wasmfleet_agent_functions{phase="Running"}'), 1);
      // The echo function behaves: it runs on the agent's own thread (ADR 0018).
      assert.equal(value(text, 'wasmfleet_agent_function_threads{thread="agent"}'), 1);
      assert.equal(value(text, 'wasmfleet_agent_function_threads{thread="worker"}'), 0);
      assert.equal((await fetch(url.replace('/metrics', '/'))).status, 404);
    });
  });
});
