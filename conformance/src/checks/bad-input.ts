// SPDX-License-Identifier: Apache-2.0
// Bad inputs: payloads that break their declared format are counted and never reach the function;
// topics that break the rules fail that function alone.
import { expect, sleep, type Check } from '../check.ts';
import { fnReport } from '../fleet.ts';
import { roundTrip } from './desired.ts';
import { expectFailed } from './modules.ts';

export const badInputChecks: readonly Check[] = [
  {
    name: 'input.malformed-payloads',
    title:
      'inputs that are not valid JSON / SenML, not UTF-8, or over maxPayloadBytes are counted as malformed and never passed on; good ones are',
    contract: 'docs/mqtt-contract.md#inputs-and-outputs',
    async run(ctx) {
      const node = ctx.node();
      await ctx.fleet.publishModule(ctx.guests.probe);
      await ctx.startAgent({ node });
      const json = ctx.fn('json', ctx.guests.probe, {
        inputs: [{ topic: 'sensors/{node}/json', qos: 1, format: 'json' }],
      });
      const senml = ctx.fn('senml', ctx.guests.probe, {
        inputs: [{ topic: 'sensors/{node}/senml', qos: 1, format: 'senml' }],
      });
      await ctx.fleet.publishDesired(node, 1, [
        json,
        { ...senml, limits: { ...senml.limits, maxPayloadBytes: 256 } },
      ]);
      await ctx.fleet.running(node, 'json', ctx.within(30_000));
      await ctx.fleet.running(node, 'senml', ctx.within(30_000));
      const out = await ctx.fleet.collect(`out/${node}/+`);
      for (const bad of ['{"temp": 21', Buffer.from([0x7b, 0xff, 0xfe, 0x7d])])
        await ctx.fleet.publish(`sensors/${node}/json`, bad, 1);
      for (const bad of [
        '{"n":"t","v":1}',
        '[{"n":"t","v":"hot"}]',
        JSON.stringify([{ n: 'x', vs: 'y'.repeat(400) }]),
      ])
        await ctx.fleet.publish(`sensors/${node}/senml`, bad, 1);
      await roundTrip(ctx, node, 'json', '{"ok":true}');
      await roundTrip(ctx, node, 'senml', '[{"n":"temp","u":"Cel","v":21.5}]');
      const s = await ctx.fleet.waitForStatus(
        node,
        'malformed 2 (json) and 3 (senml)',
        (x) => fnReport(x, 'json')?.malformed === 2 && fnReport(x, 'senml')?.malformed === 3,
        ctx.within(15_000),
      );
      await sleep(500);
      const passedOn = out
        .texts()
        .filter((t) => !['{"ok":true}', '[{"n":"temp","u":"Cel","v":21.5}]'].includes(t));
      expect(
        passedOn.length === 0,
        `malformed inputs reached the function: ${JSON.stringify(passedOn.slice(0, 3))}`,
      );
      expect((fnReport(s, 'senml')?.lastError ?? '') !== '', 'no lastError names the malformed input');
    },
  },
  {
    name: 'input.invalid-topics',
    title:
      'a function whose topics break the rules (wildcard output, misplaced #, reserved prefix) fails alone: Failed, InvalidTopic',
    contract: 'docs/mqtt-contract.md#node-status-nodestatus',
    async run(ctx) {
      const node = ctx.node();
      await ctx.fleet.publishModule(ctx.guests.probe);
      await ctx.startAgent({ node });
      const p = ctx.guests.probe;
      await ctx.fleet.publishDesired(node, 1, [
        ctx.fn('echo', p),
        ctx.fn('wildout', p, { outputs: [{ topic: 'out/{node}/#', qos: 1, retain: false }] }),
        ctx.fn('midhash', p, { inputs: [{ topic: 'sensors/#/x', qos: 1, format: 'raw' }] }),
        ctx.fn('reserved', p, {
          outputs: [{ topic: 'wasmfleet/v1/nodes/{node}/desired', qos: 1, retain: false }],
        }),
      ]);
      for (const name of ['wildout', 'midhash', 'reserved'])
        await expectFailed(ctx, node, name, 'InvalidTopic');
      await roundTrip(ctx, node, 'echo', 'beside-bad-topics');
    },
  },
];
