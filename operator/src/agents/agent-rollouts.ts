// SPDX-License-Identifier: Apache-2.0
// Runs AgentRollouts (docs/adr/0032): watches them, plans each with planAgentRollout whenever an
// EdgeNode or the rollout changes (and when a pause or deadline ends), publishes each device's
// agent target (retained, only when it changes) on its own MQTT connection, and writes status.
// Leader only (started from the operator's run()). At start it reads back the retained targets,
// so a restarted operator knows what devices were told and the canary keeps its devices.
import {
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type KubernetesObject,
} from '@kubernetes/client-node';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import {
  AGENT_ROLLOUT_PLURAL,
  AGENT_TARGET_FILTER,
  type AgentRollout,
  agentTargetTopic,
  brokerTarget,
  type EdgeNode,
  GROUP,
  type Logger,
  parseAgentTarget,
  VERSION,
} from '@wasmfleet/api';
import type { Cache } from '../controllers/typed-cache.ts';
import { customResourceSource, Informer } from '../kube/index.ts';
import { FLEET_LABEL } from '../controllers/fleet-context.ts';
import { planAgentRollout } from './agent-rollout-plan.ts';

const SETTLE_MS = 200;
const MERGE_PATCH = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const RESYNC_MS = 5_000;

export interface AgentRolloutsOptions {
  readonly kubeConfig: KubeConfig;
  readonly url: string;
  readonly client: IClientOptions;
  readonly nodes: Cache<EdgeNode>;
  readonly log: Logger;
  /**
   * An operator scoped to one fleet (its EdgeNodes by the fleet label) handles only the
   * AgentRollouts that select that fleet: another operator's rollout would otherwise find none
   * of its devices here and overwrite its status.
   */
  readonly fleet?: string;
}

export interface AgentRollouts {
  /** An EdgeNode changed: plan again soon. */
  nodesChanged(): void;
  close(): Promise<void>;
}

/** The agent-target connection, with every device's retained target read back. */
interface TargetLink {
  readonly client: MqttClient;
  /** node → the JSON of its retained agent target (ours, or a predecessor's read back). */
  readonly published: Map<string, string>;
}

async function connectTargets(options: AgentRolloutsOptions): Promise<TargetLink> {
  const client = await mqtt.connectAsync({
    ...brokerTarget(options.url),
    ...options.client,
    // 3.1.1: retained QoS 1 documents need nothing newer, and the embedded broker speaks only it.
    protocolVersion: 4,
    clientId: `${options.client.clientId ?? 'wasmfleet-operator'}-agents`,
    clean: true,
    reconnectPeriod: 1000,
  });
  const published = new Map<string, string>();
  client.on('message', (topic, payload) => {
    const node = /^wasmfleet\/v1\/nodes\/([^/]+)\/agent$/.exec(topic)?.[1];
    if (node === undefined) return;
    if (payload.length === 0) published.delete(node);
    else if (parseAgentTarget(payload).ok) published.set(node, payload.toString('utf8'));
  });
  await client.subscribeAsync(AGENT_TARGET_FILTER, { qos: 1 });
  await new Promise((resolve) => setTimeout(resolve, 300)); // the retained targets arrive
  return { client, published };
}

export async function startAgentRollouts(options: AgentRolloutsOptions): Promise<AgentRollouts> {
  const kc = options.kubeConfig;
  const api = kc.makeApiClient(CustomObjectsApi);
  const informer = new Informer<KubernetesObject>(
    kc,
    customResourceSource(kc, { group: GROUP, version: VERSION, plural: AGENT_ROLLOUT_PLURAL }),
    { onError: (error) => options.log.warn(`agentrollouts watch failed: ${String(error)}`) },
  );
  informer.start();
  await informer.waitForCacheSync(120_000);
  const link = await connectTargets(options);
  const { client } = link;

  let timer: NodeJS.Timeout | undefined;
  let running = Promise.resolve();
  const reconcileAll = () =>
    reconcileRollouts(informer.list() as unknown as AgentRollout[], options, link, api);
  const schedule = (ms = SETTLE_MS): void => {
    if (timer) return;
    timer = setTimeout(() => {
      timer = undefined;
      running = running
        .then(reconcileAll)
        .catch((e: unknown) => options.log.error(`agent rollouts: ${String(e)}`));
    }, ms);
  };
  informer.on(() => schedule());
  const resync = setInterval(() => schedule(0), RESYNC_MS);

  schedule(0);
  return {
    nodesChanged: () => schedule(),
    close: async () => {
      clearTimeout(timer);
      clearInterval(resync);
      await running;
      await informer.stop();
      await client.endAsync();
    },
  };
}

/** Every AgentRollout, by name: a device selected by two follows the first. */
async function reconcileRollouts(
  all: AgentRollout[],
  options: AgentRolloutsOptions,
  link: TargetLink,
  api: CustomObjectsApi,
): Promise<void> {
  const rollouts = all.sort((a, b) => (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''));
  const claimed = new Set<string>();
  for (const rollout of rollouts) {
    if (
      options.fleet !== undefined &&
      rollout.spec.nodeSelector?.matchLabels?.[FLEET_LABEL] !== options.fleet
    )
      continue;
    await reconcileRollout(rollout, claimed, options, link, api);
  }
}

async function reconcileRollout(
  rollout: AgentRollout,
  claimed: Set<string>,
  options: AgentRolloutsOptions,
  { client, published }: TargetLink,
  api: CustomObjectsApi,
): Promise<void> {
  // A device selected by two AgentRollouts follows the first by name.
  const nodes = options.nodes.list().filter((n) => !claimed.has(n.metadata.name ?? ''));
  const told = (node: string): string | undefined => {
    const doc = published.get(node);
    return doc ? (JSON.parse(doc) as { agent: { version: string } }).agent.version : undefined;
  };
  const plan = planAgentRollout(rollout, nodes, told, Date.now());
  for (const [node, doc] of plan.documents) {
    claimed.add(node);
    const text = JSON.stringify(doc);
    if (published.get(node) === text) continue;
    await client.publishAsync(agentTargetTopic(node), text, { qos: 1, retain: true });
    published.set(node, text);
  }
  for (const event of plan.decision.events)
    options.log.info(`agentrollout ${rollout.metadata.name ?? ''}: ${event.reason}: ${event.message}`);
  if (JSON.stringify(rollout.status ?? {}) !== JSON.stringify(plan.status)) {
    await api.patchClusterCustomObjectStatus(
      {
        group: GROUP,
        version: VERSION,
        plural: AGENT_ROLLOUT_PLURAL,
        name: rollout.metadata.name ?? '',
        body: { status: plan.status },
      },
      MERGE_PATCH,
    );
  }
}
