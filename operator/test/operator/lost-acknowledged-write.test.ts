// SPDX-License-Identifier: Apache-2.0
// Regression: a 3-node nats-server cluster that lost a node acknowledged a retained desired
// document it had not stored (fresh-clone CI on 2bb9511, 2026-12-07). The first publish of the
// update timed out ("unable to store retained message … timeout after 5 s"); the reconcile's retry
// got a PUBACK, though the store had timed out again, and the device got the document live. The
// survivors kept the older one retained, and the operator, holding a PUBACK and no reconnect,
// never read it again. Now a refused publish or a slow PUBACK makes the operator read the retained
// documents a while later, as a reconnect does (ADR 0055, 2026-12-07). Mosquitto does not lose
// writes, so another client puts the older document back once the device has the update, which
// is what the broker would have held.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import mqtt from 'mqtt';
import { desiredTopic, type DesiredState } from '@wasmfleet/api';
import { startFaultProxy, waitFor, type FaultProxy } from '@wasmfleet/test-support';
import { brokerAcl, retainedDesired, type BrokerAcl } from './broker-state.ts';
import { functionYaml, siteAlertSpec, startHarness, type Harness } from './harness.ts';

/** Long enough that the older document is back before the operator reads, on a loaded machine. */
const REREAD_MS = 12_000;

/** Retains `doc` on its device's desired topic, as a broker that lost the later write holds it. */
async function putBack(url: string, doc: DesiredState): Promise<void> {
  const rogue = await mqtt.connectAsync(url, { protocolVersion: 5, reconnectPeriod: 0 });
  await rogue.publishAsync(desiredTopic(doc.node), JSON.stringify(doc), { qos: 1, retain: true });
  await rogue.endAsync();
}

/** Broker trouble around the update's publish: begun before it is applied, ended after. */
interface Trouble {
  begin(): Promise<void>;
  end(): Promise<void>;
}

/**
 * Applies an update in `trouble`, waits until the device runs it, puts the older document back
 * and expects the operator to notice and publish the current one above both generations.
 */
async function expectHealed(h: Harness, log: string[], trouble: Trouble): Promise<void> {
  const device = await h.device('d', { labels: { site: 'a' }, heartbeatSeconds: 1 });
  await h.apply(functionYaml('temp-alert', siteAlertSpec('30')));
  await h.waitForFunction('temp-alert', 'Ready 1/1', (f) => f.status?.ready === '1/1', 60_000);
  const first = device.desired();
  assert.ok(first);
  await trouble.begin();
  await h.apply(functionYaml('temp-alert', siteAlertSpec('40')));
  await trouble.end();
  await waitFor('the device to get the update', () =>
    device.desired()?.functions[0]?.config.THRESHOLD === '40' ? true : undefined,
  );
  const current = device.desired()?.functions[0]?.revision;
  const acknowledged = device.desired()?.generation ?? 0;
  await putBack(h.broker.url, first);

  const healed = await waitFor(
    'the broker to retain the current revision again',
    async () => {
      const doc = await retainedDesired(h.broker.url, device.node);
      return doc?.functions[0]?.revision === current ? doc : undefined;
    },
    { timeoutMs: REREAD_MS + 30_000, intervalMs: 500 },
  ).catch((error: unknown) => {
    throw new Error(`${(error as Error).message}; log:\n${log.slice(-15).join('\n')}`, { cause: error });
  });
  assert.ok(
    healed.generation > acknowledged,
    `republished above generation ${acknowledged} (got ${healed.generation})`,
  );
  assert.ok(
    log.some((l) =>
      l.includes(`holds generation ${first.generation} of the desired document of ${device.node}`),
    ),
    `the operator says what it found; log:\n${log.slice(-15).join('\n')}`,
  );
}

describe('operator: a retained write the broker acknowledged after a refused publish is checked', () => {
  let h: Harness;
  let acl: BrokerAcl;
  const log: string[] = [];
  const setAcl = (lines: string[]) => acl.set(h.broker.pid, lines);
  before(async () => {
    acl = await brokerAcl('op-lost-ack');
    h = await startHarness(
      'op-lost-ack',
      { settings: { publishTimeoutMs: 2_000 }, log: (line: string) => log.push(line) },
      { extraConfig: acl.extraConfig },
    );
    await h.restartOperator({ broker: { url: h.broker.url, syncQuietMs: 100, rereadAfterMs: REREAD_MS } });
    await h.moduleConfigMap('temp-module');
  });
  after(() => h.close());

  it('reads the documents again after the refusal and puts the current one back', async () => {
    await expectHealed(h, log, {
      begin: () => setAcl(['topic readwrite #', `topic deny ${desiredTopic(h.nodeName('d'))}`]),
      end: async () => {
        await waitFor('the broker to refuse the update', () =>
          log.some((l) => l.includes('reconcile failed') && l.includes('Not authorized')) ? true : undefined,
        );
        await setAcl(['topic readwrite #']);
      },
    });
  });
});

describe('operator: a retained write the broker acknowledged slowly is checked', () => {
  let h: Harness;
  let proxy: FaultProxy;
  const log: string[] = [];
  before(async () => {
    h = await startHarness('op-slow-ack', { log: (line: string) => log.push(line) });
    const { hostname, port } = new URL(h.broker.url);
    proxy = await startFaultProxy({ host: hostname, port: Number(port) });
    await h.restartOperator({
      broker: {
        url: `mqtt://${proxy.address}`,
        syncQuietMs: 100,
        rereadAfterMs: REREAD_MS,
        slowAckMs: 1_000,
      },
    });
    await h.moduleConfigMap('temp-module');
  });
  after(async () => {
    await h.close();
    await proxy.close();
  });

  it('reads the documents again after a PUBACK that took over slowAckMs', async () => {
    await expectHealed(h, log, {
      // Each way, so a PUBACK comes 1.6 s after its publish: slow, within the publish timeout.
      // It stays on: going back to 'pass' would let new bytes overtake delayed ones.
      begin: () => {
        proxy.setMode({ latencyMs: 800 });
        return Promise.resolve();
      },
      end: () => Promise.resolve(),
    });
  });
});
