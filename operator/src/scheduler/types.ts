// SPDX-License-Identifier: Apache-2.0
// The scheduler's own narrow view of functions and devices. It is deliberately decoupled from the
// CRD types in api/: an adapter maps WasmFunction/EdgeNode onto these, so placement logic can be
// tested (and benchmarked) without Kubernetes objects.

/** Kubernetes label-selector requirement operators (the subset that applies to labels). */
export type SelectorOperator = 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';

export interface SelectorRequirement {
  readonly key: string;
  readonly operator: SelectorOperator;
  readonly values?: readonly string[];
}

/** A Kubernetes `LabelSelector`: every matchLabels pair and every expression must hold. */
export interface LabelSelector {
  readonly matchLabels?: Readonly<Record<string, string>>;
  readonly matchExpressions?: readonly SelectorRequirement[];
}

export type TaintEffect = 'NoSchedule' | 'NoExecute';

export interface Taint {
  readonly key: string;
  readonly value?: string;
  readonly effect: TaintEffect;
}

/** Kubernetes toleration semantics; `tolerationSeconds` is not modelled (NoExecute evicts at once). */
export interface Toleration {
  readonly key?: string;
  readonly operator?: 'Equal' | 'Exists';
  readonly value?: string;
  readonly effect?: TaintEffect;
}

export type PlacementMode = 'Every' | 'Replicas';

export interface SchedulableFunction {
  /** `namespace/name`; also the deterministic tie-breaker between functions competing for capacity. */
  readonly key: string;
  readonly selector: LabelSelector;
  /** Sensors a device must report, all of them. */
  readonly sensors: readonly string[];
  readonly mode: PlacementMode;
  /** Replicas mode only; defaults to 1 like a Deployment. */
  readonly replicas?: number;
  /** Replicas mode only: spread evenly over the values of this node label. */
  readonly spread?: { readonly topologyKey: string };
  readonly tolerations: readonly Toleration[];
  readonly memoryBytes: number;
}

export interface NodeCapacity {
  /** How many functions the device may run at once. */
  readonly functions: number;
  readonly memoryBytes: number;
}

export interface SchedulableNode {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly sensors: readonly string[];
  readonly online: boolean;
  /** Epoch milliseconds; an offline node without it is treated as offline for longer than any grace. */
  readonly offlineSince?: number;
  /** Cordon: no new placements, existing ones stay. */
  readonly unschedulable: boolean;
  readonly taints: readonly Taint[];
  readonly capacity: NodeCapacity;
}

export interface SchedulerOptions {
  /** How long a Replicas assignment may sit on an offline node before it moves elsewhere. */
  readonly replicaGracePeriodMs: number;
}

/** Function key → node names it is assigned to. */
export type CurrentPlacement = ReadonlyMap<string, readonly string[]>;

export interface ScheduleInput {
  readonly functions: readonly SchedulableFunction[];
  readonly nodes: readonly SchedulableNode[];
  readonly current: CurrentPlacement;
  /** Epoch milliseconds; only compared with `offlineSince`. */
  readonly now: number;
  readonly options?: Partial<SchedulerOptions>;
}

export interface FunctionPlacement {
  readonly key: string;
  /** Assigned node names, sorted. */
  readonly nodes: readonly string[];
  /** How many nodes the function should be on: `replicas`, or every eligible node for Every. */
  readonly desired: number;
  /** Present when the function is short of `desired` (or Every has nowhere to go): why, for users. */
  readonly reason?: string;
}

/** An assignment this run took away, with the reason (material for a Kubernetes Event). */
export interface Removal {
  readonly function: string;
  readonly node: string;
  readonly reason: string;
}

/** Node names → count/memory of assigned functions. Zero entries are absent. */
export interface UsageSnapshot {
  readonly functions: ReadonlyMap<string, number>;
  readonly memoryBytes: ReadonlyMap<string, number>;
}

/** What `reschedule` needs to recompute only what a change affects. Treat as opaque. */
export interface SchedulerState {
  readonly functions: ReadonlyMap<string, SchedulableFunction>;
  readonly nodes: ReadonlyMap<string, SchedulableNode>;
  readonly usage: UsageSnapshot;
  /** Functions whose result can change without a change of their own (short, or replicas offline). */
  readonly watched: ReadonlySet<string>;
  readonly options: SchedulerOptions;
  readonly now: number;
}

export interface ScheduleResult {
  /** One entry per function, ordered by key. */
  readonly placements: ReadonlyMap<string, FunctionPlacement>;
  /** Sorted by function, then node. */
  readonly removals: readonly Removal[];
  /** When a Replicas grace period next expires: call `reschedule(result, { now })` then. */
  readonly nextWakeAt?: number;
  readonly state: SchedulerState;
}

export interface SchedulerChanges {
  readonly now?: number;
  readonly upsertNodes?: readonly SchedulableNode[];
  readonly removeNodes?: readonly string[];
  readonly upsertFunctions?: readonly SchedulableFunction[];
  readonly removeFunctions?: readonly string[];
}
