// SPDX-License-Identifier: Apache-2.0
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { generateMaze, mazeBfs, mazeToText } from '../../src/kernels.ts';
import { type Harness, loadExample } from '../helpers/harness.ts';

interface Solved {
  reachable: boolean;
  steps?: number;
  visited: number;
  path?: string;
}

/** Follows `path` from S and checks it stays on open cells and ends on G. */
function walk(text: string, path: string): boolean {
  const rows = text.trimEnd().split('\n');
  let y = rows.findIndex((r) => r.includes('S'));
  let x = rows[y]!.indexOf('S');
  for (const move of path) {
    if (move === 'U') y--;
    else if (move === 'D') y++;
    else if (move === 'L') x--;
    else x++;
    const cell = rows[y]?.[x];
    if (cell === undefined || cell === '#') return false;
  }
  return rows[y]![x] === 'G';
}

describe('maze example (C, BFS)', () => {
  let fn: Harness;
  before(async () => {
    fn = await loadExample('maze', { memoryBytes: 32 * 1024 * 1024 });
  });
  after(() => fn.close());

  it('finds a shortest path on a small grid', async () => {
    const text = 'S..#....\n.#.#.##.\n.#...#..\n.####.#.\n......#G\n';
    const [out] = (await fn.json(text)) as Solved[];
    assert.ok(out);
    assert.equal(out.reachable, true);
    assert.equal(out.steps, 15);
    assert.equal(out.path?.length, 15);
    assert.ok(walk(text, out.path ?? ''), 'the path is legal and ends at G');
  });

  it('agrees with the JS reference on a 512×512 maze', async () => {
    const maze = generateMaze(512, 512, 7);
    const text = mazeToText(maze);
    const expected = mazeBfs(
      maze.grid,
      512,
      512,
      maze.start,
      maze.goal,
      new Int32Array(512 * 512),
      new Int32Array(512 * 512),
    );
    const [out] = (await fn.json(text)) as Solved[];
    assert.equal(out?.steps, expected);
    assert.ok(walk(text, out.path ?? ''));
  });

  it('reports unreachable goals and honours INCLUDE_PATH=false', async () => {
    const [out] = (await fn.json('S#.\n##.\n..G\n')) as Solved[];
    assert.deepEqual(out, { reachable: false, visited: 1 });
    const quiet = await loadExample('maze', { config: { INCLUDE_PATH: 'false' } });
    try {
      assert.deepEqual(await quiet.json('S.G\n'), [{ reachable: true, steps: 2, visited: 3 }]);
    } finally {
      await quiet.close();
    }
  });

  it('rejects malformed mazes with a clear error', async () => {
    assert.match(await fn.fails(''), /empty maze/);
    assert.match(await fn.fails('S..\n..\n..G\n'), /same width/);
    assert.match(await fn.fails('...\n..G\n'), /one 'S'/);
    assert.match(await fn.fails('S.S\n..G\n'), /more than one 'S'/);
    // The function keeps working after errors (no leaked state or memory).
    assert.equal(((await fn.json('SG\n')) as Solved[])[0]?.steps, 1);
  });
});
