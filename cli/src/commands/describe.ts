// SPDX-License-Identifier: Apache-2.0
import { Args } from '@oclif/core';
import { CoreV1Api, type CoreV1Event, type KubernetesObject } from '@kubernetes/client-node';
import { WasmfleetCommand } from '../base-command.ts';
import { describeObject } from '../output/describe.ts';
import { kindByName } from '../resources.ts';

export default class Describe extends WasmfleetCommand<typeof Describe> {
  static override summary = 'Show a function or node in detail: spec, status, conditions and recent events.';
  static override examples = [
    '<%= config.bin %> describe function temp-alert -n plant-1',
    '<%= config.bin %> describe node gateway-7',
  ];
  static override args = {
    type: Args.string({ required: true, description: 'function or node' }),
    name: Args.string({ required: true, description: 'object name' }),
  };

  public async run(): Promise<void> {
    const { args } = await this.parse(Describe);
    const kind = kindByName(args.type);
    const namespace = kind.namespaced ? this.kube().namespace : undefined;
    const { object, events } = await this.call(
      { what: `${kind.kind.toLowerCase()} "${args.name}"`, namespace },
      async ({ objects, config }) => {
        const found = await objects.read<KubernetesObject>({
          apiVersion: kind.apiVersion,
          kind: kind.kind,
          metadata: { name: args.name, ...(namespace ? { namespace } : {}) },
        });
        const core = config.makeApiClient(CoreV1Api);
        const fieldSelector = `involvedObject.name=${args.name},involvedObject.kind=${kind.kind}`;
        const list = namespace
          ? await core.listNamespacedEvent({ namespace, fieldSelector })
          : await core.listEventForAllNamespaces({ fieldSelector });
        return { object: found, events: list.items };
      },
    );
    const recent = [...events].sort(byTime).slice(-10);
    process.stdout.write(
      describeObject(
        object as unknown as Record<string, unknown>,
        recent.map((e) => ({
          type: e.type,
          reason: e.reason,
          message: e.message,
          count: e.count,
          lastTimestamp: (e.lastTimestamp ?? e.eventTime ?? e.metadata.creationTimestamp)?.toISOString(),
        })),
      ),
    );
  }
}

function byTime(a: CoreV1Event, b: CoreV1Event): number {
  const t = (e: CoreV1Event) => (e.lastTimestamp ?? e.metadata.creationTimestamp)?.getTime() ?? 0;
  return t(a) - t(b);
}
