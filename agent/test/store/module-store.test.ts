// SPDX-License-Identifier: Apache-2.0
import assert from 'node:assert/strict';
import { readdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { once } from 'node:events';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fetchModule, httpSource, type ModuleSource } from '../../src/store/fetch-module.ts';
import { ModuleStore, StoreError, sha256Hex } from '../../src/store/module-store.ts';
import { fixture } from '../helpers/wasm.ts';
import { tempDir } from '../helpers/tmp.ts';

const echo = await fixture('healthy/echo.wat');
const digest = sha256Hex(echo);
const ref = { sha256: digest, size: echo.length };

describe('module store', () => {
  it('stores a module under its digest and returns the same bytes', async () => {
    await using dir = await tempDir();
    const store = new ModuleStore({ dir: dir.path });
    await store.put(digest, echo);
    assert.deepEqual(await store.get(digest), echo);
    assert.deepEqual(await store.list(), [digest]);
    const files = await readdir(path.join(dir.path, 'blobs', 'sha256'));
    assert.deepEqual(files, [digest], 'no temp files are left behind');
  });

  it('refuses bytes whose digest does not match, before anything can run them', async () => {
    await using dir = await tempDir();
    const store = new ModuleStore({ dir: dir.path });
    const tampered = echo.slice();
    tampered[tampered.length - 1]! ^= 1;
    await assert.rejects(
      store.put(digest, tampered),
      (e: unknown) => e instanceof StoreError && e.reason === 'DigestMismatch' && e.message.includes(digest),
    );
    assert.equal(await store.get(digest), undefined);
  });

  it('treats a corrupted cache entry as missing and fetches the module again', async () => {
    await using dir = await tempDir();
    const store = new ModuleStore({ dir: dir.path });
    await store.put(digest, echo);
    const file = path.join(dir.path, 'blobs', 'sha256', digest);
    const corrupt = echo.slice();
    corrupt[20]! ^= 0xff;
    await writeFile(file, corrupt);
    let fetched = 0;
    const source: ModuleSource = () => {
      fetched++;
      return Promise.resolve(echo);
    };
    assert.deepEqual(await fetchModule(store, ref, { sources: [source] }), echo);
    assert.equal(fetched, 1);
    assert.equal(store.stats.corruptEntries, 1);
    assert.deepEqual(await store.get(digest), echo, 'the refetched copy is stored');
  });

  it('a source serving tampered bytes is refused with DigestMismatch', async () => {
    await using dir = await tempDir();
    const store = new ModuleStore({ dir: dir.path });
    const tampered = echo.slice();
    tampered[9]! ^= 1;
    await assert.rejects(
      fetchModule(store, ref, { sources: [() => Promise.resolve(tampered)] }),
      (e: unknown) => e instanceof StoreError && e.reason === 'DigestMismatch',
    );
    assert.deepEqual(await store.list(), []);
  });

  it('removes blobs nothing references', async () => {
    await using dir = await tempDir();
    const store = new ModuleStore({ dir: dir.path });
    const other = await fixture('healthy/features.wat');
    await store.put(digest, echo);
    await store.put(sha256Hex(other), other);
    assert.deepEqual(await store.gc(new Set([digest])), [sha256Hex(other)]);
    assert.deepEqual(await store.list(), [digest]);
  });

  it('keeps within its size limit by evicting unreferenced modules, and says so when it cannot', async () => {
    await using dir = await tempDir();
    const other = await fixture('healthy/features.wat');
    const store = new ModuleStore({ dir: dir.path, maxTotalBytes: Math.max(echo.length, other.length) + 10 });
    await store.put(digest, echo);
    await store.put(sha256Hex(other), other); // evicts echo: nothing references it
    assert.deepEqual(await store.list(), [sha256Hex(other)]);
    await assert.rejects(
      store.put(digest, echo, new Set([sha256Hex(other)])),
      (e: unknown) => e instanceof StoreError && e.reason === 'StoreFull',
    );
  });

  it('refuses a module announced larger than the blob limit without downloading it', async () => {
    await using dir = await tempDir();
    const store = new ModuleStore({ dir: dir.path, maxBlobBytes: 1024 });
    let asked = false;
    await assert.rejects(
      fetchModule(
        store,
        { sha256: digest, size: 50 * 1024 * 1024 },
        { sources: [() => ((asked = true), Promise.resolve(echo))] },
      ),
      (e: unknown) => e instanceof StoreError && e.reason === 'ModuleTooLarge',
    );
    assert.equal(asked, false);
  });

  it('downloads from an http URL and verifies the digest', async () => {
    await using dir = await tempDir();
    const server = createServer((req, res) => {
      if (req.url === '/echo.wasm') res.end(echo);
      else res.writeHead(404).end();
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const { port } = server.address() as { port: number };
      const store = new ModuleStore({ dir: dir.path });
      const bytes = await fetchModule(
        store,
        { ...ref, url: `http://127.0.0.1:${port}/echo.wasm` },
        { sources: [httpSource] },
      );
      assert.deepEqual(new Uint8Array(bytes), echo);
      await assert.rejects(
        fetchModule(
          store,
          { sha256: 'a'.repeat(64), size: 10, url: `http://127.0.0.1:${port}/missing.wasm` },
          { sources: [httpSource] },
        ),
        /answered 404/,
      );
    } finally {
      server.close();
    }
  });
});
