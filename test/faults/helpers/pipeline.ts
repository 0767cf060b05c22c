// SPDX-License-Identifier: Apache-2.0
// The real pipeline the fault tests drive: sensor → Mosquitto → agent process running a real wasm
// function → Mosquitto → sink. A sensor publishes numbered QoS 1 readings; the sink counts how
// often each number comes back, so every gap (lost) and repeat (duplicated) is visible.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt, { type MqttClient } from 'mqtt';
import { spawnManaged, waitFor, type ManagedProcess, type SpawnOptions } from '@wasmfleet/test-support';
import {
  fnSpec,
  fnStatus,
  publishDesired,
  publishModule,
  waitForStatus,
} from '../../../agent/test/helpers/fleet.ts';
import { fixture, watToWasm } from '../../../agent/test/helpers/wasm.ts';

export const AGENT_BIN = fileURLToPath(new URL('../../../agent/bin/wasmfleet-agent.js', import.meta.url));

/** Opt-in long versions (npm run faults:long). */
export const LONG = process.env.WASMFLEET_LONG === '1';

export function report(line: string): void {
  // Figures for docs/reliability.md: on stderr so they show beside the test runner's output.
  process.stderr.write(`[faults] ${line}\n`);
}

/** A persistent-session MQTT 5 client that reconnects quickly (sensors and sinks outlive brokers). */
export async function persistentClient(url: string, clientId: string): Promise<MqttClient> {
  return mqtt.connectAsync(url, {
    protocolVersion: 5,
    clientId,
    clean: false,
    properties: { sessionExpiryInterval: 3600 },
    reconnectPeriod: 250,
    connectTimeout: 5_000,
  });
}

export interface AgentProcess {
  readonly process: ManagedProcess;
  readonly logFile: string;
  log(): Promise<string>;
}

/** Starts the real agent binary (through `spawn`, e.g. inside a network namespace). */
export function startAgentProcess(options: {
  readonly brokerUrl: string;
  readonly node: string;
  readonly dataDir: string;
  readonly extraArgs?: readonly string[];
  readonly spawn?: (name: string, command: string, options: SpawnOptions) => ManagedProcess;
}): AgentProcess {
  const logFile = path.join(options.dataDir, '..', `${options.node}.agent.log`);
  const spawn = options.spawn ?? spawnManaged;
  const child = spawn(`agent ${options.node}`, process.execPath, {
    args: [
      AGENT_BIN,
      '--broker',
      options.brokerUrl,
      '--node',
      options.node,
      '--data-dir',
      options.dataDir,
      '--heartbeat',
      '1',
      ...(options.extraArgs ?? []),
    ],
    logFile,
  });
  return { process: child, logFile, log: () => readFile(logFile, 'utf8').catch(() => '') };
}

export async function scratchDir(
  prefix: string,
): Promise<{ path: string; [Symbol.asyncDispose](): Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), `wasmfleet-faults-${prefix}-`));
  return { path: dir, [Symbol.asyncDispose]: () => rm(dir, { recursive: true, force: true }) };
}

/**
 * Publishes `module` (default: the echo module, every input out unchanged) and a desired state
 * running it as function `echo` on `node`: input `sensors/<node>/echo`, output `out/<node>/echo`.
 */
export async function deployEcho(
  control: MqttClient,
  node: string,
  generation = 1,
  overrides: Parameters<typeof fnSpec>[2] = {},
  module?: Uint8Array,
): Promise<void> {
  const bytes = module ?? (await fixture('healthy/echo.wat'));
  await publishModule(control, bytes);
  await publishDesired(control, node, [fnSpec('echo', bytes, overrides)], generation);
}

/** The echo that spins a few milliseconds a call (test/faults/fixtures/slow-echo.wat). */
export async function slowEcho(): Promise<Uint8Array> {
  return watToWasm(
    await readFile(new URL('../fixtures/slow-echo.wat', import.meta.url), 'utf8'),
    'slow-echo.wat',
  );
}

export async function waitForRunning(control: MqttClient, node: string, timeoutMs = 30_000): Promise<void> {
  await waitForStatus(
    control,
    node,
    (s) => s.state === 'online' && fnStatus(s, 'echo')?.phase === 'Running',
    timeoutMs,
  );
}

export interface Tally {
  readonly sent: number;
  readonly lost: number;
  readonly duplicated: number;
}

/**
 * Numbered readings in, echoes counted out. Numbers are global across segments, so each fault
 * gets its own range and its own tally.
 */
export class NumberedStream {
  readonly #sensor: MqttClient;
  readonly #sink: MqttClient;
  readonly #input: string;
  readonly #counts: Uint16Array;
  #received = 0;

  private constructor(sensor: MqttClient, sink: MqttClient, input: string, capacity: number) {
    this.#sensor = sensor;
    this.#sink = sink;
    this.#input = input;
    this.#counts = new Uint16Array(capacity);
    sink.on('message', (_topic, payload) => {
      if (payload.length < 4) return;
      const n = payload.readUInt32BE(0);
      if (n < capacity) this.#counts[n] = Math.min(65_535, (this.#counts[n] ?? 0) + 1);
      this.#received++;
    });
  }

  static async open(options: {
    readonly sensorUrl: string;
    readonly sinkUrl: string;
    readonly input: string;
    readonly output: string;
    readonly capacity: number;
    readonly tag: string;
  }): Promise<NumberedStream> {
    const sensor = await persistentClient(options.sensorUrl, `sensor-${options.tag}`);
    const sink = await persistentClient(options.sinkUrl, `sink-${options.tag}`);
    await sink.subscribeAsync(options.output, { qos: 1 });
    return new NumberedStream(sensor, sink, options.input, options.capacity);
  }

  /** Outputs received so far (duplicates included). */
  get received(): number {
    return this.#received;
  }

  /**
   * Publishes [from, to) at about `perSecond` with at most `window` unacknowledged by the broker
   * (mqtt.js holds the rest while the broker is away). `onSent(i)` runs after each publish call.
   */
  async send(
    from: number,
    to: number,
    {
      perSecond,
      window = 100,
      onSent,
    }: { perSecond: number; window?: number; onSent?: (i: number) => Promise<void> | void },
  ): Promise<void> {
    let unacked = 0;
    const t0 = performance.now();
    for (let i = from; i < to; i++) {
      while (unacked >= window) await new Promise((r) => setTimeout(r, 2));
      unacked++;
      const payload = Buffer.alloc(16);
      payload.writeUInt32BE(i, 0);
      this.#sensor.publish(this.#input, payload, { qos: 1 }, () => unacked--);
      await onSent?.(i);
      const ahead = t0 + ((i - from + 1) * 1000) / perSecond - performance.now();
      if (ahead > 1) await new Promise((r) => setTimeout(r, ahead));
    }
    await waitFor('the broker to acknowledge every reading', () => (unacked === 0 ? true : undefined), {
      timeoutMs: 120_000,
      intervalMs: 20,
    });
  }

  tally(from: number, to: number): Tally {
    let lost = 0;
    let duplicated = 0;
    for (let i = from; i < to; i++) {
      const c = this.#counts[i] ?? 0;
      if (c === 0) lost++;
      else duplicated += c - 1;
    }
    return { sent: to - from, lost, duplicated };
  }

  /** The numbers in [from, to) that have not come back (at most `max`). */
  missing(from: number, to: number, max = 20): number[] {
    const out: number[] = [];
    for (let i = from; i < to && out.length < max; i++) if ((this.#counts[i] ?? 0) === 0) out.push(i);
    return out;
  }

  /**
   * Waits until every reading in [from, to) came back, or until nothing new has arrived for
   * `quietMs` (what is missing then is lost); then a little longer for late duplicates.
   */
  async settle(from: number, to: number, { quietMs = 8_000, maxMs = 120_000 } = {}): Promise<Tally> {
    const end = Date.now() + maxMs;
    let last = this.#received;
    let lastChange = Date.now();
    while (Date.now() < end) {
      if (this.tally(from, to).lost === 0) break;
      if (this.#received !== last) {
        last = this.#received;
        lastChange = Date.now();
      } else if (Date.now() - lastChange > quietMs) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await new Promise((r) => setTimeout(r, 1_000)); // a duplicate would arrive by now
    return this.tally(from, to);
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.#sensor.endAsync(true), this.#sink.endAsync(true)]);
  }
}
