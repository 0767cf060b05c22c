// SPDX-License-Identifier: Apache-2.0
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { grayConvert, prng } from '../../src/kernels.ts';
import { type Harness, dec, enc, loadExample } from '../helpers/harness.ts';

function ppm(w: number, h: number, rgb: Uint8Array, comment = ''): Uint8Array {
  const header = enc.encode(`P6\n${comment ? `# ${comment}\n` : ''}${w} ${h}\n255\n`);
  const out = new Uint8Array(header.length + rgb.length);
  out.set(header);
  out.set(rgb, header.length);
  return out;
}

function splitPgm(bytes: Uint8Array): { header: string; pixels: Uint8Array } {
  let newlines = 0;
  let i = 0;
  while (newlines < 3) if (bytes[i++] === 0x0a) newlines++;
  return { header: dec.decode(bytes.subarray(0, i)), pixels: bytes.subarray(i) };
}

function randomBytes(n: number, seed: number): Uint8Array {
  const rnd = prng(seed);
  return Uint8Array.from({ length: n }, () => Math.floor(rnd() * 256));
}

describe('grayscale example (C, PPM/RGBA → PGM)', () => {
  let fn: Harness;
  before(async () => {
    fn = await loadExample('grayscale');
  });
  after(() => fn.close());

  it('converts known colours with BT.601 weights', async () => {
    const rgb = Uint8Array.from([255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255, 0, 0, 0, 128, 128, 128]);
    const [out] = await fn.ok(ppm(3, 2, rgb, 'camera 1'));
    const { header, pixels } = splitPgm(out!.payload);
    assert.equal(header, 'P5\n3 2\n255\n');
    assert.deepEqual([...pixels], [77, 149, 29, 255, 0, 128]);
  });

  it('matches the JS reference on a 320×240 frame', async () => {
    const rgb = randomBytes(320 * 240 * 3, 3);
    const expected = new Uint8Array(320 * 240);
    grayConvert(rgb, expected, 320 * 240, 3);
    const [out] = await fn.ok(ppm(320, 240, rgb));
    // Outputs come as Buffers (the agent's pool); the bytes are what count.
    assert.deepEqual(new Uint8Array(splitPgm(out!.payload).pixels), expected);
  });

  it('accepts raw RGBA frames when WIDTH and HEIGHT are configured', async () => {
    const rgba = await loadExample('grayscale', { config: { WIDTH: '64', HEIGHT: '48' } });
    try {
      const frame = randomBytes(64 * 48 * 4, 4);
      const expected = new Uint8Array(64 * 48);
      grayConvert(frame, expected, 64 * 48, 4);
      const [out] = await rgba.ok(frame);
      const { header, pixels } = splitPgm(out!.payload);
      assert.equal(header, 'P5\n64 48\n255\n');
      assert.deepEqual(new Uint8Array(pixels), expected);
      assert.match(await rgba.fails(frame.subarray(1)), /WIDTH\*HEIGHT\*4/);
    } finally {
      await rgba.close();
    }
  });

  it('rejects what is not an 8-bit P6 frame', async () => {
    assert.match(await fn.fails('P3\n1 1\n255\n0 0 0\n'), /binary PPM \(P6\)/);
    assert.match(await fn.fails('P6\n2 2\n65535\n'), /maxval 255/);
    assert.match(await fn.fails(ppm(4, 4, new Uint8Array(10))), /truncated/);
    assert.match(await fn.fails('P6\nx y\n'), /malformed PPM header/);
  });
});
