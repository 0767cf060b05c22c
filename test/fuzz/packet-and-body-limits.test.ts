// SPDX-License-Identifier: Apache-2.0
// The bounds on what a peer can make a WasmFleet process buffer, at volume:
// - MQTT packets (limitPacketSize, api/src/mqtt/packet-limit.ts): random streams of packets of
//   random sizes, cut into random chunks. A packet over the bound ends the connection with its
//   header read and nothing of it buffered; every packet within it parses exactly as without the
//   bound.
// - HTTP bodies (oci/src/http-fetch.ts): bodies of random sizes in random chunks; a prefix
//   read never takes more than its limit and one chunk, and returns exactly the prefix.
// - token services (realmProblem): credentials only to the registry's own host or domain, plain
//   http only where allowed.
// - URLs in errors and status (urlForLogs): no user, password or query value survives, whatever
//   characters they hold.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import mqttPacket from 'mqtt-packet';
import { urlForLogs } from '@wasmfleet/api';
import { isPacketTooLarge, limitPacketSize } from '@wasmfleet/api/mqtt';
import { readPrefix } from '../../oci/src/http-fetch.ts';
import { realmProblem } from '../../oci/src/registry-auth.ts';
import { FUZZ_SEED, check, runs } from './support/budget.ts';

interface Parsed {
  readonly packets: { topic?: string; length: number }[];
  readonly error: Error | undefined;
  readonly maxBuffered: number;
}

/** Feeds `chunks` to an mqtt-packet parser made with `options`, as mqtt.js does. */
function parse(chunks: readonly Buffer[], options: object): Parsed {
  const parser = mqttPacket.parser(options);
  const packets: { topic?: string; length: number }[] = [];
  let error: Error | undefined;
  let maxBuffered = 0;
  parser.on('packet', (p: mqttPacket.Packet) =>
    packets.push({ ...('topic' in p ? { topic: p.topic } : {}), length: p.length ?? 0 }),
  );
  parser.on('error', (e: Error) => (error ??= e));
  const internals = parser as unknown as { _list: { length: number } };
  for (const chunk of chunks) {
    parser.parse(chunk);
    maxBuffered = Math.max(maxBuffered, internals._list.length);
  }
  return { packets, error, maxBuffered };
}

/** A stream of PUBLISH packets with these payload sizes, cut at these points. */
const stream = fc
  .record({
    sizes: fc.array(fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 300, max: 5000 })), {
      minLength: 1,
      maxLength: 6,
    }),
    cuts: fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 40 }),
    max: fc.integer({ min: 64, max: 4000 }),
  })
  .map(({ sizes, cuts, max }) => {
    const bytes = Buffer.concat(
      sizes.map((n, i) =>
        mqttPacket.generate({
          cmd: 'publish',
          topic: `t/${i}`,
          payload: Buffer.alloc(n, i),
          qos: 0,
          dup: false,
          retain: false,
        }),
      ),
    );
    const chunks: Buffer[] = [];
    let at = 0;
    for (let i = 0; at < bytes.length; i++) {
      const n = cuts[i % cuts.length] ?? 1;
      chunks.push(bytes.subarray(at, at + n));
      at += n;
    }
    return { sizes, chunks, max };
  });

describe('fuzz: packet and body limits', () => {
  it('a packet over the bound ends parsing with its header read; packets within it parse as before', async () => {
    await check(
      'limitPacketSize',
      fc.property(stream, ({ sizes, chunks, max }) => {
        const bounded = parse(chunks, limitPacketSize({ protocolVersion: 4 }, max));
        const plain = parse(chunks, { protocolVersion: 4 });
        // Remaining Length of a QoS 0 PUBLISH on topic t/<i>: 2 + topic bytes + payload.
        const lengths = sizes.map((n, i) => 2 + `t/${i}`.length + n);
        const firstOver = lengths.findIndex((l) => l > max);
        const within = firstOver === -1 ? lengths.length : firstOver;
        assert.deepEqual(bounded.packets, plain.packets.slice(0, within));
        if (firstOver === -1) assert.equal(bounded.error, undefined);
        else {
          assert.ok(isPacketTooLarge(bounded.error), String(bounded.error));
          // It never held more than a packet within the bound and one chunk.
          assert.ok(
            bounded.maxBuffered <= max + 2 + 700 + 5,
            `buffered ${bounded.maxBuffered} with a bound of ${max}`,
          );
        }
      }),
      { numRuns: runs(3000), seed: FUZZ_SEED },
    );
  });

  it('a prefix of a body takes at most its limit and one chunk, and is exactly the prefix', async () => {
    await check(
      'readPrefix',
      fc.asyncProperty(
        fc.array(fc.uint8Array({ minLength: 1, maxLength: 2000 }), { maxLength: 20 }),
        fc.integer({ min: 0, max: 5000 }),
        async (parts, limit) => {
          let pulled = 0;
          let cancelled = false;
          const queue = [...parts];
          const body = new ReadableStream<Uint8Array>(
            {
              pull(controller) {
                const next = queue.shift();
                if (next === undefined) controller.close();
                else {
                  pulled += next.byteLength;
                  controller.enqueue(next);
                }
              },
              cancel() {
                cancelled = true;
              },
            },
            { highWaterMark: 0 },
          );
          const all = Buffer.concat(parts);
          const { bytes, truncated } = await readPrefix(new Response(body), limit);
          assert.deepEqual(Buffer.from(bytes), all.subarray(0, limit));
          assert.equal(truncated, all.length > limit);
          assert.ok(pulled <= limit + 2000, `read ${pulled} bytes for a limit of ${limit}`);
          if (truncated) assert.ok(cancelled, 'the rest of the body is cancelled');
        },
      ),
      { numRuns: runs(1000), seed: FUZZ_SEED },
    );
  });

  it('credentials go only to token services on the registry’s host or domain, plain http only where allowed', async () => {
    const label = fc.constantFrom('a', 'b', 'auth', 'registry', 'docker', 'io', 'com', 'example');
    const host = fc.array(label, { minLength: 1, maxLength: 4 }).map((l) => l.join('.'));
    await check(
      'realmProblem',
      fc.property(
        host,
        host,
        fc.constantFrom('https:', 'http:'),
        fc.boolean(),
        fc.boolean(),
        (registry, realmHost, protocol, withCredentials, httpAllowed) => {
          const realm = new URL(`${protocol}//${realmHost}/token`);
          const problem = realmProblem(registry, realm, withCredentials, () => httpAllowed);
          if (protocol === 'http:' && !httpAllowed) assert.match(problem ?? '', /plain http/);
          if (problem === undefined && withCredentials) {
            const parent = registry.split('.').slice(1).join('.');
            const own =
              realmHost === registry ||
              (registry.split('.').length >= 3 && (realmHost === parent || realmHost.endsWith(`.${parent}`)));
            assert.ok(own, `credentials of ${registry} would go to ${realmHost}`);
          }
          if (!withCredentials && (protocol === 'https:' || httpAllowed)) assert.equal(problem, undefined);
        },
      ),
      { numRuns: runs(3000), seed: FUZZ_SEED },
    );
  });

  it('a URL in an error or a status keeps no user, password or query value', async () => {
    // Secrets are marked so they can be looked for after encoding: the marker plus random text.
    const secret = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 }).map((s) => `SECRET${s}`);
    await check(
      'urlForLogs',
      fc.property(
        fc.constantFrom('http', 'https', 'mqtt', 'mqtts', 'ftp'),
        fc.option(secret),
        fc.option(secret),
        fc.array(fc.tuple(fc.stringMatching(/^[A-Za-z-]{1,12}$/), secret), { maxLength: 4 }),
        (scheme, user, password, query) => {
          const auth =
            user === null && password === null
              ? ''
              : `${encodeURIComponent(user ?? '')}${password === null ? '' : `:${encodeURIComponent(password)}`}@`;
          const search = query.length
            ? `?${query.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&')}`
            : '';
          const url = `${scheme}://${auth}registry.example:8443/v2/m.wasm${search}`;
          const shown = urlForLogs(url);
          assert.doesNotMatch(decodeURIComponent(shown), /SECRET/, `${url} was shown as ${shown}`);
          assert.match(shown, /registry\.example:8443\/v2\/m\.wasm/);
          for (const [k] of query) assert.ok(shown.includes(`${k}=***`), `${k} is named in ${shown}`);
        },
      ),
      { numRuns: runs(2000), seed: FUZZ_SEED },
    );
  });
});
