// SPDX-License-Identifier: Apache-2.0
// Pure cores: payload checks, the lifecycle state machine, the reconcile plan, ordered acks,
// reconnect backoff, agent settings and the wire contract helpers.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decodeModuleEnvelope,
  desiredTopic,
  encodeModuleEnvelope,
  expandNode,
  moduleTopic,
  parseDesiredState,
  topicMatches,
} from '@wasmfleet/api';
import { ConfigError, parseConfig } from '../../src/cli/config.ts';
import { checkPayload } from '../../src/io/payload-check.ts';
import { backoffMs, initialState, transition } from '../../src/lifecycle/function-lifecycle.ts';
import { OrderedAcks } from '../../src/mqtt/ordered-acks.ts';
import {
  brokerAddress,
  brokerForLogs,
  clientOptions,
  reconnectDelayMs,
} from '../../src/mqtt/session-options.ts';
import { plan } from '../../src/reconcile/plan.ts';
import { fnSpec } from '../helpers/fleet.ts';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('payload checks', () => {
  it('accepts valid JSON and SenML and refuses the rest with a reason', () => {
    assert.deepEqual(checkPayload(enc('{"a":1}'), 'json'), { ok: true });
    assert.deepEqual(checkPayload(enc('[{"bn":"d/","n":"t","v":1.5}]'), 'senml'), { ok: true });
    assert.match(JSON.stringify(checkPayload(enc('{"a":'), 'json')), /not valid JSON/);
    assert.match(JSON.stringify(checkPayload(Uint8Array.from([0xff]), 'json')), /UTF-8/);
    assert.match(JSON.stringify(checkPayload(enc('[{"v":1}]'), 'senml')), /no name/);
    assert.match(
      JSON.stringify(checkPayload(enc('[{"n":"a","v":1,"vs":"x"}]'), 'senml')),
      /more than one value/,
    );
    assert.match(JSON.stringify(checkPayload(new Uint8Array(11), 'raw', 10)), /exceeds the 10-byte limit/);
    assert.deepEqual(checkPayload(Uint8Array.from([0xff]), 'raw'), { ok: true });
  });
});

describe('function lifecycle', () => {
  it('walks Pending → Fetching → Starting → Running and backs off exponentially on crashes', () => {
    let s = initialState(0);
    s = transition(s, { type: 'fetch' }, 1);
    s = transition(s, { type: 'fetched' }, 2);
    s = transition(s, { type: 'started' }, 3);
    assert.equal(s.phase, 'Running');
    s = transition(s, { type: 'crashed', reason: 'Timeout', message: 'm' }, 10);
    assert.deepEqual([s.phase, s.reason, s.nextRetryAt], ['CrashLoopBackOff', 'Timeout', 10 + 1000]);
    s = transition(s, { type: 'retry' }, 1010);
    assert.deepEqual([s.phase, s.restarts], ['Pending', 1]);
    assert.deepEqual([1, 2, 3, 4, 20].map(backoffMs), [1000, 2000, 4000, 8000, 300_000]);
    assert.throws(
      () => transition(initialState(0), { type: 'started' }, 0),
      /invalid lifecycle transition: started in phase Pending/,
    );
  });
});

describe('reconcile plan', () => {
  it('starts new functions, replaces changed revisions, stops removed ones, and is idle when converged', () => {
    const w = new Uint8Array(8);
    const a = fnSpec('a', w);
    const b = fnSpec('b', w, { revision: 'b-2' });
    const p = plan(
      [a, b],
      [
        { key: 'plant-1/b', revision: 'b-1' },
        { key: 'plant-1/c', revision: 'c-1' },
      ],
    );
    assert.deepEqual(
      [p.start.map((f) => f.name), p.replace.map((f) => f.revision), p.stop],
      [['a'], ['b-2'], ['plant-1/c']],
    );
    assert.deepEqual(plan([a], [{ key: 'plant-1/a', revision: 'a-1' }]), {
      start: [],
      replace: [],
      stop: [],
    });
  });
});

describe('ordered acknowledgements', () => {
  it('sends PUBACKs in arrival order even when later messages finish first, and drops them after a disconnect', () => {
    const sent: number[] = [];
    const acks = new OrderedAcks((id) => sent.push(id));
    const [t1, t2, t3] = [acks.open(1), acks.open(2), acks.open(3)];
    acks.release(t3);
    acks.release(t2);
    assert.deepEqual(sent, []);
    acks.release(t1);
    assert.deepEqual(sent, [1, 2, 3]);
    const t4 = acks.open(4);
    acks.reset();
    acks.release(t4);
    assert.deepEqual(sent, [1, 2, 3]);
  });

  it('holds an input until every output is acknowledged, across ring growth (no PUBACK before its outputs)', () => {
    const sent: number[] = [];
    const acks = new OrderedAcks((id) => sent.push(id));
    const seqs = Array.from({ length: 5000 }, (_, i) => acks.open((i % 65535) + 1));
    for (const seq of seqs) acks.hold(seq); // one QoS 1 output each, still unacknowledged
    for (const seq of seqs) acks.release(seq); // dispatch done
    assert.equal(sent.length, 0);
    for (const seq of seqs.slice(1)) acks.release(seq);
    assert.equal(sent.length, 0, 'the oldest input still waits for its output');
    acks.release(seqs[0]!);
    assert.equal(sent.length, 5000);
    assert.equal(acks.pending, 0);
  });
});

describe('session settings', () => {
  it('uses a persistent MQTT 5 session with a retained offline will', () => {
    const o = clientOptions({ brokerUrl: 'mqtt://x', nodeId: 'pump-7' });
    assert.equal(o.clean, false);
    assert.equal(o.protocolVersion, 5);
    assert.ok((o.properties?.sessionExpiryInterval ?? 0) > 0);
    assert.equal(o.will?.topic, 'wasmfleet/v1/nodes/pump-7/status');
    assert.equal(o.will.retain, true);
    assert.equal((JSON.parse(String(o.will.payload)) as { state: string }).state, 'offline');
  });

  it('hands mqtt.js the broker as options, so it never calls the deprecated url.parse()', () => {
    assert.deepEqual(brokerAddress('mqtt://b'), { protocol: 'mqtt', host: 'b', hostname: 'b' });
    assert.deepEqual(brokerAddress('mqtts://dev%40site:p%3Ass@[::1]:8883'), {
      protocol: 'mqtts',
      host: '::1',
      hostname: '::1',
      port: 8883,
      username: 'dev@site',
      password: 'p:ss',
    });
    assert.deepEqual(brokerAddress('ws://10.0.0.2:9001/mqtt?tenant=a'), {
      protocol: 'ws',
      host: '10.0.0.2',
      hostname: '10.0.0.2',
      port: 9001,
      path: '/mqtt?tenant=a',
    });
    assert.throws(() => brokerAddress('mqtt://'), /names no host/);
    assert.throws(() => brokerAddress('http://b'), /use an mqtt:\/\//);
    // Explicit credentials win over the URL's.
    const o = clientOptions({ brokerUrl: 'mqtt://u:p@b:1884', nodeId: 'n', username: 'other' });
    assert.deepEqual([o.hostname, o.port, o.username, o.password], ['b', 1884, 'other', 'p']);
    // A password in the URL never reaches a log line.
    assert.equal(brokerForLogs('mqtts://dev:s3cret@b:8883'), 'mqtts://dev:***@b:8883');
    assert.equal(brokerForLogs('mqtt://b:1883'), 'mqtt://b:1883');
    assert.equal(brokerForLogs('mqtt://dev:s3cret@bad host'), 'mqtt://dev:***@bad host');
    assert.throws(
      () => brokerAddress('http://dev:s3cret@b'),
      (e: Error) => !e.message.includes('s3cret'),
    );
  });

  it('backs off reconnects with jitter, capped at about 30 s', () => {
    assert.equal(
      reconnectDelayMs(0, () => 0),
      250,
    );
    assert.ok(reconnectDelayMs(3, () => 1) > reconnectDelayMs(1, () => 1));
    assert.ok(reconnectDelayMs(50, () => 1) <= 30_250);
  });

  it('reads flags over env over config file and explains bad values', () => {
    const o = parseConfig(['--node', 'pump-7', '--heartbeat', '5'], {
      WASMFLEET_BROKER: 'mqtts://b:8883',
      WASMFLEET_NODE: 'other',
    });
    assert.ok(o !== 'help');
    assert.deepEqual([o.nodeId, o.brokerUrl, o.heartbeatSeconds], ['pump-7', 'mqtts://b:8883', 5]);
    assert.equal(parseConfig(['--help'], {}), 'help');
    assert.throws(
      () => parseConfig(['--node', 'x'], {}),
      (e: unknown) => e instanceof ConfigError && /--broker/.test(e.message),
    );
    assert.throws(() => parseConfig(['--broker', 'http://b', '--node', 'x'], {}), /mqtt:\/\//);
    assert.throws(() => parseConfig(['--broker', 'mqtt://', '--node', 'x'], {}), /--broker: .*names no host/);
    assert.throws(
      () => parseConfig(['--broker', 'mqtt://b', '--node', 'x', '--heartbeat', '0'], {}),
      /--heartbeat 0/,
    );
    assert.throws(() => parseConfig(['--bogus'], {}), /see --help/);
    assert.throws(
      () => parseConfig(['--broker', 'mqtt://b', '--node', 'x', '--isolation', 'thread'], {}),
      /--isolation thread: expected auto or worker/,
    );
    const isolated = parseConfig(['--broker', 'mqtt://b', '--node', 'x'], { WASMFLEET_ISOLATION: 'worker' });
    assert.ok(isolated !== 'help');
    assert.equal(isolated.isolation, 'worker');
  });
});

describe('wire contract helpers', () => {
  it('builds topics, expands {node} and matches wildcards', () => {
    assert.equal(desiredTopic('pump-7'), 'wasmfleet/v1/nodes/pump-7/desired');
    assert.throws(() => desiredTopic('a/b'), /invalid node id/);
    assert.throws(() => moduleTopic('xyz'), /invalid sha256/);
    assert.equal(expandNode('sensors/{node}/t', 'pump-7'), 'sensors/pump-7/t');
    assert.ok(topicMatches('sensors/+/t', 'sensors/a/t'));
    assert.ok(topicMatches('sensors/#', 'sensors/a/b/c'));
    assert.ok(!topicMatches('sensors/+', 'sensors/a/b'));
    assert.ok(!topicMatches('#', '$SYS/x'));
  });

  it('round-trips a module envelope and refuses a damaged one', () => {
    const bytes = Uint8Array.from([0, 97, 115, 109, 1, 0, 0, 0]);
    const env = encodeModuleEnvelope(
      { sha256: 'a'.repeat(64), size: 8, mediaType: 'application/wasm' },
      bytes,
    );
    const decoded = decodeModuleEnvelope(env);
    assert.ok(decoded.ok);
    assert.deepEqual(decoded.bytes, bytes);
    assert.match(
      JSON.stringify(decodeModuleEnvelope(env.subarray(0, env.length - 1))),
      /says 8 bytes but carries 7/,
    );
    assert.match(JSON.stringify(decodeModuleEnvelope(bytes)), /WFM1/);
  });

  it('names the offending field of an invalid desired state', () => {
    const r = parseDesiredState('{"version":1,"node":"n","generation":-1,"functions":[]}');
    assert.ok(!r.ok);
    assert.match(r.errors.join(';'), /generation/);
    assert.ok(
      parseDesiredState(
        JSON.stringify({ version: 1, node: 'n', generation: 1, functions: [fnSpec('a', new Uint8Array(8))] }),
      ).ok,
    );
  });
});
