// SPDX-License-Identifier: Apache-2.0
// The simulated fleet as one handle: devices spread over child processes (swarm-process.ts), each
// under the per-process file-descriptor limit, with commands to take any of them offline and back.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { SwarmCommand, SwarmReply, SwarmStats } from './swarm-protocol.ts';

const ENTRY = fileURLToPath(new URL('./swarm-process.ts', import.meta.url));

export interface SwarmOptions {
  readonly brokerUrl: string;
  readonly nodes: readonly string[];
  /** Devices per MQTT connection (1: real connections with real last wills). */
  readonly perLink: number;
  /** Connections per process at most (stay below `ulimit -n`). */
  readonly linksPerProcess: number;
  readonly heartbeatSeconds: number;
  readonly sensors?: readonly string[];
  readonly localAddresses?: readonly string[];
}

interface Worker {
  readonly child: ChildProcess;
  readonly nodes: readonly string[];
  readonly pending: Map<number, { resolve: (s: SwarmStats) => void; reject: (e: Error) => void }>;
}

export class Swarm {
  readonly #workers: Worker[];
  readonly #workerOf = new Map<string, Worker>();
  #nextId = 1;

  private constructor(workers: Worker[]) {
    this.#workers = workers;
    for (const w of workers) for (const node of w.nodes) this.#workerOf.set(node, w);
  }

  /** Starts the processes and connects every device; resolves once all are announced. */
  static async start(options: SwarmOptions): Promise<Swarm> {
    const url = new URL(options.brokerUrl);
    const perProcess = options.linksPerProcess * options.perLink;
    const workers: Worker[] = [];
    for (let i = 0; i < options.nodes.length; i += perProcess) {
      const child = fork(ENTRY, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      const worker: Worker = { child, nodes: options.nodes.slice(i, i + perProcess), pending: new Map() };
      child.on('message', (reply: SwarmReply) => {
        const waiting = worker.pending.get(reply.id);
        worker.pending.delete(reply.id);
        if (reply.event === 'done') waiting?.resolve(reply.stats);
        else waiting?.reject(new Error(`device process ${child.pid}: ${reply.error}`));
      });
      child.on('exit', (code) => {
        for (const p of worker.pending.values()) p.reject(new Error(`device process exited (${code})`));
      });
      workers.push(worker);
    }
    const swarm = new Swarm(workers);
    await Promise.all(
      workers.map((w, i) =>
        swarm.#ask(w, {
          cmd: 'start',
          id: 0,
          name: `p${i}`,
          host: url.hostname,
          port: Number(url.port || 1883),
          nodes: w.nodes,
          perLink: options.perLink,
          sensors: options.sensors ?? ['temperature'],
          heartbeatSeconds: options.heartbeatSeconds,
          keepaliveSeconds: 60,
          localAddresses: options.localAddresses ?? [],
          connectWave: 200,
        }),
      ),
    );
    return swarm;
  }

  get pids(): number[] {
    return this.#workers.map((w) => w.child.pid ?? 0);
  }

  offline(nodes: readonly string[]): Promise<SwarmStats> {
    return this.#fanOut('offline', nodes);
  }

  online(nodes: readonly string[]): Promise<SwarmStats> {
    return this.#fanOut('online', nodes);
  }

  async stats(): Promise<SwarmStats> {
    return sum(await Promise.all(this.#workers.map((w) => this.#ask(w, { cmd: 'stats', id: 0 }))));
  }

  async stop(): Promise<void> {
    await Promise.allSettled(this.#workers.map((w) => this.#ask(w, { cmd: 'stop', id: 0 })));
    for (const w of this.#workers) w.child.kill();
  }

  async #fanOut(cmd: 'offline' | 'online', nodes: readonly string[]): Promise<SwarmStats> {
    const groups = new Map<Worker, string[]>();
    for (const node of nodes) {
      const w = this.#workerOf.get(node);
      if (!w) continue;
      const list = groups.get(w) ?? [];
      list.push(node);
      groups.set(w, list);
    }
    return sum(await Promise.all([...groups].map(([w, list]) => this.#ask(w, { cmd, id: 0, nodes: list }))));
  }

  #ask(worker: Worker, command: SwarmCommand): Promise<SwarmStats> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      worker.pending.set(id, { resolve, reject });
      worker.child.send({ ...command, id });
    });
  }
}

function sum(all: readonly SwarmStats[]): SwarmStats {
  const total = { statusPublished: 0, desiredReceived: 0, bytesOut: 0, bytesIn: 0, reconnects: 0, links: 0 };
  for (const s of all) for (const k of Object.keys(total) as (keyof typeof total)[]) total[k] += s[k];
  return total;
}
