// SPDX-License-Identifier: Apache-2.0
// The sample functions `wasmfleet dev up` deploys: built from source (workloads/), stored in
// ConfigMaps, and applied from each example's own function.yaml — the same files a user reads.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'yaml';
import { EXAMPLES_DIR, ensureBuilt } from '@wasmfleet/workloads';

export const SAMPLE_FUNCTIONS = ['temp-alert', 'anomaly-zscore', 'grayscale'] as const;

export interface SampleManifests {
  readonly configMaps: Record<string, unknown>[];
  readonly functions: Record<string, unknown>[];
}

export async function sampleManifests(
  namespace: string,
  progress: (line: string) => void,
): Promise<SampleManifests> {
  const configMaps: Record<string, unknown>[] = [];
  const functions: Record<string, unknown>[] = [];
  for (const name of SAMPLE_FUNCTIONS) {
    progress(`building the ${name} example`);
    const wasm = await readFile(await ensureBuilt(name));
    const manifest = parse(await readFile(path.join(EXAMPLES_DIR, name, 'function.yaml'), 'utf8')) as {
      metadata: Record<string, unknown>;
      spec: { module: { configMap?: { name: string; key: string } } };
    };
    const ref = manifest.spec.module.configMap;
    if (!ref) throw new Error(`the ${name} example must use a configMap module source for dev up`);
    configMaps.push({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: ref.name, namespace, labels: { 'app.kubernetes.io/part-of': 'wasmfleet-dev' } },
      binaryData: { [ref.key]: wasm.toString('base64') },
    });
    functions.push({ ...manifest, metadata: { ...manifest.metadata, namespace } });
  }
  return { configMaps, functions };
}
