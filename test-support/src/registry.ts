// SPDX-License-Identifier: Apache-2.0
// A real OCI distribution registry (Debian's docker-registry, distribution v2) on a free loopback
// port, with storage in a temp dir; optionally behind htpasswd (bcrypt) Basic auth or the token
// (Bearer) auth flow with a token service the test provides.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { spawnManaged } from './processes.ts';
import { freePort, waitFor } from './util.ts';

export interface Registry {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** `127.0.0.1:<port>`: the registry part of references (`${host}/org/name:tag`). */
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  log(): Promise<string>;
  /** Stops the registry and deletes its storage. */
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

export interface RegistryOptions {
  /** Basic auth with one user (htpasswd file, bcrypt as distribution requires). */
  readonly htpasswd?: { readonly user: string; readonly password: string };
  /**
   * Token auth: the registry answers 401 with a Bearer challenge naming `realm`, and accepts
   * JWTs signed by the key of `certificatePem` (RS256, the certificate in the `x5c` header).
   */
  readonly token?: {
    readonly realm: string;
    readonly service: string;
    readonly issuer: string;
    readonly certificatePem: string;
  };
}

const REGISTRY_BIN = process.env.WASMFLEET_DOCKER_REGISTRY ?? '/usr/bin/docker-registry';
const HTPASSWD_BIN = process.env.WASMFLEET_HTPASSWD ?? '/usr/bin/htpasswd';

const run = promisify(execFile);

export async function startRegistry(options: RegistryOptions = {}): Promise<Registry> {
  if (options.htpasswd && options.token)
    throw new Error('startRegistry: choose htpasswd or token auth, not both');
  const port = await freePort();
  const dataDir = await mkdtemp(path.join(tmpdir(), 'wasmfleet-registry-'));
  const logFile = path.join(dataDir, 'registry.log');
  const auth: string[] = [];
  if (options.htpasswd) {
    const file = path.join(dataDir, 'htpasswd');
    // -B: bcrypt, the only hash distribution accepts; -b: password from argv (test secret).
    const { stdout } = await run(HTPASSWD_BIN, [
      '-nbB',
      options.htpasswd.user,
      options.htpasswd.password,
    ]).catch((error: unknown) => {
      throw new Error(`could not run ${HTPASSWD_BIN} (Debian package apache2-utils)`, { cause: error });
    });
    await writeFile(file, stdout.trim() + '\n', { mode: 0o600 });
    auth.push('auth:', '  htpasswd:', '    realm: wasmfleet-test', `    path: ${file}`);
  }
  if (options.token) {
    const bundle = path.join(dataDir, 'token-ca.pem');
    await writeFile(bundle, options.token.certificatePem);
    auth.push(
      'auth:',
      '  token:',
      `    realm: ${JSON.stringify(options.token.realm)}`,
      `    service: ${JSON.stringify(options.token.service)}`,
      `    issuer: ${JSON.stringify(options.token.issuer)}`,
      `    rootcertbundle: ${bundle}`,
    );
  }
  const configFile = path.join(dataDir, 'config.yml');
  await writeFile(
    configFile,
    [
      'version: 0.1',
      'log:',
      '  level: info',
      '  accesslog:',
      '    disabled: false',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${path.join(dataDir, 'storage')}`,
      '  delete:',
      '    enabled: true',
      'http:',
      `  addr: 127.0.0.1:${port}`,
      // A fixed secret silences the "generating a random secret" warning; loopback only.
      '  secret: wasmfleet-test-only',
      'health:',
      '  storagedriver:',
      '    enabled: false',
      ...auth,
      '',
    ].join('\n'),
  );

  // Keep REGISTRY_* variables of the caller's environment from overriding this config.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('REGISTRY_')));
  const proc = spawnManaged('docker-registry', REGISTRY_BIN, { args: ['serve', configFile], logFile, env });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor(
      `docker-registry to answer on ${url}/v2/`,
      async () => {
        if (proc.child.exitCode !== null)
          throw new Error(`docker-registry exited with code ${proc.child.exitCode}`);
        const response = await fetch(`${url}/v2/`, { signal: AbortSignal.timeout(1_000) });
        await response.body?.cancel();
        return response.status === 200 || response.status === 401 ? true : undefined;
      },
      { timeoutMs: 15_000, intervalMs: 50 },
    );
  } catch (error) {
    await proc.kill();
    const log = await readFile(logFile, 'utf8').catch(() => '');
    await rm(dataDir, { recursive: true, force: true });
    throw new Error(
      `docker-registry did not start on port ${port} (is Debian's docker-registry installed?); its log:\n${log}`,
      {
        cause: error,
      },
    );
  }

  const stop = async (): Promise<void> => {
    await proc.stop(2_000);
    await rm(dataDir, { recursive: true, force: true });
  };
  return {
    url,
    host: `127.0.0.1:${port}`,
    port,
    dataDir,
    log: () => readFile(logFile, 'utf8'),
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
