// SPDX-License-Identifier: Apache-2.0
// A broken runtime: the real agent, except that its module store keeps (and hands out) bytes
// whose digest does not match. It runs tampered modules: the kit's module.digest-mismatch-*
// checks must fail.
import { ModuleStore, StoreError } from '../../../agent/src/store/module-store.ts';
import { runAgent } from './intercept.ts';

const tampered = new Map<string, Uint8Array>();
// Kept to be called with .call(this, …) below.
// eslint-disable-next-line @typescript-eslint/unbound-method
const { put, get } = ModuleStore.prototype;
ModuleStore.prototype.put = async function (this: ModuleStore, digest, bytes, referenced) {
  try {
    await put.call(this, digest, bytes, referenced);
  } catch (error) {
    if (!(error instanceof StoreError) || error.reason !== 'DigestMismatch') throw error;
    tampered.set(digest, bytes);
  }
};
ModuleStore.prototype.get = async function (this: ModuleStore, digest) {
  return tampered.get(digest) ?? get.call(this, digest);
};
await runAgent();
