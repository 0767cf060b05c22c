// SPDX-License-Identifier: Apache-2.0
// Offline: a runtime restarted while the broker is unreachable brings back its last functions
// from its own copy of the desired state and its module cache.
import { desiredTopic, moduleTopic } from '@wasmfleet/api';
import { sleep, type Check } from '../check.ts';
import { Fleet, sha256Hex } from '../fleet.ts';
import { roundTrip } from './desired.ts';

export const offlineChecks: readonly Check[] = [
  {
    name: 'offline.restart-from-cache',
    title:
      'restarted without a broker, it starts its last functions from its data directory; they serve once the broker is back, with the desired document and module gone from it',
    contract: 'docs/mqtt-contract.md#desired-state-desiredstate',
    async run(ctx) {
      const broker = await ctx.privateBroker();
      const fleet = await Fleet.connect(broker.url);
      ctx.onCleanup(() => fleet.close());
      const node = ctx.node();
      await fleet.publishModule(ctx.guests.probe);
      const first = await ctx.startAgent({ node, brokerUrl: broker.url });
      await fleet.publishDesired(node, 4, [ctx.fn('echo', ctx.guests.probe)]);
      await fleet.running(node, 'echo', ctx.within(30_000));
      await first.stop();
      // Nothing on the broker can give the function back now.
      await fleet.clearRetained(desiredTopic(node));
      await fleet.clearRetained(moduleTopic(sha256Hex(ctx.guests.probe)));
      await broker.stop();
      await ctx.startAgent({ node, brokerUrl: broker.url, dataDir: first.dataDir });
      await sleep(3_000);
      await broker.start();
      await fleet.waitForStatus(
        node,
        'echo Running at generation 4 again',
        (s) =>
          s.state === 'online' &&
          s.observedGeneration === 4 &&
          s.functions?.some((f) => f.name === 'echo' && f.phase === 'Running') === true,
        ctx.within(40_000),
      );
      await roundTrip({ ...ctx, fleet }, node, 'echo', 'back-from-cache');
    },
  },
];
