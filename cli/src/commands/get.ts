// SPDX-License-Identifier: Apache-2.0
import { Args, Flags } from '@oclif/core';
import type { KubernetesObject } from '@kubernetes/client-node';
import { WasmfleetCommand, outputFlag } from '../base-command.ts';
import { renderObjects, type OutputFormat } from '../output/render.ts';
import { kindByName } from '../resources.ts';

export default class Get extends WasmfleetCommand<typeof Get> {
  static override summary = 'List functions or nodes, like `kubectl get`.';
  static override examples = [
    '<%= config.bin %> get functions',
    '<%= config.bin %> get functions -A -o wide',
    '<%= config.bin %> get nodes',
    '<%= config.bin %> get function temp-alert -o yaml',
  ];
  static override args = {
    type: Args.string({ required: true, description: 'functions (fn, wfn) or nodes (en, devices)' }),
    name: Args.string({ required: false, description: 'one object by name' }),
  };
  static override flags = {
    output: outputFlag(),
    'all-namespaces': Flags.boolean({ char: 'A', description: 'List functions in every namespace.' }),
    selector: Flags.string({ char: 'l', description: 'Label selector, e.g. site=plant-1.' }),
  };

  public async run(): Promise<void> {
    const { args } = await this.parse(Get);
    const kind = kindByName(args.type);
    const all = kind.namespaced && this.flags['all-namespaces'];
    const namespace = kind.namespaced && !all ? this.kube().namespace : undefined;
    const objects = await this.call(
      { what: `${kind.kind.toLowerCase()} "${args.name ?? ''}"`, namespace },
      async ({ objects }) => {
        if (args.name) {
          const one = await objects.read<KubernetesObject>({
            apiVersion: kind.apiVersion,
            kind: kind.kind,
            metadata: { name: args.name, ...(namespace ? { namespace } : {}) },
          });
          return [one];
        }
        const list = await objects.list<KubernetesObject>(
          kind.apiVersion,
          kind.kind,
          namespace,
          undefined,
          undefined,
          undefined,
          undefined,
          this.flags.selector,
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
    process.stdout.write(
      renderObjects(kind, objects as unknown as Record<string, unknown>[], format, { showNamespace: all }),
    );
  }
}
