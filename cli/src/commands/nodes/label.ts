// SPDX-License-Identifier: Apache-2.0
import { Args, Flags } from '@oclif/core';
import { PatchStrategy, type KubernetesObject } from '@kubernetes/client-node';
import { API_VERSION, EDGE_NODE_KIND } from '@wasmfleet/api';
import { WasmfleetCommand } from '../../base-command.ts';
import { UserError } from '../../errors.ts';

// Kubernetes label syntax: optional DNS prefix, a name of ≤ 63 alphanumerics/-_. ; values the same.
const KEY =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

export default class NodesLabel extends WasmfleetCommand<typeof NodesLabel> {
  static override summary = 'Set or remove labels on a device (placement follows).';
  static override examples = [
    '<%= config.bin %> nodes label gateway-7 site=plant-2',
    '<%= config.bin %> nodes label gateway-7 site- --overwrite',
  ];
  static override strict = false;
  static override args = { node: Args.string({ required: true, description: 'EdgeNode name' }) };
  static override flags = {
    overwrite: Flags.boolean({ description: 'Allow changing an existing label’s value.' }),
  };

  public async run(): Promise<void> {
    const { args, argv } = await this.parse(NodesLabel);
    const changes = parseLabelChanges((argv as string[]).slice(1));
    const header = { apiVersion: API_VERSION, kind: EDGE_NODE_KIND, metadata: { name: args.node } };
    await this.call({ what: `edgenode "${args.node}"` }, async ({ objects }) => {
      const current = await objects.read<KubernetesObject>(header);
      const labels = current.metadata?.labels ?? {};
      for (const [key, value] of Object.entries(changes)) {
        if (value !== null && key in labels && labels[key] !== value && !this.flags.overwrite) {
          throw new UserError(`edgenode "${args.node}" already has label ${key}=${labels[key] ?? ''}`, {
            hint: 'pass --overwrite to change it',
          });
        }
      }
      await objects.patch(
        { ...header, metadata: { ...header.metadata, labels: changes } } as KubernetesObject,
        undefined,
        undefined,
        'wasmfleet',
        undefined,
        PatchStrategy.MergePatch,
      );
    });
    this.log(`edgenode.wasmfleet.io/${args.node} labeled`);
  }
}

/** `key=value` sets, `key-` removes (null in a merge patch). */
export function parseLabelChanges(items: readonly string[]): Record<string, string | null> {
  if (items.length === 0)
    throw new UserError('no labels given', { hint: 'write key=value to set a label or key- to remove one' });
  const changes: Record<string, string | null> = {};
  for (const item of items) {
    if (item.endsWith('-') && !item.includes('=')) {
      const key = item.slice(0, -1);
      if (!KEY.test(key))
        throw new UserError(`"${key}" is not a valid label key`, {
          hint: 'keys are [prefix/]name, name ≤ 63 characters of a-z, 0-9, -, _ and .',
        });
      changes[key] = null;
      continue;
    }
    const eq = item.indexOf('=');
    if (eq <= 0)
      throw new UserError(`"${item}" is not a label change`, {
        hint: 'write key=value to set a label or key- to remove one',
      });
    const key = item.slice(0, eq);
    const value = item.slice(eq + 1);
    if (!KEY.test(key))
      throw new UserError(`"${key}" is not a valid label key`, {
        hint: 'keys are [prefix/]name, name ≤ 63 characters of a-z, 0-9, -, _ and .',
      });
    if (!VALUE.test(value))
      throw new UserError(`"${value}" is not a valid value for label ${key}`, {
        hint: 'values are ≤ 63 characters of A-Z, a-z, 0-9, -, _ and ., starting and ending alphanumeric',
      });
    changes[key] = value;
  }
  return changes;
}
