// SPDX-License-Identifier: Apache-2.0
// Throwaway TLS material and Mosquitto password files for tests, made with the real tools
// (`openssl`, `mosquitto_passwd`) in a temporary directory. Never use these outside tests.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const OPENSSL_BIN = process.env.WASMFLEET_OPENSSL ?? 'openssl';
const MOSQUITTO_PASSWD_BIN = process.env.WASMFLEET_MOSQUITTO_PASSWD ?? 'mosquitto_passwd';

export interface ClientCertificate {
  readonly commonName: string;
  readonly certFile: string;
  readonly keyFile: string;
}

export interface TestCertificates {
  /** Holds every file below; removed by dispose(). */
  readonly dir: string;
  /** The throwaway CA's certificate (what a client passes as `ca`, and mosquitto as `cafile`). */
  readonly caFile: string;
  readonly caKeyFile: string;
  /** For 127.0.0.1 and localhost (subjectAltName). */
  readonly serverCertFile: string;
  readonly serverKeyFile: string;
  /** Signed by the CA, CN = the `clientCommonName` given (mosquitto's identity with mTLS). */
  readonly client: ClientCertificate;
  /** Issues one more client certificate from the same CA. */
  issueClientCertificate(commonName: string): Promise<ClientCertificate>;
  dispose(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

export interface TestCertificateOptions {
  /** CN of the client certificate (a node id, say). Default `wasmfleet-test-client`. */
  readonly clientCommonName?: string;
  /** Validity in days (default 2). */
  readonly days?: number;
}

async function openssl(args: readonly string[], cwd: string): Promise<void> {
  try {
    await run(OPENSSL_BIN, [...args], { cwd });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    throw new Error(`openssl ${args[0] ?? ''} failed (is the Debian package openssl installed?)\n${stderr}`, {
      cause: error,
    });
  }
}

/** A new EC P-256 key (fast to make, and every TLS stack here speaks it). */
async function newKey(file: string, cwd: string): Promise<void> {
  await openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', file], cwd);
}

/** Signs `<name>.csr` with the CA into `<name>.crt`, with the given v3 extensions. */
async function sign(
  name: string,
  subject: string,
  extensions: readonly string[],
  days: number,
  cwd: string,
): Promise<void> {
  await newKey(`${name}.key`, cwd);
  await openssl(['req', '-new', '-key', `${name}.key`, '-subj', subject, '-out', `${name}.csr`], cwd);
  await writeFile(path.join(cwd, `${name}.ext`), [...extensions, ''].join('\n'));
  await openssl(
    [
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      String(days),
      '-sha256',
      '-extfile',
      `${name}.ext`,
      '-out',
      `${name}.crt`,
    ],
    cwd,
  );
}

/** A CA, a server certificate for 127.0.0.1/localhost and a client certificate, in a temp dir. */
export async function generateTestCertificates(
  options: TestCertificateOptions = {},
): Promise<TestCertificates> {
  const days = options.days ?? 2;
  const dir = await mkdtemp(path.join(tmpdir(), 'wasmfleet-tls-'));
  const dispose = (): Promise<void> => rm(dir, { recursive: true, force: true });
  try {
    await newKey('ca.key', dir);
    await openssl(
      [
        'req',
        '-x509',
        '-new',
        '-key',
        'ca.key',
        '-subj',
        '/CN=WasmFleet throwaway test CA',
        '-days',
        String(days),
        '-sha256',
        '-addext',
        'basicConstraints=critical,CA:TRUE',
        '-addext',
        'keyUsage=critical,keyCertSign,cRLSign',
        '-out',
        'ca.crt',
      ],
      dir,
    );
    await sign(
      'server',
      '/CN=127.0.0.1',
      [
        'basicConstraints=critical,CA:FALSE',
        'keyUsage=critical,digitalSignature,keyEncipherment',
        'extendedKeyUsage=serverAuth',
        'subjectAltName=IP:127.0.0.1,DNS:localhost',
      ],
      days,
      dir,
    );
    const issueClientCertificate = async (commonName: string): Promise<ClientCertificate> => {
      const name = `client-${commonName.replace(/[^A-Za-z0-9.-]/g, '_')}`;
      await sign(
        name,
        `/CN=${commonName}`,
        [
          'basicConstraints=critical,CA:FALSE',
          'keyUsage=critical,digitalSignature,keyEncipherment',
          'extendedKeyUsage=clientAuth',
        ],
        days,
        dir,
      );
      return {
        commonName,
        certFile: path.join(dir, `${name}.crt`),
        keyFile: path.join(dir, `${name}.key`),
      };
    };
    const client = await issueClientCertificate(options.clientCommonName ?? 'wasmfleet-test-client');
    return {
      dir,
      caFile: path.join(dir, 'ca.crt'),
      caKeyFile: path.join(dir, 'ca.key'),
      serverCertFile: path.join(dir, 'server.crt'),
      serverKeyFile: path.join(dir, 'server.key'),
      client,
      issueClientCertificate,
      dispose,
      [Symbol.asyncDispose]: dispose,
    };
  } catch (error) {
    await dispose();
    throw error;
  }
}

/**
 * Writes a Mosquitto password file (hashed, via `mosquitto_passwd -b`) holding `users`
 * (user name → password) and returns its path.
 */
export async function writeMosquittoPasswordFile(
  file: string,
  users: Readonly<Record<string, string>>,
): Promise<string> {
  const entries = Object.entries(users);
  if (entries.length === 0) throw new Error('writeMosquittoPasswordFile: give at least one user');
  for (const [i, [user, password]] of entries.entries()) {
    // -c (create, truncating) for the first user only; the rest are added to it.
    const args = i === 0 ? ['-b', '-c', file, user, password] : ['-b', file, user, password];
    try {
      await run(MOSQUITTO_PASSWD_BIN, args);
    } catch (error) {
      const stderr = (error as { stderr?: string }).stderr ?? '';
      throw new Error(`mosquitto_passwd failed for user ${user} (is mosquitto installed?)\n${stderr}`, {
        cause: error,
      });
    }
  }
  return file;
}
