// SPDX-License-Identifier: Apache-2.0
import { Args, Flags } from '@oclif/core';
import type { KubernetesObject } from '@kubernetes/client-node';
import { WasmfleetCommand, outputFlag } from '../base-command.ts';
import { renderObjects, type OutputFormat } from '../output/render.ts';
import { devStackBroker } from '../broker/discover.ts';
import { brokerFlags } from '../broker/flags.ts';
import { withLastSeen } from '../devices/last-seen.ts';
import { kindByName, NODES, resourcePath } from '../resources.ts';

export default class Get extends WasmfleetCommand<typeof Get> {
  static override summary = 'List functions or nodes, like `kubectl get`.';
  static override description =
    "Nodes get FUNCTIONS and LAST-SEEN columns from each device's retained status on the broker (heartbeats never reach Kubernetes): the running `wasmfleet dev up` stack's broker, or --broker (or WASMFLEET_BROKER).";
  static override examples = [
    '<%= config.bin %> get functions',
    '<%= config.bin %> get functions -A -o wide',
    '<%= config.bin %> get nodes',
    '<%= config.bin %> get function temp-alert -o yaml',
  ];
  static override args = {
    type: Args.string({ required: true, description: 'functions (fn, wfn) or nodes (en, devices)' }),
    // Never read from stdin when left out (oclif's default for a missing argument when stdin is
    // not a terminal): `… | while read x; do wasmfleet get nodes; done` would lose the loop's
    // input to it, and kubectl never does that.
    name: Args.string({ required: false, ignoreStdin: true, description: 'one object by name' }),
  };
  static override flags = {
    output: outputFlag(),
    'all-namespaces': Flags.boolean({ char: 'A', description: 'List functions in every namespace.' }),
    selector: Flags.string({ char: 'l', description: 'Label selector, e.g. site=plant-1.' }),
    ...brokerFlags,
  };

  public async run(): Promise<void> {
    const { args } = await this.parse(Get);
    const kind = kindByName(args.type);
    const all = kind.namespaced && this.flags['all-namespaces'];
    const namespace = kind.namespaced && !all ? this.kube().namespace : undefined;
    const objects = await this.read(
      { what: `${kind.kind.toLowerCase()} "${args.name ?? ''}"`, namespace },
      async ({ api }) => {
        if (args.name)
          return [await api.get<KubernetesObject>(resourcePath(kind, { namespace, name: args.name }))];
        const query =
          this.flags.selector === undefined
            ? ''
            : `?${new URLSearchParams({ labelSelector: this.flags.selector }).toString()}`;
        const list = await api.get<{ items: KubernetesObject[] }>(
          `${resourcePath(kind, { namespace })}${query}`,
        );
        return list.items.map((o) => ({ apiVersion: kind.apiVersion, kind: kind.kind, ...o }));
      },
    );
    const format = this.flags.output as OutputFormat;
    if (objects.length === 0 && (format === 'table' || format === 'wide')) {
      this.logToStderr(
        namespace ? `No ${kind.plural} found in ${namespace} namespace.` : `No ${kind.plural} found.`,
      );
      return;
    }
    const rows = objects as unknown as Record<string, unknown>[];
    const table = format === 'table' || format === 'wide';
    const broker = devStackBroker(this.flags.broker, this.kube());
    const shown =
      table && kind.kind === NODES.kind
        ? await withLastSeen(kind, rows, { broker, 'broker-ca': this.flags['broker-ca'] })
        : { kind };
    process.stdout.write(renderObjects(shown.kind, rows, format, { showNamespace: all }));
    if (shown.note) this.logToStderr(shown.note);
  }
}
