// SPDX-License-Identifier: Apache-2.0
// Delivery: QoS 1 inputs are acknowledged only after they were processed (so none is lost when
// the runtime dies), and each reading runs each matching function once, whatever copies the
// broker sends for overlapping subscriptions.
import { expect, sleep, until, type Check } from '../check.ts';
import { fnReport } from '../fleet.ts';

const SLOW_MS = 40;

/** Resolves once `progress()` reaches `goal`; rejects when it has not moved for `stallMs`. */
async function untilStalled(progress: () => number, goal: number, stallMs: number): Promise<void> {
  let last = -1;
  let since = Date.now();
  for (;;) {
    const now = progress();
    if (now >= goal) return;
    if (now !== last) {
      last = now;
      since = Date.now();
    } else if (Date.now() - since > stallMs) throw new Error(`stalled at ${now} of ${goal}`);
    await sleep(100);
  }
}

export const deliveryChecks: readonly Check[] = [
  {
    name: 'qos1.ack-after-process',
    title:
      'a runtime killed while QoS 1 readings wait loses none of them: after its restart each has an output',
    contract: 'docs/mqtt-contract.md#inputs-and-outputs',
    async run(ctx) {
      const node = ctx.node();
      await ctx.fleet.publishModule(ctx.guests.probe);
      const agent = await ctx.startAgent({ node });
      const slow = ctx.fn('slow', ctx.guests.probe);
      // A generous deadline: a call that overran would be a failed call, acknowledged without output.
      await ctx.fleet.publishDesired(node, 1, [{ ...slow, limits: { ...slow.limits, timeoutMs: 5_000 } }]);
      await ctx.fleet.running(node, 'slow', ctx.within(30_000));
      const out = await ctx.fleet.collect(`out/${node}/slow`);
      const readings = (wave: number) => Array.from({ length: 40 }, (_, i) => `w${SLOW_MS}:${wave}-${i}`);
      const sent = readings(1);
      for (const m of sent) await ctx.fleet.publish(`sensors/${node}/slow`, m, 1);
      await until('the first outputs', () => out.messages.length > 0, ctx.within(20_000));
      // Each call takes 40 ms: a second wave sent now is still waiting when the runtime dies.
      for (const m of readings(2)) {
        sent.push(m);
        await ctx.fleet.publish(`sensors/${node}/slow`, m, 1);
      }
      await sleep(200);
      await agent.kill();
      const done = new Set(out.texts()).size;
      await ctx.startAgent({ node, dataDir: agent.dataDir });
      try {
        await untilStalled(
          () => sent.filter((m) => out.texts().includes(m)).length,
          sent.length,
          ctx.within(20_000),
        );
      } catch {
        const missing = sent.filter((m) => !out.texts().includes(m));
        expect(
          false,
          `${missing.length} of ${sent.length} QoS 1 readings never got an output after the runtime was killed with ${done} done and restarted: they were acknowledged before they were processed (first missing: ${missing[0] ?? ''})`,
        );
      }
    },
  },
  {
    name: 'once-per-reading.overlapping-filters',
    title:
      'each reading runs each matching function exactly once with overlapping +, # and exact filters (MQTT 5: one copy per subscription from Mosquitto)',
    contract: 'docs/mqtt-contract.md#inputs-and-outputs',
    async run(ctx) {
      const node = ctx.node();
      await ctx.fleet.publishModule(ctx.guests.probe);
      await ctx.startAgent({ node });
      const fn = (name: string, topics: string[]) =>
        ctx.fn(name, ctx.guests.probe, {
          inputs: topics.map((topic) => ({ topic, qos: 1 as const, format: 'raw' as const })),
        });
      const functions = [
        fn('wide', ['sensors/{node}/+']),
        fn('exact', ['sensors/{node}/probe']),
        fn('hash', ['sensors/{node}/#']),
        fn('both', ['sensors/{node}/+', 'sensors/{node}/probe']),
      ];
      await ctx.fleet.publishDesired(node, 1, functions);
      await ctx.fleet.waitForStatus(
        node,
        'four functions Running',
        (s) => functions.every((f) => fnReport(s, f.name)?.phase === 'Running'),
        ctx.within(30_000),
      );
      const outs = await Promise.all(functions.map((f) => ctx.fleet.collect(`out/${node}/${f.name}`)));
      const sent = Array.from({ length: 50 }, (_, i) => `reading-${i}`);
      for (const m of sent) await ctx.fleet.publish(`sensors/${node}/probe`, m, 1);
      await until(
        'an output of every function for every reading',
        () => outs.every((o) => sent.every((m) => o.texts().includes(m))),
        ctx.within(20_000),
      );
      await sleep(1_000); // copies land right behind the first
      for (const [i, f] of functions.entries()) {
        const n = outs[i]?.messages.length ?? 0;
        expect(
          n === sent.length,
          `${f.name} (${f.inputs.map((x) => x.topic).join(', ')}) published ${n} outputs for ${sent.length} readings`,
        );
      }
    },
  },
];
