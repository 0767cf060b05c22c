// SPDX-License-Identifier: Apache-2.0
// Maps the CRDs onto the scheduler's narrow types (operator/src/scheduler/types.ts). Pure.
import { FUNCTION_DEFAULTS, parseQuantity, type EdgeNode, type WasmFunction } from '@wasmfleet/api';
import { namespacedKey } from '../kube/index.ts';
import type { SchedulableFunction, SchedulableNode } from '../scheduler/index.ts';

/** What a device offers when neither its spec nor its agent says (a small gateway). */
export const DEFAULT_CAPACITY = { functions: 16, memoryBytes: 256 * 1024 * 1024 } as const;

export function schedulableFunction(fn: WasmFunction): SchedulableFunction {
  const placement = fn.spec.placement ?? {};
  const mode = placement.mode ?? 'Every';
  return {
    key: namespacedKey(fn),
    selector: {
      ...(placement.nodeSelector?.matchLabels ? { matchLabels: placement.nodeSelector.matchLabels } : {}),
      ...(placement.nodeSelector?.matchExpressions
        ? { matchExpressions: placement.nodeSelector.matchExpressions }
        : {}),
    },
    sensors: placement.sensors ?? [],
    mode,
    ...(mode === 'Replicas' ? { replicas: placement.replicas ?? 1 } : {}),
    ...(mode === 'Replicas' && placement.spread
      ? { spread: { topologyKey: placement.spread.topologyKey } }
      : {}),
    tolerations: (placement.tolerations ?? []).map((t) => ({
      ...(t.key !== undefined ? { key: t.key } : {}),
      ...(t.operator !== undefined ? { operator: t.operator } : {}),
      ...(t.value !== undefined ? { value: t.value } : {}),
      ...(t.effect !== undefined ? { effect: t.effect } : {}),
    })),
    memoryBytes: parseQuantity(fn.spec.limits?.memory ?? FUNCTION_DEFAULTS.memory) ?? 0,
  };
}

export function schedulableNode(node: EdgeNode): SchedulableNode {
  const status = node.status ?? {};
  const online = status.phase === 'Online';
  // Offline since its Online condition turned False (Ready and lastHeartbeat: objects written
  // by operators before ADR 0023 and the Online condition).
  const onlineSince = status.conditions?.find(
    (c) => c.type === 'Online' || c.type === 'Ready',
  )?.lastTransitionTime;
  const since = onlineSince ?? status.lastHeartbeat;
  const lastSeen = since ? Date.parse(since) : undefined;
  const specCapacity = node.spec?.capacity;
  const reportedMemory = status.capacity?.memory ? parseQuantity(status.capacity.memory) : undefined;
  const specMemory = specCapacity?.memory ? parseQuantity(specCapacity.memory) : undefined;
  return {
    name: node.metadata.name ?? '',
    labels: node.metadata.labels ?? {},
    sensors: (status.sensors ?? []).map((s) => s.name),
    online,
    ...(!online && lastSeen !== undefined && !Number.isNaN(lastSeen) ? { offlineSince: lastSeen } : {}),
    unschedulable: node.spec?.unschedulable ?? false,
    taints: (node.spec?.taints ?? []).map((t) => ({
      key: t.key,
      effect: t.effect,
      ...(t.value !== undefined ? { value: t.value } : {}),
    })),
    capacity: {
      functions: specCapacity?.functions ?? status.capacity?.functions ?? DEFAULT_CAPACITY.functions,
      memoryBytes: specMemory ?? reportedMemory ?? DEFAULT_CAPACITY.memoryBytes,
    },
  };
}
