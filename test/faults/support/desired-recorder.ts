// SPDX-License-Identifier: Apache-2.0
// Counts desired documents from the broker's side: a client of its own, subscribed to every
// device's retained desired topic before any operator runs, records each publish in order.
// This is what devices are told — whichever operator process (or replica) published it.
import mqtt from 'mqtt';
import { WIRE_PREFIX, parseDesiredState, type DesiredState } from '@wasmfleet/api';
import { canonicalJson } from '../../../operator/src/fleet/revision-hash.ts';

export interface DesiredRecorder {
  /** node → every document published for it, in broker order. */
  readonly byNode: Map<string, DesiredState[]>;
  /** Consecutive publishes to one device whose function lists are identical. */
  duplicates(): { node: string; generation: number }[];
  /** The revisions `fn` (namespace/name) went through on `node`, consecutive repeats merged. */
  transitions(node: string, fn: string): string[];
  close(): Promise<void>;
}

export async function recordDesired(brokerUrl: string): Promise<DesiredRecorder> {
  const byNode = new Map<string, DesiredState[]>();
  const client = await mqtt.connectAsync(brokerUrl, {
    clientId: `desired-recorder-${process.pid}`,
    clean: true,
  });
  client.on('message', (_topic, payload) => {
    if (payload.length === 0) return;
    const parsed = parseDesiredState(payload);
    if (!parsed.ok) return;
    const docs = byNode.get(parsed.value.node) ?? [];
    docs.push(parsed.value);
    byNode.set(parsed.value.node, docs);
  });
  await client.subscribeAsync(`${WIRE_PREFIX}/nodes/+/desired`, { qos: 1 });
  return {
    byNode,
    duplicates() {
      const out: { node: string; generation: number }[] = [];
      for (const [node, docs] of byNode) {
        for (let i = 1; i < docs.length; i++) {
          const doc = docs[i];
          const previous = docs[i - 1];
          if (doc && previous && canonicalJson(doc.functions) === canonicalJson(previous.functions)) {
            out.push({ node, generation: doc.generation });
          }
        }
      }
      return out;
    },
    transitions(node, fn) {
      const out: string[] = [];
      for (const doc of byNode.get(node) ?? []) {
        const revision = doc.functions.find((f) => `${f.namespace}/${f.name}` === fn)?.revision;
        if (revision !== undefined && out.at(-1) !== revision) out.push(revision);
      }
      return out;
    },
    close: () => client.endAsync(),
  };
}
