// SPDX-License-Identifier: Apache-2.0
// The bridge hears every desired document on the broker, its own included (to notice other
// writers). Since ADR 0045 the echo of what it just published is handed on as the very object it
// published, without parsing it again; a document someone else wrote to the same topic must still
// be parsed and handed on as what they wrote. On Mosquitto, the broker the chart ships.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import mqtt from 'mqtt';
import { desiredTopic, type DesiredFunction, type DesiredState } from '@wasmfleet/api';
import { startMosquitto, waitFor, type Mosquitto } from '@wasmfleet/test-support';
import { FleetBridge } from '../../src/bridge/fleet-bridge.ts';

const entry = (revision: string): DesiredFunction => ({
  namespace: 'ns',
  name: 'f',
  revision,
  module: { sha256: 'a'.repeat(64), size: 8 },
  inputs: [{ topic: 't', qos: 1, format: 'raw' }],
  outputs: [],
  config: {},
  limits: { memoryBytes: 65_536, timeoutMs: 10 },
});

describe('desired documents coming back from the broker', () => {
  let broker: Mosquitto;
  let bridge: FleetBridge;
  const seen: DesiredState[] = [];

  before(async () => {
    broker = await startMosquitto();
    bridge = await FleetBridge.connect({ url: broker.url, syncQuietMs: 50 }, (b) => {
      b.on('desired', (doc) => seen.push(doc));
    });
  });
  after(async () => {
    await bridge.close();
    await broker.dispose();
  });

  it('hands on its own echo as the object it published, and parses what another client wrote', async () => {
    const ours: DesiredState = { version: 1, node: 'd1', generation: 1, functions: [entry('r1')] };
    await bridge.publishDesired(ours);
    const echo = await waitFor('the echo', () => seen.find((d) => d.node === 'd1'));
    assert.equal(echo, ours, 'the same object, not a parsed copy');

    const theirs: DesiredState = { version: 1, node: 'd1', generation: 1, functions: [entry('r0')] };
    const other = await mqtt.connectAsync(broker.url, { protocolVersion: 4 });
    try {
      await other.publishAsync(desiredTopic('d1'), JSON.stringify(theirs), { qos: 1, retain: true });
    } finally {
      await other.endAsync();
    }
    const overwrite = await waitFor('the other writer', () =>
      seen.find((d) => d.node === 'd1' && d.functions[0]?.revision === 'r0'),
    );
    assert.notEqual(overwrite, ours);
    assert.deepEqual(overwrite, theirs, 'what the other client wrote, parsed');
  });
});
