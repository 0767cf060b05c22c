// SPDX-License-Identifier: Apache-2.0
// Runs the checks one after another against fresh processes of the runtime under test, on one
// Mosquitto, and turns each into a result: pass, or fail with what the runtime did instead.
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { DesiredFunction } from '@wasmfleet/api';
import { startMosquitto, type Mosquitto } from '@wasmfleet/test-support';
import { startAgentUnderTest, type AgentUnderTest } from './agent-under-test.ts';
import { CheckFailure, type Check, type CheckContext } from './check.ts';
import { CHECKS } from './checks/index.ts';
import { Fleet, sha256Hex } from './fleet.ts';
import { assembleGuests, type Guests } from './guests.ts';

export interface RunOptions {
  /** The command that starts the runtime; the kit appends the documented flags. */
  readonly agentCmd: string;
  /** Names (or `area.` prefixes) to run; all when empty. */
  readonly only?: readonly string[];
  readonly skip?: readonly string[];
  /** Multiplies every deadline (a slow device, a loaded machine). */
  readonly timeoutScale?: number;
  /** Keep each check's directory (logs, data) instead of removing it. */
  readonly keep?: boolean;
  readonly onResult?: (result: CheckResult) => void;
}

export interface CheckResult {
  readonly name: string;
  readonly title: string;
  readonly contract: string;
  readonly status: 'pass' | 'fail';
  readonly durationMs: number;
  /** Why it failed. */
  readonly detail?: string;
  /** The last lines the runtime printed, when it failed. */
  readonly agentLog?: string;
}

export interface ConformanceReport {
  readonly agentCmd: string;
  readonly broker: string;
  readonly startedAt: string;
  readonly durationMs: number;
  readonly results: readonly CheckResult[];
  readonly passed: number;
  readonly failed: number;
}

const PER_CHECK_BUDGET_MS = 180_000;

function selected(check: Check, only: readonly string[], skip: readonly string[]): boolean {
  const hit = (names: readonly string[]): boolean =>
    names.some((n) => check.name === n || (n.endsWith('.') && check.name.startsWith(n)));
  return (only.length === 0 || hit(only)) && !hit(skip);
}

export function selectChecks(only: readonly string[] = [], skip: readonly string[] = []): Check[] {
  const unknown = [...only, ...skip].filter(
    (n) => !CHECKS.some((c) => c.name === n || (n.endsWith('.') && c.name.startsWith(n))),
  );
  if (unknown.length > 0) throw new Error(`no check is named ${unknown.join(', ')}; list them with --list`);
  return CHECKS.filter((c) => selected(c, only, skip));
}

export async function runConformance(options: RunOptions): Promise<ConformanceReport> {
  const checks = selectChecks(options.only, options.skip);
  const started = Date.now();
  const work = await mkdtemp(path.join(tmpdir(), 'wasmfleet-conformance-'));
  const broker = await startMosquitto();
  const fleet = await Fleet.connect(broker.url);
  const guests = await assembleGuests();
  const results: CheckResult[] = [];
  try {
    for (const [i, check] of checks.entries()) {
      const result = await runOne(check, i, { ...options, work, broker, fleet, guests });
      results.push(result);
      options.onResult?.(result);
    }
  } finally {
    await fleet.close();
    await broker.dispose();
    if (!options.keep) await rm(work, { recursive: true, force: true });
  }
  const failed = results.filter((r) => r.status === 'fail').length;
  return {
    agentCmd: options.agentCmd,
    broker: 'Mosquitto 2 (MQTT 5), started by the kit',
    startedAt: new Date(started).toISOString(),
    durationMs: Date.now() - started,
    results,
    passed: results.length - failed,
    failed,
  };
}

interface Shared extends RunOptions {
  readonly work: string;
  readonly broker: Mosquitto;
  readonly fleet: Fleet;
  readonly guests: Guests;
}

async function runOne(check: Check, index: number, shared: Shared): Promise<CheckResult> {
  const dir = path.join(shared.work, `${String(index).padStart(2, '0')}-${check.name}`);
  await mkdir(dir, { recursive: true });
  const scale = shared.timeoutScale ?? 1;
  const agents: AgentUnderTest[] = [];
  const cleanups: (() => Promise<void>)[] = [];
  const prefix = `cf-${index}-${Date.now().toString(36)}`;
  const ctx: CheckContext = {
    broker: shared.broker,
    fleet: shared.fleet,
    guests: shared.guests,
    dir,
    node: (suffix = 'd') => `${prefix}-${suffix}`,
    within: (ms) => Math.round(ms * scale),
    agents: () => agents,
    onCleanup: (cleanup) => cleanups.push(cleanup),
    startAgent: async (start) => {
      const agent = await startAgentUnderTest(
        shared.agentCmd,
        {
          ...start,
          brokerUrl: start.brokerUrl ?? shared.broker.url,
          dataDir: start.dataDir ?? path.join(dir, 'data', start.node),
        },
        path.join(dir, 'logs'),
      );
      agents.push(agent);
      return agent;
    },
    privateBroker: async () => {
      const broker = await startMosquitto();
      cleanups.push(() => broker.dispose());
      return broker;
    },
    fn: (name, bytes, overrides = {}) => defaultFunction(name, bytes, overrides),
  };
  const t0 = Date.now();
  let failure: string | undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      check.run(ctx),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new CheckFailure(`did not finish within ${Math.round((PER_CHECK_BUDGET_MS * scale) / 1000)} s`),
            ),
          PER_CHECK_BUDGET_MS * scale,
        );
      }),
    ]);
    failure = schemaFailures(shared.fleet, ctx);
  } catch (error) {
    failure = error instanceof CheckFailure ? error.message : `the check itself failed: ${String(error)}`;
  }
  clearTimeout(timer);
  const agentLog = failure === undefined ? undefined : await tailOfLogs(agents);
  for (const agent of agents) await agent.stop(5_000).catch(() => undefined);
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  return {
    name: check.name,
    title: check.title,
    contract: check.contract,
    status: failure === undefined ? 'pass' : 'fail',
    durationMs: Date.now() - t0,
    ...(failure === undefined ? {} : { detail: failure }),
    ...(agentLog ? { agentLog } : {}),
  };
}

/** Every status document a runtime publishes must pass the wire schema, in every check. */
function schemaFailures(fleet: Fleet, ctx: CheckContext): string | undefined {
  for (const agent of ctx.agents()) {
    const invalid = fleet.invalidStatus.get(agent.node);
    if (invalid && invalid.length > 0)
      return `${invalid.length} status documents of ${agent.node} failed the wire schema, e.g. ${invalid[0] ?? ''}`;
  }
  return undefined;
}

async function tailOfLogs(agents: readonly AgentUnderTest[]): Promise<string> {
  const logs = await Promise.all(agents.map(async (a) => (await a.log()).split('\n').slice(-15).join('\n')));
  return logs.join('\n---\n').slice(-4000);
}

function defaultFunction(
  name: string,
  bytes: Uint8Array,
  overrides: Partial<DesiredFunction>,
): DesiredFunction {
  return {
    namespace: 'conformance',
    name,
    revision: `${name}-1`,
    module: { sha256: sha256Hex(bytes), size: bytes.length },
    inputs: [{ topic: `sensors/{node}/${name}`, qos: 1, format: 'raw' }],
    outputs: [{ topic: `out/{node}/${name}`, qos: 1, retain: false }],
    config: {},
    limits: { memoryBytes: 16 * 1024 * 1024, timeoutMs: 100 },
    ...overrides,
  };
}
