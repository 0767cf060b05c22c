// SPDX-License-Identifier: Apache-2.0
// The agent's integer reads for mqtt-packet's parser (packet-reads.ts) answer exactly what bl's
// own do, across chunk boundaries, and mqtt-packet parses MQTT 5 packets through them unchanged.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import BufferListStream from 'bl';
import mqttPacket from 'mqtt-packet';
import { installPacketReads } from '../../src/mqtt/packet-reads.ts';

const bytes = Buffer.from(Array.from({ length: 23 }, (_, i) => (i * 97 + 13) & 0xff));

/** The same bytes in chunks of 1, 2, 3, … so reads cross every kind of boundary. */
function chunked(): BufferListStream {
  const list = new BufferListStream();
  for (let at = 0, size = 1; at < bytes.length; at += size, size++)
    list.append(bytes.subarray(at, at + size));
  return list;
}

describe('integer reads for mqtt-packet', () => {
  installPacketReads();
  installPacketReads(); // idempotent: a second agent in the process installs nothing more

  it('read every offset as a contiguous Buffer would, across chunk boundaries', () => {
    const list = chunked();
    for (let at = 0; at < bytes.length; at++) {
      assert.equal(list.readUInt8(at), bytes.readUInt8(at), `readUInt8(${at})`);
      if (at + 2 <= bytes.length) assert.equal(list.readUInt16BE(at), bytes.readUInt16BE(at), `u16 ${at}`);
      if (at + 4 <= bytes.length) assert.equal(list.readUInt32BE(at), bytes.readUInt32BE(at), `u32 ${at}`);
    }
    assert.equal(list.readUInt8(), bytes.readUInt8(0), 'the offset defaults to 0');
  });

  it('fail outside the list the way bl does', () => {
    const list = chunked();
    assert.throws(() => list.readUInt8(bytes.length), RangeError);
    assert.throws(() => list.readUInt16BE(bytes.length - 1), RangeError);
    assert.throws(() => list.readUInt32BE(-1), RangeError);
  });

  it('let mqtt-packet parse an MQTT 5 PUBLISH with properties fed one byte at a time', () => {
    const sent = {
      cmd: 'publish' as const,
      topic: 'sensors/pump-7/flow',
      payload: Buffer.from('21.5'),
      qos: 1 as const,
      messageId: 4242,
      dup: false,
      retain: false,
      properties: { subscriptionIdentifier: [3, 70_000], userProperties: { a: 'b' } },
    };
    const wire = mqttPacket.generate(sent, { protocolVersion: 5 });
    const parser = mqttPacket.parser({ protocolVersion: 5 });
    const packets: mqttPacket.Packet[] = [];
    parser.on('packet', (p) => packets.push(p));
    parser.on('error', (e: Error) => assert.fail(e));
    for (const b of wire) parser.parse(Buffer.from([b]));
    assert.equal(packets.length, 1);
    const got = packets[0] as mqttPacket.IPublishPacket;
    assert.equal(got.topic, sent.topic);
    assert.equal(got.messageId, sent.messageId);
    assert.deepEqual(Buffer.from(got.payload as Buffer), sent.payload);
    const properties = got.properties ?? {};
    assert.deepEqual(properties.subscriptionIdentifier, [3, 70_000]);
    assert.deepEqual({ ...properties.userProperties }, { a: 'b' });
  });
});
