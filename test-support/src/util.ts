// SPDX-License-Identifier: Apache-2.0
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';

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

/** True when something accepts TCP connections on 127.0.0.1:`port`. */
export function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
