// SPDX-License-Identifier: Apache-2.0
// Node status: online with its settings, heartbeats, and offline on a clean stop and by last will.
import { expect, sleep, type Check } from '../check.ts';

export const statusChecks: readonly Check[] = [
  {
    name: 'status.online',
    title: 'publishes a retained, schema-valid online status with its heartbeat interval and agent version',
    contract: 'docs/mqtt-contract.md#node-status-nodestatus',
    async run(ctx) {
      const node = ctx.node();
      await ctx.startAgent({ node, heartbeatSeconds: 2 });
      const s = await ctx.fleet.waitForStatus(
        node,
        'state online',
        (x) => x.state === 'online',
        ctx.within(20_000),
      );
      expect(
        s.heartbeatIntervalSeconds === 2,
        `heartbeatIntervalSeconds is ${s.heartbeatIntervalSeconds}, not the --heartbeat 2 it was given`,
      );
      expect(typeof s.agentVersion === 'string' && s.agentVersion !== '', 'no agentVersion');
      expect(s.heartbeatAt !== undefined && s.startedAt !== undefined, 'no heartbeatAt or startedAt');
    },
  },
  {
    name: 'status.heartbeat',
    title: 'publishes a new heartbeat every --heartbeat seconds',
    contract: 'docs/mqtt-contract.md#node-status-nodestatus',
    async run(ctx) {
      const node = ctx.node();
      await ctx.startAgent({ node, heartbeatSeconds: 1 });
      await ctx.fleet.waitForStatus(node, 'state online', (x) => x.state === 'online', ctx.within(20_000));
      const beats = new Set<string>();
      const end = Date.now() + 4_500;
      while (Date.now() < end) {
        const at = ctx.fleet.latestStatus(node)?.heartbeatAt;
        if (at !== undefined) beats.add(at);
        await sleep(50);
      }
      expect(beats.size >= 3, `${beats.size} distinct heartbeats in 4.5 s with --heartbeat 1`);
    },
  },
  {
    name: 'status.clean-stop',
    title: 'on SIGTERM publishes the offline document itself and exits 0 within 15 s',
    contract: 'docs/mqtt-contract.md#session',
    async run(ctx) {
      const node = ctx.node();
      const agent = await ctx.startAgent({ node });
      await ctx.fleet.waitForStatus(node, 'state online', (x) => x.state === 'online', ctx.within(20_000));
      const code = await agent.stop(ctx.within(15_000));
      expect(code === 0, `exit ${String(code)} after SIGTERM`);
      const s = await ctx.fleet.waitForStatus(
        node,
        'state offline',
        (x) => x.state === 'offline',
        ctx.within(5_000),
      );
      expect(
        JSON.stringify(s) === JSON.stringify({ version: 1, node, state: 'offline' }),
        `the offline document is ${JSON.stringify(s)}`,
      );
    },
  },
  {
    name: 'status.last-will',
    title: 'a runtime killed without a goodbye is marked offline by its retained last will',
    contract: 'docs/mqtt-contract.md#session',
    async run(ctx) {
      const node = ctx.node();
      const agent = await ctx.startAgent({ node });
      await ctx.fleet.waitForStatus(node, 'state online', (x) => x.state === 'online', ctx.within(20_000));
      await agent.kill();
      await ctx.fleet.waitForStatus(
        node,
        'state offline (last will)',
        (x) => x.state === 'offline',
        ctx.within(10_000),
      );
    },
  },
];
