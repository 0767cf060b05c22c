// SPDX-License-Identifier: Apache-2.0
// CR specs through the operator's pure cores. For every manifest, the TypeScript twin of the CRD
// (validateWasmFunction / validateEdgeNode) must answer without throwing, each issue naming a path
// and a reason. For every manifest it admits, what the operator derives must not throw either:
// scheduling view, config resolution, rollout settings and decision, status, and the wire
// document, which the agent must accept and be able to run (no topic it would refuse).
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import fc from 'fast-check';
import {
  expandNode,
  functionTopicProblem,
  parseDesiredState,
  validateEdgeNode,
  validateWasmFunction,
  type EdgeNode,
  type WasmFunction,
} from '@wasmfleet/api';
import { resolveConfig } from '../../operator/src/controllers/config-values.ts';
import { rolloutControls, statusFromDecision } from '../../operator/src/controllers/rollout-plan.ts';
import { desiredFunction } from '../../operator/src/fleet/desired-function.ts';
import { schedulableFunction, schedulableNode } from '../../operator/src/fleet/scheduling-view.ts';
import { decideRollout, rolloutSettings } from '../../operator/src/rollout/index.ts';
import { schedule } from '../../operator/src/scheduler/index.ts';
import { REGRESSION_SEEDS, check, runs } from './support/budget.ts';
import { edgeNode, exampleManifests, wasmFunction } from './support/cr-arbitraries.ts';
import type { Json } from './support/mutate.ts';
import { Tally } from './support/tally.ts';

const T0 = 1_750_000_000_000;
let examples: { functions: Json[]; nodes: Json[] };

function issuesText(issues: readonly { path: string; message: string }[]): string {
  for (const i of issues) assert.ok(i.message.length > 3, `an issue without a message at ${i.path}`);
  // The first issue names the input's failure reason (combinations would all count as distinct).
  const first = issues[0];
  return first ? `${first.path.replace(/\[\d+\]/g, '[]')}: ${first.message}` : '';
}

/** What the API server stores: null values in objects pruned (they mean "not set"). */
function pruneNulls(value: Json): Json {
  if (Array.isArray(value)) return value.map(pruneNulls);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([, v]) => v !== null)
      .map(([k, v]) => [k, pruneNulls(v)]),
  );
}

/** Everything the operator derives from an admitted WasmFunction, on a small fleet. */
function derive(fn: WasmFunction, nodes: readonly EdgeNode[]): void {
  const sf = schedulableFunction(fn);
  assert.ok(Number.isFinite(sf.memoryBytes) && sf.memoryBytes >= 0, `memoryBytes ${sf.memoryBytes}`);
  const config = resolveConfig('ns', fn.spec, {
    configMap: () => ({ data: { FROM_CM: '1' } }),
    secret: () => ({ data: { FROM_SECRET: Buffer.from('s').toString('base64') } }),
  });
  assert.ok(config.ok);
  const desired = desiredFunction({
    namespace: 'ns',
    name: fn.metadata.name ?? 'x',
    spec: fn.spec,
    module: { sha256: 'a'.repeat(64), size: 100 },
    config: config.config,
  });
  // What the operator sends, the agent must accept — and be able to run.
  const parsed = parseDesiredState(
    JSON.stringify({ version: 1, node: 'dev-1', generation: 1, functions: [desired] }),
  );
  assert.ok(
    parsed.ok,
    `the agent refuses the document the operator built: ${parsed.ok ? '' : parsed.errors.join('; ')}`,
  );
  for (const i of desired.inputs)
    assert.equal(functionTopicProblem(expandNode(i.topic, 'dev-1'), 'input'), undefined);
  for (const o of desired.outputs)
    assert.equal(functionTopicProblem(expandNode(o.topic, 'dev-1'), 'output'), undefined);

  const placed = schedule({
    functions: [sf],
    nodes: nodes.map(schedulableNode),
    current: new Map(),
    now: T0,
  });
  const targets = (placed.placements.get(sf.key)?.nodes ?? []).map((name, n) => ({
    name,
    labels: nodes.find((x) => x.metadata.name === name)?.metadata.labels ?? {},
    online: true,
    assigned: n % 2 ? 'r0' : undefined,
    report: n % 3 ? { revision: 'r0', phase: 'Running', invocations: 10, errors: n } : undefined,
  }));
  const decision = decideRollout({
    functionKey: sf.key,
    settings: rolloutSettings(fn.spec.rollout),
    currentRevision: 'r0',
    updateRevision: desired.revision,
    targets,
    progress: undefined,
    controls: rolloutControls(fn, desired.revision),
    now: T0,
  });
  statusFromDecision(decision, false);
}

describe('fuzz: CR specs through the operator cores', () => {
  before(async () => {
    examples = await exampleManifests();
  });

  for (const seed of [undefined, ...REGRESSION_SEEDS]) {
    const label = seed === undefined ? 'fresh seed' : `seed ${seed}`;
    const scale = seed === undefined ? 1 : 0.1;

    it(`WasmFunction: the CRD twin never throws; admitted specs never break the operator (${label})`, async (t) => {
      const tally = new Tally('WasmFunction cores', seed);
      const nodes = examples.nodes.map(
        (n) => ({ ...(n as object), status: { phase: 'Online' } }) as unknown as EdgeNode,
      );
      let admitted = 0;
      await check(
        'WasmFunction cores',
        fc.property(wasmFunction('fz', examples.functions), (obj) => {
          const issues = validateWasmFunction(obj);
          tally.record(issues.length === 0 ? undefined : issuesText(issues));
          if (issues.length > 0) return;
          admitted++;
          derive(pruneNulls(obj) as unknown as WasmFunction, nodes);
        }),
        { numRuns: runs(4000 * scale), ...(seed ? { seed } : {}) },
      );
      tally.report((s) => t.diagnostic(`${s}\n  admitted: ${admitted}`));
      assert.ok(admitted > 0, 'the generator never produced an admissible WasmFunction');
    });

    it(`EdgeNode: the CRD twin never throws; admitted nodes map onto the scheduler (${label})`, async (t) => {
      const tally = new Tally('EdgeNode cores', seed);
      await check(
        'EdgeNode cores',
        fc.property(edgeNode('n1', examples.nodes), (obj) => {
          const issues = validateEdgeNode(obj);
          tally.record(issues.length === 0 ? undefined : issuesText(issues));
          if (issues.length > 0) return;
          const node = schedulableNode(pruneNulls(obj) as unknown as EdgeNode);
          assert.ok(Number.isFinite(node.capacity.memoryBytes) && node.capacity.memoryBytes >= 0);
          assert.ok(Number.isInteger(node.capacity.functions) && node.capacity.functions >= 0);
        }),
        { numRuns: runs(2000 * scale), ...(seed ? { seed } : {}) },
      );
      tally.report((s) => t.diagnostic(s));
    });
  }
});
