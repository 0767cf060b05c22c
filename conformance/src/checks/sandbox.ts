// SPDX-License-Identifier: Apache-2.0
// The sandbox: a runaway, a memory bomb, a trap or a broken module fails alone, with its reason,
// while the runtime and the functions beside it keep serving.
import { expect, sleep, until, type Check, type CheckContext } from '../check.ts';
import { fnReport } from '../fleet.ts';
import { roundTrip } from './desired.ts';
import { expectFailed } from './modules.ts';

/** Deploys `echo` (healthy) beside `name`, sends `name` `calls` inputs, waits for their errors. */
async function besideHealthy(
  ctx: CheckContext,
  name: string,
  bytes: Uint8Array,
  calls: number,
  timeoutMs = 50,
): Promise<string> {
  const node = ctx.node();
  await ctx.fleet.publishModule(ctx.guests.probe);
  await ctx.fleet.publishModule(bytes);
  await ctx.startAgent({ node });
  const bad = ctx.fn(name, bytes);
  await ctx.fleet.publishDesired(node, 1, [
    ctx.fn('echo', ctx.guests.probe),
    { ...bad, limits: { ...bad.limits, timeoutMs } },
  ]);
  await ctx.fleet.running(node, name, ctx.within(30_000));
  await ctx.fleet.running(node, 'echo', ctx.within(30_000));
  for (let i = 0; i < calls; i++) {
    await ctx.fleet.publish(`sensors/${node}/${name}`, `call-${i}`, 1);
    await sleep(100);
  }
  await ctx.fleet.waitForStatus(
    node,
    `${calls} failed calls of ${name}`,
    (s) => (fnReport(s, name)?.errors ?? 0) >= calls,
    ctx.within(30_000),
  );
  await roundTrip(ctx, node, 'echo', `beside-${name}`);
  return node;
}

export const sandboxChecks: readonly Check[] = [
  {
    name: 'sandbox.deadline',
    title:
      'a call that never returns is stopped at its deadline and counted as failed; other functions keep serving',
    contract: 'docs/guest-abi.md#limits-and-errors',
    async run(ctx) {
      await besideHealthy(ctx, 'spin', ctx.guests.loopForever, 2);
    },
  },
  {
    name: 'sandbox.memory-cap',
    title:
      'memory cannot grow past limits.memory (the call fails); initial memory above it fails the start: Failed, OutOfMemory',
    contract: 'docs/guest-abi.md#limits-and-errors',
    async run(ctx) {
      const node = await besideHealthy(ctx, 'bomb', ctx.guests.growBomb, 1, 1_000);
      await ctx.fleet.publishModule(ctx.guests.hugeInitialMemory);
      const echo = ctx.fn('echo', ctx.guests.probe);
      const bomb = ctx.fn('bomb', ctx.guests.growBomb);
      await ctx.fleet.publishDesired(node, 2, [
        echo,
        { ...bomb, limits: { ...bomb.limits, timeoutMs: 1_000 } },
        ctx.fn('huge', ctx.guests.hugeInitialMemory),
      ]);
      await expectFailed(ctx, node, 'huge', 'OutOfMemory');
    },
  },
  {
    name: 'sandbox.trap-acknowledged',
    title:
      'a trapping call is counted as failed and its input acknowledged: it is not delivered again after a restart',
    contract: 'docs/mqtt-contract.md#inputs-and-outputs',
    async run(ctx) {
      const node = ctx.node();
      await ctx.fleet.publishModule(ctx.guests.probe);
      const agent = await ctx.startAgent({ node });
      await ctx.fleet.publishDesired(node, 1, [ctx.fn('trap', ctx.guests.probe)]);
      await ctx.fleet.running(node, 'trap', ctx.within(30_000));
      // 'x' counts itself in the guest's state, then traps; 's' counts and answers the count.
      for (let i = 0; i < 3; i++) await ctx.fleet.publish(`sensors/${node}/trap`, `x-${i}`, 1);
      await ctx.fleet.waitForStatus(
        node,
        '3 failed calls',
        (s) => (fnReport(s, 'trap')?.errors ?? 0) >= 3,
        ctx.within(20_000),
      );
      await agent.stop();
      await ctx.startAgent({ node, dataDir: agent.dataDir });
      await ctx.fleet.running(node, 'trap', ctx.within(30_000));
      await sleep(2_000);
      const out = await ctx.fleet.collect(`out/${node}/trap`);
      await ctx.fleet.publish(`sensors/${node}/trap`, 's', 1);
      await until('the count', () => out.messages.length > 0, ctx.within(20_000));
      const count = out.messages[0]?.bytes ?? Buffer.alloc(0);
      const calls = count.length === 4 ? count.readUInt32LE(0) - 1 : -1;
      expect(
        calls === 3,
        `the trapping calls ran ${calls} times for 3 inputs: their inputs were not acknowledged (or state was lost)`,
      );
    },
  },
  {
    name: 'sandbox.broken-modules',
    title:
      'a missing import, a missing export or bytes that are not a module fail that function alone with its reason',
    contract: 'docs/mqtt-contract.md#node-status-nodestatus',
    async run(ctx) {
      const node = ctx.node();
      const g = ctx.guests;
      for (const bytes of [g.probe, g.missingImport, g.missingExport, g.invalid])
        await ctx.fleet.publishModule(bytes);
      await ctx.startAgent({ node });
      await ctx.fleet.publishDesired(node, 1, [
        ctx.fn('echo', g.probe),
        ctx.fn('noimport', g.missingImport),
        ctx.fn('noexport', g.missingExport),
        ctx.fn('garbage', g.invalid),
      ]);
      await expectFailed(ctx, node, 'noimport', 'MissingImport');
      await expectFailed(ctx, node, 'noexport', 'MissingExport');
      await expectFailed(ctx, node, 'garbage', 'InvalidModule');
      await ctx.fleet.running(node, 'echo', ctx.within(30_000));
      await roundTrip(ctx, node, 'echo', 'beside-broken');
    },
  },
];
