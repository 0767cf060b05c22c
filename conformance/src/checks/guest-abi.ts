// SPDX-License-Identifier: Apache-2.0
// The core-module guest ABI (docs/guest-abi.md): host imports, all-or-nothing calls, state that
// survives a restart, log lines on the logs topic.
import { expect, sleep, until, type Check, type CheckContext } from '../check.ts';
import { fnReport } from '../fleet.ts';
import { roundTrip } from './desired.ts';

async function probe(ctx: CheckContext, config: Record<string, string> = {}): Promise<string> {
  const node = ctx.node();
  await ctx.fleet.publishModule(ctx.guests.probe);
  await ctx.startAgent({ node });
  await ctx.fleet.publishDesired(node, 1, [ctx.fn('probe', ctx.guests.probe, { config })]);
  await ctx.fleet.running(node, 'probe', ctx.within(30_000));
  return node;
}

export const guestAbiChecks: readonly Check[] = [
  {
    name: 'abi.host-imports',
    title:
      'config_get, input_topic, log, set_error and emit behave as documented (an undeclared topic returns -1)',
    contract: 'docs/guest-abi.md#host-imports-module-wasmfleet_v1',
    async run(ctx) {
      const node = await probe(ctx, { GREETING: 'hello config' });
      await roundTrip(ctx, node, 'probe', 'c', 'hello config');
      await roundTrip(ctx, node, 'probe', 't', `sensors/${node}/probe`);
      const logs = await ctx.fleet.collectLogs('conformance', 'probe');
      await roundTrip(ctx, node, 'probe', 'l-log-me');
      await until(
        'the guest log line on the logs topic',
        () => logs.some((l) => l.text.includes('hello from guest') && l.node === node),
        ctx.within(10_000),
      );
      const out = await ctx.fleet.collect(`out/${node}/probe`);
      await ctx.fleet.publish(`sensors/${node}/probe`, 'u', 1);
      await until(
        'the return code of emit to an undeclared topic',
        () => out.messages.length > 0,
        ctx.within(10_000),
      );
      const code = out.messages[0]?.bytes;
      expect(
        code?.length === 4 && code.readInt32LE(0) === -1,
        `emit to an undeclared topic returned ${code?.toString('hex') ?? 'nothing'}, not -1`,
      );
      const before =
        fnReport(ctx.fleet.latestStatus(node) ?? { version: 1, node, state: 'online' }, 'probe')?.errors ?? 0;
      await ctx.fleet.publish(`sensors/${node}/probe`, 'e', 1);
      const s = await ctx.fleet.waitForStatus(
        node,
        'the set_error call counted',
        (x) => (fnReport(x, 'probe')?.errors ?? 0) > before,
        ctx.within(10_000),
      );
      expect(
        (fnReport(s, 'probe')?.lastError ?? '').includes('bad input'),
        `lastError ${JSON.stringify(fnReport(s, 'probe')?.lastError)} does not carry the guest's set_error message`,
      );
    },
  },
  {
    name: 'abi.all-or-nothing',
    title: 'outputs emitted by a call that then traps are discarded',
    contract: 'docs/guest-abi.md#host-imports-module-wasmfleet_v1',
    async run(ctx) {
      const node = await probe(ctx);
      const out = await ctx.fleet.collect(`out/${node}/probe`);
      await ctx.fleet.publish(`sensors/${node}/probe`, 'p-partial', 1);
      await ctx.fleet.waitForStatus(
        node,
        'the trapping call counted',
        (x) => (fnReport(x, 'probe')?.errors ?? 0) >= 1,
        ctx.within(10_000),
      );
      await roundTrip(ctx, node, 'probe', 'after');
      await sleep(300);
      expect(!out.texts().includes('p-partial'), 'an output of a call that trapped was published');
    },
  },
  {
    name: 'abi.state-survives-restart',
    title: 'state_set values survive a restart of the runtime',
    contract: 'docs/guest-abi.md#host-imports-module-wasmfleet_v1',
    async run(ctx) {
      const node = await probe(ctx);
      const out = await ctx.fleet.collect(`out/${node}/probe`);
      for (let i = 0; i < 3; i++) {
        await ctx.fleet.publish(`sensors/${node}/probe`, 's', 1);
        await until(`count ${i + 1}`, () => out.messages.length > i, ctx.within(10_000));
      }
      const agent = ctx.agents().at(-1);
      expect(agent !== undefined, 'no runtime');
      await agent.stop();
      await ctx.startAgent({ node, dataDir: agent.dataDir });
      await ctx.fleet.running(node, 'probe', ctx.within(30_000));
      await sleep(1_000);
      await ctx.fleet.publish(`sensors/${node}/probe`, 's', 1);
      await until('the count after the restart', () => out.messages.length > 3, ctx.within(20_000));
      const counts = out.messages.map((m) => (m.bytes.length === 4 ? m.bytes.readUInt32LE(0) : -1));
      expect(counts.join(',') === '1,2,3,4', `state counts ${counts.join(',')}; expected 1,2,3,4`);
    },
  },
];
