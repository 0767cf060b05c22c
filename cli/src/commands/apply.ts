// SPDX-License-Identifier: Apache-2.0
import { Flags } from '@oclif/core';
import type { KubernetesObject } from '@kubernetes/client-node';
import { WasmfleetCommand } from '../base-command.ts';
import { readManifests } from '../manifests.ts';
import { explainKubeError } from '../kube/explain.ts';
import { serverSideApply, type ApplyObject } from '../kube/server-side-apply.ts';

export default class Apply extends WasmfleetCommand<typeof Apply> {
  static override summary = 'Create or update objects from manifests (server-side apply).';
  static override description =
    'WasmFunctions and EdgeNodes are checked against the CRD rules before anything is sent; if any object is invalid, nothing is applied.';
  static override examples = [
    '<%= config.bin %> apply -f temp-alert.yaml',
    '<%= config.bin %> apply -f functions/ --dry-run',
    'cat f.yaml | <%= config.bin %> apply -f -',
  ];
  static override flags = {
    filename: Flags.string({
      char: 'f',
      required: true,
      multiple: true,
      description: 'File, directory or - for stdin.',
    }),
    'dry-run': Flags.boolean({ description: 'Validate on the server without persisting.' }),
    'force-conflicts': Flags.boolean({ description: 'Take ownership of fields another manager set.' }),
  };

  public async run(): Promise<void> {
    const manifests = await readManifests(this.flags.filename, readStdin);
    const { objects, namespace: defaultNamespace, server } = this.kube();
    for (const { object } of manifests) {
      const namespaced =
        object.kind !== 'EdgeNode' &&
        object.kind !== 'Namespace' &&
        object.kind !== 'CustomResourceDefinition';
      const namespace =
        object.metadata.namespace ?? (namespaced ? (this.flags.namespace ?? defaultNamespace) : undefined);
      const spec = {
        ...object,
        metadata: { ...object.metadata, ...(namespace ? { namespace } : {}) },
      } as KubernetesObject;
      const label = `${object.kind.toLowerCase()}.${object.apiVersion.split('/')[0] ?? ''}/${object.metadata.name}`;
      try {
        const before = await objects
          .read(
            spec as Required<Pick<KubernetesObject, 'apiVersion' | 'kind'>> & {
              metadata: { name: string; namespace?: string };
            },
          )
          .catch((e: unknown) => {
            if ((e as { code?: number }).code === 404) return undefined;
            throw e;
          });
        const after = (await serverSideApply(this.kube().config, spec as ApplyObject, {
          fieldManager: 'wasmfleet',
          force: this.flags['force-conflicts'],
          dryRun: this.flags['dry-run'],
        })) as KubernetesObject;
        const verb = !before
          ? 'created'
          : before.metadata?.resourceVersion === after.metadata?.resourceVersion
            ? 'unchanged'
            : 'configured';
        this.log(`${label} ${verb}${this.flags['dry-run'] ? ' (server dry run)' : ''}`);
      } catch (error) {
        throw explainKubeError(error, { server, what: label, namespace });
      }
    }
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
