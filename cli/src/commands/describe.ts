import { Args } from '@oclif/core';
import { CoreV1Api, type CoreV1Event, type KubernetesObject } from '@kubernetes/client-node';
import { WasmfleetCommand } from '../base-command.ts';
import type { NodeStatus } from '@wasmfleet/api';
import { liveStatus } from '../devices/live-status.ts';
import { describeObject } from '../output/describe.ts';
import { kindByName } from '../resources.ts';

export default class Describe extends WasmfleetCommand<typeof Describe> {
  static override summary = 'Show a function or node in detail: spec, status, conditions and recent events.';
  static override description =
    "For a node, every function's revision, phase, calls and errors and its last heartbeat come from the device's retained status on the broker: pass --broker (or set WASMFLEET_BROKER). Without it, the failing functions Kubernetes keeps are shown.";
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
    // A device's per-function detail lives in its retained status on the broker (ADR 0023).
    const live =
      kind.kind === 'EdgeNode'
        ? await liveStatus(this.flags.broker, this.flags['broker-ca'], [args.name])
        : { statuses: new Map<string, NodeStatus>(), problem: undefined };
    process.stdout.write(
      describeObject(
        object as unknown as Record<string, unknown>,
        recent.map((e) => ({
          type: e.type,
          reason: e.reason,
          message: e.message,
          count: e.count,
          lastTimestamp: isoTime(e.lastTimestamp ?? e.eventTime ?? e.metadata.creationTimestamp),
        })),
        Date.now(),
        { status: live.statuses.get(args.name), problem: live.problem },
      ),
    );
  }
}

/** events.k8s.io Events carry only eventTime, which the client hands over as a string, not a Date. */
function isoTime(time: Date | string | undefined): string | undefined {
  return time === undefined ? undefined : new Date(time).toISOString();
}

function byTime(a: CoreV1Event, b: CoreV1Event): number {
  const t = (e: CoreV1Event) => (e.lastTimestamp ?? e.metadata.creationTimestamp)?.getTime() ?? 0;
  return t(a) - t(b);
}
