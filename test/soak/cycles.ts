// SPDX-License-Identifier: Apache-2.0
// One soak cycle, as a user would drive it: deploy a function, replace it with a new revision,
// roll out a revision whose module traps on every message (it crash-loops on the canary device
// until the operator rolls it back), then delete the function. Every step waits for the state a
// user would check with `wasmfleet get functions`, so a cycle only counts when the system got there.
import { waitFor } from '@wasmfleet/test-support';
import type { WasmFunction } from '@wasmfleet/api';
import { SOAK_LABEL, STEADY_MODULE, TRAP_MODULE, type Stack } from './stack.ts';

/** Generous: two cores shared with other test processes, and a trap rollout waits out a canary pause. */
const STEP_TIMEOUT_MS = 180_000;

export function functionManifest(
  stack: Stack,
  name: string,
  options: { module: string; threshold: number; canary?: boolean },
): unknown {
  return {
    apiVersion: 'wasmfleet.io/v1alpha1',
    kind: 'WasmFunction',
    metadata: { name },
    spec: {
      module: { configMap: { name: options.module, key: 'module.wasm' } },
      placement: {
        nodeSelector: { matchLabels: { [SOAK_LABEL]: stack.namespace } },
        sensors: ['temperature'],
      },
      inputs: [{ topic: 'sensors/{node}/temperature', qos: 1, format: 'senml' }],
      outputs: [{ topic: `alerts/{node}/${name}`, qos: 1 }],
      config: { THRESHOLD: String(options.threshold), HYSTERESIS: '1', SENSOR: 'temperature' },
      // 500 ms, not the example's 50 ms: the machine running the soak is shared and loaded.
      limits: { memory: '1Mi', timeout: '500ms' },
      rollout: options.canary
        ? { strategy: 'Canary', steps: [{ percent: 33, pause: '3s' }], maxErrorRate: 0.05 }
        : { strategy: 'Rolling', maxUnavailable: '100%' },
    },
  };
}

/** Every device runs the current revision, and the operator has seen the latest spec. */
export function settledReady(f: WasmFunction | undefined, devices: number): boolean {
  const s = f?.status;
  return (
    s !== undefined &&
    s.observedGeneration === f?.metadata.generation &&
    s.readyNodes === devices &&
    s.currentRevision !== undefined &&
    s.currentRevision === s.updateRevision &&
    s.phase === 'Ready'
  );
}

async function waitForFunction(
  stack: Stack,
  name: string,
  what: string,
  check: (f: WasmFunction | undefined) => boolean,
): Promise<WasmFunction | undefined> {
  let last: WasmFunction | undefined;
  try {
    const found = await waitFor(
      `${name}: ${what}`,
      async () => {
        last = await stack.fn(name);
        return check(last) ? { f: last } : undefined;
      },
      { timeoutMs: STEP_TIMEOUT_MS, intervalMs: 500 },
    );
    return found.f;
  } catch (error) {
    throw new Error(`${(error as Error).message}; last status: ${JSON.stringify(last?.status)}`, {
      cause: error,
    });
  }
}

export async function deployReady(stack: Stack, name: string, threshold: number): Promise<string> {
  await stack.apply(functionManifest(stack, name, { module: STEADY_MODULE, threshold }));
  const f = await waitForFunction(stack, name, `Ready on ${stack.nodes.length}`, (x) =>
    settledReady(x, stack.nodes.length),
  );
  return f?.status?.currentRevision ?? '';
}

export async function runCycle(stack: Stack, name: string): Promise<void> {
  const devices = stack.nodes.length;
  const first = await deployReady(stack, name, 30);
  // Replace: a config change is a new revision, rolled out to every device.
  await stack.apply(functionManifest(stack, name, { module: STEADY_MODULE, threshold: 31 }));
  const second = await waitForFunction(
    stack,
    name,
    'replaced by a new revision',
    (f) => settledReady(f, devices) && f?.status?.currentRevision !== first,
  );
  const stable = second?.status?.currentRevision;
  // Trap: the canary device crash-loops on every sensor reading; the operator rolls back.
  await stack.apply(functionManifest(stack, name, { module: TRAP_MODULE, threshold: 31, canary: true }));
  await waitForFunction(
    stack,
    name,
    'trapping canary rolled back, every device on the stable revision',
    (f) =>
      f?.status?.rollout?.phase === 'RolledBack' &&
      f.status.currentRevision === stable &&
      f.status.readyNodes === devices,
  );
  await stack.delete('wasmfunction', name);
  await waitFor(
    `${name}: gone from every device`,
    () =>
      stack.nodes.every((node) => !stack.monitor.status.get(node)?.functions?.some((x) => x.name === name))
        ? true
        : undefined,
    { timeoutMs: STEP_TIMEOUT_MS, intervalMs: 250 },
  );
}
