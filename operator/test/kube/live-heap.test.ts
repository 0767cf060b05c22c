// SPDX-License-Identifier: Apache-2.0
// The live-heap gauge: the heap in use right after a major GC, which the soak fits for leaks.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { waitFor } from '@wasmfleet/test-support';
import { OperatorMetrics } from '../../src/kube/index.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

describe('live heap gauge', () => {
  it('/metrics reports the heap left after a major GC, and it tracks what stays alive', async () => {
    const metrics = new OperatorMetrics({ processMetrics: true });
    const live = async (): Promise<number | undefined> => {
      const line = (await metrics.text())
        .split('\n')
        .find((l) => l.startsWith('wasmfleet_nodejs_heap_live_bytes '));
      return line === undefined ? undefined : Number(line.split(' ')[1]);
    };
    gc();
    const before = await waitFor('a live-heap figure', live);
    const kept = Array.from({ length: 200_000 }, (_, i) => ({ i, s: `retained ${i}` }));
    gc();
    const after = await waitFor('a larger live heap', async () => {
      const v = await live();
      return v !== undefined && v > before + 8 * 1024 * 1024 ? v : undefined;
    });
    assert.ok(after > before, `${after} > ${before}`);
    assert.equal(kept.length, 200_000);
  });
});
