// SPDX-License-Identifier: Apache-2.0
// What the spec says the fleet should look like — WasmFunctions (live and deleted) and device
// labels, as the test last set them — and the check that the real fleet matches: status caught
// up (observedGeneration, rollout complete, ready count), every device told exactly the
// functions that select it at their update revision, deleted functions gone (no finalizer stuck).
import type { FaultFleet } from './fleet.ts';
import { wasmFunction } from './fleet.ts';

export type Labels = Record<string, string>;

export interface FunctionSpec {
  readonly selector: Labels;
  readonly rollout: Record<string, unknown>;
  readonly version: string;
}

export const ROLLING = { strategy: 'Rolling', maxUnavailable: '25%' };
export const CANARY = {
  strategy: 'Canary',
  steps: [
    { percent: 34, pause: '1s' },
    { percent: 67, pause: '1s' },
  ],
};

export class FleetModel {
  readonly labels = new Map<string, Labels>();
  readonly live = new Map<string, FunctionSpec>();
  readonly gone = new Set<string>();
  readonly everCreated = new Set<string>();
  readonly #f: FaultFleet;

  constructor(f: FaultFleet) {
    this.#f = f;
  }

  async addDevice(short: string, labels: Labels): Promise<void> {
    await this.#f.device(short, labels);
    this.labels.set(this.#f.nodeName(short), labels);
  }

  async put(name: string, spec: FunctionSpec): Promise<void> {
    this.live.set(name, spec);
    this.gone.delete(name);
    this.everCreated.add(name);
    await this.#f.apply({
      ...wasmFunction(name, {
        module: { configMap: { name: 'mod', key: 'module.wasm' } },
        placement: { nodeSelector: { matchLabels: spec.selector } },
        inputs: [{ topic: `in/${name}/{node}` }],
        config: { V: spec.version },
        rollout: spec.rollout,
      }),
      metadata: { name, namespace: this.#f.namespace },
    });
  }

  update(name: string, version: string): Promise<void> {
    const spec = this.live.get(name);
    if (!spec) throw new Error(`${name} is not live`);
    return this.put(name, { ...spec, version });
  }

  async remove(name: string): Promise<void> {
    this.live.delete(name);
    this.gone.add(name);
    await this.#f.kubectl(['delete', 'wasmfunction', name, '-n', this.#f.namespace, '--wait=false']);
  }

  async relabel(short: string, key: string, value: string): Promise<void> {
    const node = this.#f.nodeName(short);
    this.labels.set(node, { ...this.labels.get(node), [key]: value });
    await this.#f.kubectl(['label', 'edgenode', node, `${key}=${value}`, '--overwrite']);
  }

  #matches(node: string, selector: Labels): boolean {
    return Object.entries(selector).every(([k, v]) => this.labels.get(node)?.[k] === v);
  }

  /** Undefined when the fleet matches the spec; otherwise the first thing that still differs. */
  async divergence(): Promise<string | undefined> {
    const f = this.#f;
    for (const name of this.gone) {
      if ((await f.fn(name)) !== undefined) return `${name} still exists (finalizer not removed)`;
    }
    for (const [name, spec] of this.live) {
      const fn = await f.fn(name);
      if (!fn) return `${name} does not exist`;
      const s = fn.status;
      if (!s) return `${name} has no status yet`;
      const targets = [...this.labels.keys()].filter((n) => this.#matches(n, spec.selector));
      if (s.observedGeneration !== fn.metadata.generation)
        return `${name}: observedGeneration ${s.observedGeneration} of ${fn.metadata.generation}`;
      if (!s.updateRevision || s.currentRevision !== s.updateRevision)
        return `${name}: rollout ${s.currentRevision} → ${s.updateRevision} not complete`;
      if (s.readyNodes !== targets.length) return `${name}: ${s.readyNodes}/${targets.length} ready`;
      for (const device of f.devices) {
        const has = device.desired()?.functions.find((x) => x.name === name && x.namespace === f.namespace);
        const want = targets.includes(device.node);
        if (want && has?.revision !== s.updateRevision)
          return `${device.node} runs ${name}@${has?.revision ?? 'nothing'}, not ${s.updateRevision}`;
        if (!want && has) return `${device.node} still runs ${name}, which no longer selects it`;
      }
    }
    for (const name of this.gone) {
      const device = f.devices.find((d) => d.desired()?.functions.some((x) => x.name === name));
      if (device) return `${device.node} still runs deleted ${name}`;
    }
    return undefined;
  }

  /** Waits until divergence() is undefined; returns how long that took. */
  async converge(what: string, timeoutMs = 120_000): Promise<number> {
    const started = Date.now();
    let last: string | undefined;
    for (;;) {
      last = await this.divergence();
      if (last === undefined) return Date.now() - started;
      if (Date.now() - started > timeoutMs) {
        throw new Error(`no convergence within ${timeoutMs} ms after ${what}: ${last}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}
