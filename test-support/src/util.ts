import { randomBytes } from 'node:crypto';

export { freePort, waitFor } from '@wasmfleet/local-stack';

/** A DNS-1123 name unique to this run, so tests sharing one API server never collide. */
export function uniqueName(prefix: string): string {
  const clean = prefix
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40);
  return `${clean || 'test'}-${randomBytes(4).toString('hex')}`;
}
