// SPDX-License-Identifier: Apache-2.0
// Desired state: apply, replace, remove; stale, foreign and invalid documents change nothing.
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { desiredTopic } from '@wasmfleet/api';
import { CheckFailure, expect, sleep, until, type Check, type CheckContext } from '../check.ts';
import { fnReport } from '../fleet.ts';

/** Publishes `payload` on `sensors/<node>/<name>` and waits for it (or `expected`) on `out/<node>/<name>`. */
export async function roundTrip(
  ctx: CheckContext,
  node: string,
  name: string,
  payload: string,
  expected = payload,
): Promise<void> {
  const out = await ctx.fleet.collect(`out/${node}/${name}`);
  // Publish again now and then: an input sent before the subscription existed would be lost.
  const end = Date.now() + ctx.within(20_000);
  while (!out.texts().includes(expected)) {
    if (Date.now() > end)
      throw new CheckFailure(
        `no output ${JSON.stringify(expected)} on out/${node}/${name} for input ${JSON.stringify(payload)}`,
      );
    await ctx.fleet.publish(`sensors/${node}/${name}`, payload);
    await sleep(500);
  }
}

/** Publishes `payload` and expects no output on out/<node>/<name> for `ms`. */
export async function noOutput(
  ctx: CheckContext,
  node: string,
  name: string,
  payload: string,
  ms = 1_500,
): Promise<void> {
  const out = await ctx.fleet.collect(`out/${node}/${name}`);
  await ctx.fleet.publish(`sensors/${node}/${name}`, payload);
  await sleep(ms);
  expect(
    out.messages.length === 0,
    `out/${node}/${name} got ${JSON.stringify(out.texts().slice(0, 3))}; expected nothing`,
  );
}

/** A started runtime running the probe as `echo` at generation `generation`. */
async function withEcho(ctx: CheckContext, generation = 1): Promise<string> {
  const node = ctx.node();
  await ctx.fleet.publishModule(ctx.guests.probe);
  await ctx.startAgent({ node });
  await ctx.fleet.publishDesired(node, generation, [ctx.fn('echo', ctx.guests.probe)]);
  await ctx.fleet.running(node, 'echo', ctx.within(30_000));
  return node;
}

export const desiredChecks: readonly Check[] = [
  {
    name: 'desired.apply',
    title:
      'runs the functions of its retained desired document, fetching the module from its topic, and reports the generation',
    contract: 'docs/mqtt-contract.md#desired-state-desiredstate',
    async run(ctx) {
      const node = await withEcho(ctx, 7);
      const s = await ctx.fleet.waitForStatus(
        node,
        'observedGeneration 7',
        (x) => x.observedGeneration === 7,
        ctx.within(10_000),
      );
      expect(fnReport(s, 'echo')?.revision === 'echo-1', 'the status does not name the revision it runs');
      await roundTrip(ctx, node, 'echo', 'hello');
    },
  },
  {
    name: 'desired.replace',
    title: 'a new revision takes over; no QoS 1 reading is lost or processed twice across the switch',
    contract: 'docs/mqtt-contract.md#desired-state-desiredstate',
    async run(ctx) {
      const node = await withEcho(ctx);
      const fn = ctx.fn('echo', ctx.guests.probe, { config: { GREETING: 'one' } });
      await ctx.fleet.publishDesired(node, 2, [fn]);
      await ctx.fleet.running(node, 'echo', ctx.within(30_000));
      const out = await ctx.fleet.collect(`out/${node}/echo`);
      const sent: string[] = [];
      let publishing = true;
      const publisher = (async () => {
        for (let i = 0; publishing; i++) {
          sent.push(`r-${i}`);
          await ctx.fleet.publish(`sensors/${node}/echo`, `r-${i}`);
          await sleep(5);
        }
      })();
      await until('readings before the switch', () => sent.length >= 30, ctx.within(10_000));
      await ctx.fleet.publishDesired(node, 3, [{ ...fn, revision: 'echo-2', config: { GREETING: 'two' } }]);
      await ctx.fleet.running(node, 'echo', ctx.within(30_000), 'echo-2');
      const at = sent.length;
      await until('readings after the switch', () => sent.length >= at + 30, ctx.within(10_000));
      publishing = false;
      await publisher;
      await until(
        'an output for every reading',
        () => sent.every((m) => out.texts().includes(m)),
        ctx.within(20_000),
      );
      await sleep(500);
      const outputs = out.texts().filter((t) => t.startsWith('r-'));
      const twice = outputs.filter((t, i) => outputs.indexOf(t) !== i);
      expect(
        twice.length === 0,
        `readings processed twice across the switch: ${twice.slice(0, 5).join(', ')}`,
      );
      await roundTrip(ctx, node, 'echo', 'c', 'two');
    },
  },
  {
    name: 'desired.remove',
    title: 'a function left out of the document is stopped and no longer reported',
    contract: 'docs/mqtt-contract.md#desired-state-desiredstate',
    async run(ctx) {
      const node = await withEcho(ctx);
      await ctx.fleet.publishDesired(node, 2, []);
      await ctx.fleet.waitForStatus(
        node,
        'no functions at generation 2',
        (s) => s.observedGeneration === 2 && (s.functions ?? []).length === 0,
        ctx.within(20_000),
      );
      await noOutput(ctx, node, 'echo', 'after-removal');
    },
  },
  {
    name: 'desired.same-again',
    title:
      'the same document delivered again (the operator resends one a device has not confirmed) changes nothing: the function is not restarted',
    contract: 'docs/mqtt-contract.md#desired-state-desiredstate',
    async run(ctx) {
      const node = await withEcho(ctx, 4);
      const before = fnReport(
        await ctx.fleet.waitForStatus(
          node,
          'echo Running at generation 4',
          (s) => s.observedGeneration === 4 && fnReport(s, 'echo')?.phase === 'Running',
          ctx.within(10_000),
        ),
        'echo',
      );
      for (let i = 0; i < 3; i++) await ctx.fleet.publishDesired(node, 4, [ctx.fn('echo', ctx.guests.probe)]);
      await sleep(2_000);
      await roundTrip(ctx, node, 'echo', 'after-the-same-document');
      const latest = ctx.fleet.latestStatus(node);
      const after = latest && fnReport(latest, 'echo');
      expect(
        after?.phase === 'Running' && after.since === before?.since && after.restarts === before.restarts,
        `echo was restarted by the same document: before ${JSON.stringify(before)}, after ${JSON.stringify(after)}`,
      );
    },
  },
  {
    name: 'desired.stale-generation',
    title: 'a document with a lower generation than the applied one is ignored',
    contract: 'docs/mqtt-contract.md#desired-state-desiredstate',
    async run(ctx) {
      const node = await withEcho(ctx, 5);
      await ctx.fleet.publishDesired(node, 3, []);
      await sleep(2_000);
      const s = ctx.fleet.latestStatus(node);
      expect(
        s?.observedGeneration === 5,
        `observedGeneration is ${String(s?.observedGeneration)} after a stale document`,
      );
      expect(fnReport(s, 'echo')?.phase === 'Running', 'echo stopped after a stale document');
      await roundTrip(ctx, node, 'echo', 'alive-still');
    },
  },
  {
    name: 'desired.bad-documents',
    title:
      'documents that are not JSON, fail the schema (names that are paths included) or name another node change nothing, and nothing is written outside the data directory',
    contract: 'docs/mqtt-contract.md#desired-state-desiredstate',
    async run(ctx) {
      const node = await withEcho(ctx);
      const fn = ctx.fn('echo', ctx.guests.probe);
      const topic = desiredTopic(node);
      for (const bad of [
        'not json',
        '{}',
        JSON.stringify({ version: 1, node, generation: 9, functions: [{ ...fn, inputs: [] }] }),
        JSON.stringify({
          version: 1,
          node,
          generation: 9,
          functions: [{ ...fn, namespace: '..', name: '../../../../escape' }],
        }),
        JSON.stringify({ version: 1, node, generation: 9, functions: [{ ...fn, name: 'a/../../b' }] }),
        JSON.stringify({ version: 1, node: 'someone-else', generation: 9, functions: [] }),
        JSON.stringify({ version: 2, node, generation: 9, functions: [] }),
      ])
        await ctx.fleet.publishRaw(topic, bad);
      await sleep(2_000);
      const s = ctx.fleet.latestStatus(node);
      expect(
        s?.observedGeneration === 1,
        `observedGeneration is ${String(s?.observedGeneration)} after bad documents`,
      );
      await roundTrip(ctx, node, 'echo', 'alive-still');
      const entries = await readdir(ctx.dir, { recursive: true, withFileTypes: true });
      const outside = entries
        .filter((e) => e.isFile())
        .map((e) => path.relative(ctx.dir, path.join(e.parentPath, e.name)))
        .filter((f) => !f.startsWith(`data${path.sep}`) && !f.startsWith(`logs${path.sep}`));
      expect(outside.length === 0, `files written outside the data directory: ${outside.join(', ')}`);
    },
  },
];
