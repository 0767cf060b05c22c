// SPDX-License-Identifier: Apache-2.0
// A tiny fleet simulator: every tick the rollout decides, then each online device reports what its
// document said one tick earlier (a device needs a tick to switch). It stops when the rollout is
// complete, or when it has been rolled back and every device runs the stable revision again.
import { decideRollout } from '../../src/rollout/index.ts';
import type {
  DeviceReport,
  RolloutControls,
  RolloutDecision,
  RolloutInput,
  RolloutSettings,
  TargetDevice,
} from '../../src/rollout/index.ts';
import { KEY, NEW, NO_CONTROLS, OLD, T0, fleet, running } from './fixtures.ts';

export interface SimOptions {
  readonly settings: RolloutSettings;
  readonly targets?: readonly TargetDevice[];
  readonly n?: number;
  readonly maxTicks?: number;
  readonly tickMs?: number;
  readonly currentRevision?: string | undefined;
  /** What a device reports after running `revision` for `ticks` ticks (default: Running, no errors). */
  readonly behaviour?: (name: string, revision: string, ticks: number) => DeviceReport;
  /** Stop after maxTicks instead of throwing when the rollout has not settled (e.g. paused). */
  readonly allowUnsettled?: boolean;
  readonly online?: (name: string, tick: number) => boolean;
  readonly controls?: (tick: number) => RolloutControls;
  /** Called with every decision, for invariant checks. */
  readonly check?: (decision: RolloutDecision, input: RolloutInput, tick: number) => void;
}

export interface SimResult {
  readonly last: RolloutDecision;
  readonly targets: readonly TargetDevice[];
  readonly ticks: number;
  /** Every device that was ever assigned the update revision. */
  readonly everUpdated: ReadonlySet<string>;
  readonly events: readonly string[];
}

export function simulate(options: SimOptions): SimResult {
  const tickMs = options.tickMs ?? 1000;
  const behaviour = options.behaviour ?? ((_: string, revision: string) => running(revision));
  let targets: readonly TargetDevice[] = options.targets ?? fleet(options.n ?? 10);
  let progress: RolloutInput['progress'];
  const everUpdated = new Set<string>();
  const events: string[] = [];
  const maxTicks = options.maxTicks ?? 500;
  // When each device started running what it runs now, to model start-up time.
  const since = new Map<string, { revision: string; tick: number }>();
  let last: RolloutDecision | undefined;
  for (let tick = 0; ; tick++) {
    if (tick >= maxTicks) {
      if (options.allowUnsettled === true && last) return { last, targets, ticks: tick, everUpdated, events };
      throw new Error(`rollout did not settle within ${maxTicks} ticks`);
    }
    const input: RolloutInput = {
      functionKey: KEY,
      settings: options.settings,
      currentRevision: 'currentRevision' in options ? options.currentRevision : OLD,
      updateRevision: NEW,
      targets,
      progress,
      controls: options.controls?.(tick) ?? NO_CONTROLS,
      now: T0 + tick * tickMs,
    };
    const decision = decideRollout(input);
    last = decision;
    options.check?.(decision, input, tick);
    for (const e of decision.events) events.push(e.reason);
    for (const [name, revision] of decision.assignments) if (revision === NEW) everUpdated.add(name);
    const settled =
      decision.complete ||
      ((decision.phase === 'RolledBack' || decision.phase === 'Aborted') &&
        targets.every((t) => t.report?.revision === OLD && t.report.phase === 'Running'));
    if (settled) return { last: decision, targets, ticks: tick, everUpdated, events };
    progress = decision.progress;
    targets = targets.map((t) => {
      const online = options.online?.(t.name, tick + 1) ?? true;
      // Offline devices keep their retained (stale) report; online ones report their document.
      let report = t.report;
      if (online && t.assigned !== undefined) {
        const started = since.get(t.name);
        if (started?.revision !== t.assigned) since.set(t.name, { revision: t.assigned, tick: tick + 1 });
        report = behaviour(t.name, t.assigned, tick + 1 - (since.get(t.name)?.tick ?? tick + 1));
      }
      return { ...t, online, report, assigned: decision.assignments.get(t.name) };
    });
  }
}
