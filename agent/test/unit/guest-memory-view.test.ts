// SPDX-License-Identifier: Apache-2.0
// Host functions read and write a guest's memory through one cached view (guest-memory.ts), which
// they refresh only when the guest grew its memory (the old buffer is detached then) or a new
// instance was attached: never a stale view, never a call into the engine per access.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GuestMemory, HostTrap } from '../../src/runtime/core/guest-memory.ts';

const PAGE = 64 * 1024;

describe('guest memory view', () => {
  it('reads and writes the memory as it is after the guest grew it', () => {
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 4 });
    const guest = new GuestMemory();
    guest.attach(memory);
    guest.write(100, Uint8Array.of(1, 2, 3));
    assert.throws(() => guest.write(PAGE + 10, Uint8Array.of(9)), HostTrap, 'beyond one page');
    memory.grow(1); // what the guest's memory.grow does: the old buffer is detached
    guest.write(PAGE + 10, Uint8Array.of(9));
    assert.deepEqual([...guest.read(100, 3)], [1, 2, 3], 'what was written before the growth is there');
    assert.deepEqual([...guest.read(PAGE + 10, 1)], [9]);
    assert.deepEqual([...new Uint8Array(memory.buffer, PAGE + 10, 1)], [9], 'written to the live memory');
    assert.throws(
      () => guest.read(2 * PAGE - 1, 2),
      /out of bounds: 2 bytes at 131071 \(memory is 131072 bytes\)/,
    );
  });

  it("a newly attached memory is the one read and written, not the previous instance's", () => {
    const first = new WebAssembly.Memory({ initial: 1 });
    const second = new WebAssembly.Memory({ initial: 1 });
    const guest = new GuestMemory();
    guest.attach(first);
    guest.write(0, Uint8Array.of(1));
    guest.attach(second); // the first instance's memory is still attached to it, not detached
    assert.deepEqual([...guest.read(0, 1)], [0]);
    guest.write(0, Uint8Array.of(2));
    assert.deepEqual([...new Uint8Array(second.buffer, 0, 1)], [2]);
    assert.deepEqual([...new Uint8Array(first.buffer, 0, 1)], [1]);
  });

  it('addresses above 2 GiB (negative as i32) and lengths past the end are traps, not clamped views', () => {
    const guest = new GuestMemory();
    guest.attach(new WebAssembly.Memory({ initial: 1 }));
    assert.throws(() => guest.read(-8, 4), HostTrap);
    assert.throws(() => guest.read(PAGE - 2, 4), HostTrap);
    assert.throws(() => guest.write(PAGE, Uint8Array.of(1)), HostTrap);
    assert.equal(guest.read(PAGE, 0).length, 0, 'an empty read at the end is allowed');
  });
});
