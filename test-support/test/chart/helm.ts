// SPDX-License-Identifier: Apache-2.0
// Shared by the chart tests: runs the real `helm` (built from the Go module proxy, see
// test-support/helm/go.mod) against charts/wasmfleet and parses what it renders.
import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { ensureHelmBinary } from '../../src/index.ts';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const CHART_DIR = path.join(REPO_ROOT, 'charts', 'wasmfleet');

export interface HelmResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** A Kubernetes object as rendered: only the fields every test reads are typed. */
export interface Manifest {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string } & Record<string, unknown>;
  readonly [field: string]: unknown;
}

let helmHome: Promise<string> | undefined;

/**
 * Runs helm with its config, cache and data homes in a private directory, so a test run never
 * reads or writes the user's helm repositories or plugins.
 */
export async function helm(args: readonly string[]): Promise<HelmResult> {
  const { helm: binary } = await ensureHelmBinary({ progress: (line) => console.error(`[helm] ${line}`) });
  helmHome ??= mkdtemp(path.join(tmpdir(), 'wasmfleet-helm-home-'));
  const home = await helmHome;
  return new Promise((resolve) => {
    execFile(
      binary,
      [...args],
      {
        cwd: REPO_ROOT,
        maxBuffer: 64 * 1024 * 1024,
        env: {
          ...process.env,
          HELM_CONFIG_HOME: path.join(home, 'config'),
          HELM_CACHE_HOME: path.join(home, 'cache'),
          HELM_DATA_HOME: path.join(home, 'data'),
          // Rendering must never depend on whichever cluster the developer's kubeconfig names.
          KUBECONFIG: path.join(home, 'no-kubeconfig'),
        },
      },
      (error, stdout, stderr) => {
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
      },
    );
  });
}

export interface RenderOptions {
  readonly release?: string;
  readonly namespace?: string;
  /** Written to a values file and passed with -f (so types survive, unlike --set). */
  readonly values?: Record<string, unknown>;
  readonly includeCrds?: boolean;
}

/** `helm template`; throws with helm's own message when rendering fails. */
export async function render(options: RenderOptions = {}): Promise<{ yaml: string; manifests: Manifest[] }> {
  const result = await template(options);
  if (result.code !== 0) {
    throw new Error(`helm template failed (exit ${result.code}):\n${result.stderr}`);
  }
  return { yaml: result.stdout, manifests: parseManifests(result.stdout) };
}

export async function template(options: RenderOptions = {}): Promise<HelmResult> {
  const args = ['template', options.release ?? 'wasmfleet', CHART_DIR];
  if (options.namespace) args.push('--namespace', options.namespace);
  if (options.includeCrds) args.push('--include-crds');
  if (options.values) args.push('-f', await valuesFile(options.values));
  return helm(args);
}

export async function valuesFile(values: Record<string, unknown>): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'wasmfleet-values-'));
  const file = path.join(dir, 'values.json');
  // JSON is YAML, and keeps numbers and booleans exactly as the test wrote them.
  await writeFile(file, JSON.stringify(values));
  return file;
}

export function parseManifests(text: string): Manifest[] {
  const manifests: Manifest[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) {
      throw new Error(`helm rendered invalid YAML: ${doc.errors.map((e) => e.message).join('; ')}`);
    }
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue;
    if (!isManifest(value))
      throw new Error(`helm rendered a document that is not an object: ${doc.toString()}`);
    manifests.push(value);
  }
  return manifests;
}

function isManifest(value: unknown): value is Manifest {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  const metadata = v.metadata as Record<string, unknown> | undefined;
  return typeof v.apiVersion === 'string' && typeof v.kind === 'string' && typeof metadata?.name === 'string';
}

export function find(manifests: readonly Manifest[], kind: string, nameSuffix = ''): Manifest {
  const found = manifests.filter((m) => m.kind === kind && m.metadata.name.endsWith(nameSuffix));
  if (found.length !== 1) {
    const all = manifests.map((m) => `${m.kind}/${m.metadata.name}`).join(', ');
    throw new Error(`expected one ${kind} named *${nameSuffix}, found ${found.length} among: ${all}`);
  }
  return found[0]!;
}

/** The operator container's environment (plain values) in rendered manifests. */
export function operatorEnv(manifests: readonly Manifest[]): Record<string, string> {
  const spec = find(manifests, 'Deployment', '-operator').spec as {
    template: { spec: { containers: { env?: { name: string; value?: string }[] }[] } };
  };
  return Object.fromEntries(
    (spec.template.spec.containers[0]?.env ?? []).map((e) => [e.name, e.value ?? '']),
  );
}

/** Every value on: Mosquitto, simulated devices, two replicas, a real device, extra settings. */
export const ALL_OPTIONS: Record<string, unknown> = {
  commonLabels: { team: 'edge' },
  imagePullSecrets: [{ name: 'regcred' }],
  operator: {
    replicas: 2,
    extraArgs: ['--workers', '8'],
    extraEnv: [{ name: 'EXTRA', value: '1' }],
    podAnnotations: { 'example.com/a': 'b' },
    podLabels: { tier: 'control' },
    nodeSelector: { 'kubernetes.io/os': 'linux' },
    tolerations: [{ key: 'edge', operator: 'Exists', effect: 'NoSchedule' }],
    priorityClassName: 'system-cluster-critical',
  },
  serviceAccount: { annotations: { 'example.com/owner': 'platform' } },
  broker: { caSecret: 'broker-ca' },
  mosquitto: {
    enabled: true,
    tls: { extraDnsNames: ['mqtt.example.com'] },
    auth: { devices: [{ name: 'pump-7' }, { name: 'gw-1', labels: { site: 'plant-1' } }] },
  },
  simulator: { enabled: true, replicas: 2, sensors: ['temperature', 'camera'] },
};
