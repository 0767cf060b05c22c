// SPDX-License-Identifier: Apache-2.0
import { Args } from '@oclif/core';
import type { KubernetesObject } from '@kubernetes/client-node';
import { WasmfleetCommand } from '../base-command.ts';
import type { NodeStatus } from '@wasmfleet/api';
import { devStackBroker } from '../broker/discover.ts';
import { brokerFlags } from '../broker/flags.ts';
import { liveStatus } from '../devices/live-status.ts';
import { describeObject, type DescribeEvent } from '../output/describe.ts';
import { kindByName, resourcePath } from '../resources.ts';

export default class Describe extends WasmfleetCommand<typeof Describe> {
  static override summary = 'Show a function or node in detail: spec, status, conditions and recent events.';
  static override description =
    "For a node, every function's revision, phase, calls and errors and its last heartbeat come from the device's retained status on the broker: the running `wasmfleet dev up` stack's, or --broker (or WASMFLEET_BROKER). Without one, the failing functions Kubernetes keeps are shown.";
  static override examples = [
    '<%= config.bin %> describe function temp-alert',
    '<%= config.bin %> describe function temp-alert -n default',
    '<%= config.bin %> describe node dev-sensor-1',
  ];
  static override args = {
    type: Args.string({ required: true, description: 'function or node' }),
    name: Args.string({ required: true, description: 'object name' }),
  };
  static override flags = { ...brokerFlags };

  public async run(): Promise<void> {
    const { args } = await this.parse(Describe);
    const kind = kindByName(args.type);
    const namespace = kind.namespaced ? this.kube().namespace : undefined;
    const { object, events } = await this.read(
      { what: `${kind.kind.toLowerCase()} "${args.name}"`, namespace },
      async ({ api }) => {
        const found = await api.get<KubernetesObject>(resourcePath(kind, { namespace, name: args.name }));
        const query = new URLSearchParams({
          fieldSelector: `involvedObject.name=${args.name},involvedObject.kind=${kind.kind}`,
        });
        const list = await api.get<{ items?: EventJson[] }>(
          `${namespace ? `/api/v1/namespaces/${encodeURIComponent(namespace)}/events` : '/api/v1/events'}?${query.toString()}`,
        );
        return { object: found, events: list.items ?? [] };
      },
    );
    const recent = events
      .map(eventRow)
      .sort((a, b) => timeOf(a) - timeOf(b))
      .slice(-10);
    // A device's per-function detail lives in its retained status on the broker (ADR 0023).
    const live =
      kind.kind === 'EdgeNode'
        ? await liveStatus(devStackBroker(this.flags.broker, this.kube()), this.flags['broker-ca'], [
            args.name,
          ])
        : { statuses: new Map<string, NodeStatus>(), problem: undefined };
    process.stdout.write(
      describeObject(object as unknown as Record<string, unknown>, recent, Date.now(), {
        status: live.statuses.get(args.name),
        problem: live.problem,
      }),
    );
  }
}

/** A core/v1 Event as the API server sends it: every time is an RFC 3339 string (or absent). */
interface EventJson {
  readonly type?: string;
  readonly reason?: string;
  readonly message?: string;
  readonly count?: number;
  readonly lastTimestamp?: string | null;
  readonly eventTime?: string | null;
  readonly series?: { readonly count?: number; readonly lastObservedTime?: string } | null;
  readonly metadata?: { readonly creationTimestamp?: string };
}

/**
 * Events written through events.k8s.io/v1 (as the operator writes them) have an eventTime and
 * a series, but no lastTimestamp or count; both shapes are shown the same way.
 */
export function eventRow(e: EventJson): DescribeEvent {
  const lastTimestamp =
    e.series?.lastObservedTime ??
    e.lastTimestamp ??
    e.eventTime ??
    e.metadata?.creationTimestamp ??
    undefined;
  const count = e.series?.count ?? e.count;
  return {
    ...(e.type === undefined ? {} : { type: e.type }),
    ...(e.reason === undefined ? {} : { reason: e.reason }),
    ...(e.message === undefined ? {} : { message: e.message }),
    ...(count === undefined ? {} : { count }),
    ...(lastTimestamp === undefined ? {} : { lastTimestamp }),
  };
}

function timeOf(e: DescribeEvent): number {
  return e.lastTimestamp === undefined ? 0 : Date.parse(e.lastTimestamp);
}
