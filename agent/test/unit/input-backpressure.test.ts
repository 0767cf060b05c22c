// SPDX-License-Identifier: Apache-2.0
// When the agent stops reading QoS 0 inputs (input-backpressure.ts): pure counters and the
// socket's own "needs to drain" flag; the agent's 'drain' listener calls resume().
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { InputBackpressure } from '../../src/node/input-backpressure.ts';

describe('input backpressure', () => {
  it('holds a read while the socket needs to drain and lets it go on once it drained', async () => {
    // A socket that takes one chunk at a time and finishes each write only when told to.
    let finish: (() => void) | undefined;
    const socket = new Writable({
      highWaterMark: 8,
      write(_chunk, _enc, done) {
        finish = done;
      },
    });
    const backpressure = new InputBackpressure(100, () => socket.writableNeedDrain);
    socket.on('drain', () => backpressure.resume());
    let reads = 0;
    backpressure.admit(() => reads++);
    assert.equal(reads, 1, 'an empty socket holds nothing back');
    assert.equal(socket.write(Buffer.alloc(16)), false);
    backpressure.admit(() => reads++);
    assert.equal(reads, 1, 'the read waits while the socket is over its high-water mark');
    finish?.();
    await new Promise((r) => setImmediate(r));
    assert.equal(reads, 2, "the socket's 'drain' lets the held read go on");
  });

  it('holds a read while the functions have maxInFlight inputs and goes on when one is answered', () => {
    const backpressure = new InputBackpressure(2, () => false);
    backpressure.started(2);
    let reads = 0;
    backpressure.admit(() => reads++);
    assert.equal(reads, 0);
    backpressure.answered(1);
    assert.equal(reads, 1);
  });

  it('lets every held read go on when the agent stops, whatever the bounds say', () => {
    const backpressure = new InputBackpressure(1, () => true);
    let reads = 0;
    backpressure.admit(() => reads++);
    backpressure.admit(() => reads++);
    assert.equal(reads, 0);
    backpressure.releaseAll();
    assert.equal(reads, 2);
  });
});
