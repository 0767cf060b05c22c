// SPDX-License-Identifier: Apache-2.0
import { Args, Flags } from '@oclif/core';
import {
  PatchStrategy,
  type KubernetesObject,
  type KubernetesObjectApi,
  type V1ConfigMap,
} from '@kubernetes/client-node';
import { API_VERSION, EDGE_NODE_KIND, isNodeId, joinSecretHash, newJoinToken } from '@wasmfleet/api';
import { JOIN_SETTINGS_CONFIGMAP, joinTokenSecret } from '@wasmfleet/operator';
import { WasmfleetCommand } from '../../base-command.ts';
import { durationFlag } from '../../duration.ts';
import { UserError } from '../../errors.ts';
import { parseLabelChanges } from './label.ts';

/** Tokens live this long unless --ttl says otherwise; at most MAX_TTL. */
const DEFAULT_TTL = '1h';
const MAX_TTL_MS = 7 * 24 * 3600_000;

export interface JoinCommandInput {
  readonly broker: string;
  readonly token: string;
  /** PEM of the broker's CA, when the broker uses TLS with a private CA. */
  readonly ca: string | undefined;
}

export default class NodesJoin extends WasmfleetCommand<typeof NodesJoin> {
  static override summary = 'Register a device and print the one command that joins it to the fleet.';
  static override description =
    'Creates the EdgeNode (with --labels) and a short-lived, single-use bootstrap token, and prints the command to run on the device as root. ' +
    'It trades the token for the device’s own MQTT credentials (no Kubernetes credentials reach the device), writes them readable only by the agent, and starts the wasmfleet-agent service. ' +
    'Needs the operator with per-device identity (--device-identity); -n is its namespace. The token is kept only as a hash in the Secret wasmfleet-join-<id>.';
  static override examples = [
    '<%= config.bin %> nodes join pump-7 -n wasmfleet',
    '<%= config.bin %> nodes join pump-7 --labels site=plant-1,line=3 --ttl 30m -n wasmfleet',
    '<%= config.bin %> nodes join pump-7 -n wasmfleet -o json',
  ];
  static override args = {
    node: Args.string({ required: true, description: 'EdgeNode name (the device’s id)' }),
  };
  static override flags = {
    labels: Flags.string({ description: 'Labels for the EdgeNode: key=value,key=value.' }),
    ttl: Flags.string({ description: `How long the token works (at most 7 days).`, default: DEFAULT_TTL }),
    broker: Flags.string({
      description:
        'Broker URL for the device (default: what the operator publishes in the ConfigMap wasmfleet-join).',
    }),
    output: Flags.option({ char: 'o', options: ['text', 'json'] as const, default: 'text' as const })(),
  };

  public async run(): Promise<void> {
    const { args } = await this.parse(NodesJoin);
    if (!isNodeId(args.node))
      throw new UserError(`"${args.node}" is not a device id`, {
        hint: "use lower-case letters, digits, '-' and '.', e.g. pump-7",
      });
    const ttlMs = durationFlag('ttl', this.flags.ttl);
    if (ttlMs > MAX_TTL_MS)
      throw new UserError(`--ttl ${this.flags.ttl} is longer than 7 days`, {
        hint: 'bootstrap tokens are short-lived: pass e.g. --ttl 1h',
      });
    const labels = this.flags.labels ? labelMap(this.flags.labels) : {};
    const expiresAt = new Date(Date.now() + ttlMs);
    const result = await this.call({ what: `edgenode "${args.node}"` }, async ({ objects, namespace }) => {
      const settings = await joinSettings(objects, namespace);
      const broker = this.flags.broker ?? settings?.broker;
      if (!broker)
        throw new UserError(
          `no broker URL for devices: the ConfigMap ${JOIN_SETTINGS_CONFIGMAP} is not in namespace ${namespace}`,
          {
            hint: 'pass -n <the operator’s namespace> (the operator writes it when it runs with --device-identity and --device-broker-url), or --broker mqtts://host:8883',
          },
        );
      const node = await ensureEdgeNode(objects, args.node, labels);
      const token = newJoinToken();
      await objects.create(
        joinTokenSecret({
          namespace,
          tokenId: token.id,
          sha256: joinSecretHash(token.secret),
          node: args.node,
          nodeUid: node.metadata?.uid,
          expiresAt,
        }),
      );
      return { broker, token: token.token, ca: settings?.ca, created: node.created };
    });
    const command = joinCommand(result);
    if (this.flags.output === 'json') {
      this.log(JSON.stringify({ node: args.node, expiresAt: expiresAt.toISOString(), command }, null, 2));
      return;
    }
    process.stderr.write(
      `edgenode.wasmfleet.io/${args.node} ${result.created ? 'created' : 'exists'}; on the device, as root, before ${expiresAt.toISOString()}:\n\n`,
    );
    process.stdout.write(`${command}\n`);
    process.stderr.write(
      `\nThe token works once. For a new one, run \`wasmfleet nodes join ${args.node}\` again.\n`,
    );
  }
}

/** The command the device runs: the broker, the token and (for a private CA) the CA itself. */
export function joinCommand(input: JoinCommandInput): string {
  const ca = input.ca ? ` --ca ${Buffer.from(input.ca).toString('base64')}` : '';
  return `wasmfleet-agent join ${input.broker} --token ${input.token}${ca}`;
}

function labelMap(text: string): Record<string, string> {
  const changes = parseLabelChanges(
    text
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  );
  const labels: Record<string, string> = {};
  for (const [key, value] of Object.entries(changes)) {
    if (value === null)
      throw new UserError(`--labels ${key}-: removing a label makes no sense here`, {
        hint: 'write key=value',
      });
    labels[key] = value;
  }
  return labels;
}

async function joinSettings(
  objects: KubernetesObjectApi,
  namespace: string,
): Promise<{ broker: string | undefined; ca: string | undefined } | undefined> {
  try {
    const cm = await objects.read<V1ConfigMap>({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: JOIN_SETTINGS_CONFIGMAP, namespace },
    });
    return { broker: cm.data?.broker, ca: cm.data?.['ca.crt'] };
  } catch (error) {
    if ((error as { code?: number }).code === 404) return undefined;
    throw error;
  }
}

/** Creates the EdgeNode, or adds the labels to the one that exists (re-provisioning a device). */
async function ensureEdgeNode(
  objects: KubernetesObjectApi,
  name: string,
  labels: Record<string, string>,
): Promise<{ metadata?: { uid?: string }; created: boolean }> {
  const header = { apiVersion: API_VERSION, kind: EDGE_NODE_KIND, metadata: { name, labels } };
  try {
    return { ...(await objects.create({ ...header, spec: {} } as KubernetesObject)), created: true };
  } catch (error) {
    if ((error as { code?: number }).code !== 409) throw error;
  }
  const current = await objects.read<KubernetesObject>({ ...header, metadata: { name } });
  if (Object.keys(labels).length > 0) {
    await objects.patch(
      { ...header },
      undefined,
      undefined,
      'wasmfleet',
      undefined,
      PatchStrategy.MergePatch,
    );
  }
  return { ...current, created: false };
}
