// SPDX-License-Identifier: Apache-2.0
// A device that requires signatures runs only what a key it trusts vouches for, whatever the
// operator's documents say: real Mosquitto, a real agent process with --trusted-keys, real wasm.
// The test plays the operator (possibly a lying or compromised one) over MQTT.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import { startMosquitto, spawnManaged, type ManagedProcess, type Mosquitto } from '@wasmfleet/test-support';
import type { DesiredFunction } from '@wasmfleet/api';
import { mkdir, writeFile } from 'node:fs/promises';
import {
  collect,
  connect,
  fnSpec,
  fnStatus,
  publishDesired,
  publishModule,
  until,
  waitForStatus,
} from '../helpers/fleet.ts';
import {
  cosignSignature,
  ed25519Key,
  p256Key,
  wasmManifest,
  wasmfleetSignature,
  writeTrustedKeys,
} from '../helpers/signing.ts';
import { ConfigError, parseConfig } from '../../src/cli/config.ts';
import { tempDir } from '../helpers/tmp.ts';
import { fixture } from '../helpers/wasm.ts';

const AGENT_BIN = new URL('../../bin/wasmfleet-agent.js', import.meta.url).pathname;

let broker: Mosquitto;
let operator: MqttClient;
let echo: Uint8Array;
let features: Uint8Array;
const release = ed25519Key('release-2026');
const ci = p256Key('ci-cosign');
const stranger = ed25519Key('stranger');

async function startDevice(
  node: string,
  dir: string,
  extra: readonly string[] = [],
): Promise<ManagedProcess> {
  const keys = path.join(dir, 'trusted');
  await mkdir(keys);
  await writeTrustedKeys(keys, [release, ci]);
  return spawnManaged(`agent ${node}`, process.execPath, {
    args: [
      AGENT_BIN,
      ...['--broker', broker.url, '--node', node, '--data-dir', path.join(dir, 'data')],
      ...['--heartbeat', '1', '--trusted-keys', keys],
      ...extra,
    ],
    logFile: path.join(dir, 'agent.log'),
  });
}

/** Publishes `functions` and waits until each reaches a settled phase on `node`. */
async function deploy(node: string, functions: DesiredFunction[], generation: number) {
  await publishDesired(operator, node, functions, generation);
  return waitForStatus(
    operator,
    node,
    (s) =>
      functions.every((f) => {
        const st = fnStatus(s, f.name);
        return st?.revision === f.revision && ['Running', 'Failed'].includes(st.phase);
      }),
    30_000,
  );
}

describe('signed modules on a device that requires signatures', () => {
  before(async () => {
    broker = await startMosquitto();
    operator = await connect(broker.url);
    echo = await fixture('healthy/echo.wat');
    features = await fixture('healthy/features.wat');
    await publishModule(operator, echo);
    await publishModule(operator, features);
  });
  after(async () => {
    await operator.endAsync();
    await broker.dispose();
  });

  it('runs a module signed by a trusted key, and refuses unsigned, tampered and untrusted ones while the signed one keeps running', async () => {
    await using dir = await tempDir();
    const agent = await startDevice('signed-1', dir.path);
    try {
      const signed = fnSpec('signed', echo, {
        module: {
          sha256: fnSpec('x', echo).module.sha256,
          size: echo.length,
          signatures: [wasmfleetSignature(echo, release)],
        },
      });
      const unsigned = fnSpec('unsigned', features);
      // Tampered: the operator delivers other bytes (features) with a valid signature of echo.
      const tampered = fnSpec('tampered', features, {
        module: { ...fnSpec('x', features).module, signatures: [wasmfleetSignature(echo, release)] },
      });
      const untrusted = fnSpec('untrusted', features, {
        module: { ...fnSpec('x', features).module, signatures: [wasmfleetSignature(features, stranger)] },
      });
      const status = await deploy('signed-1', [signed, unsigned, tampered, untrusted], 1);

      assert.equal(fnStatus(status, 'signed')?.phase, 'Running');
      const refused = (name: string) => fnStatus(status, name);
      assert.equal(refused('unsigned')?.phase, 'Failed');
      assert.equal(refused('unsigned')?.reason, 'Unsigned');
      assert.match(refused('unsigned')?.message ?? '', /carries no signature.*release-2026.*wasmfleet sign/);
      assert.equal(refused('tampered')?.phase, 'Failed');
      assert.equal(refused('tampered')?.reason, 'SignatureInvalid');
      assert.match(
        refused('tampered')?.message ?? '',
        new RegExp(
          `signature by key release-2026 \\([0-9a-f]{16}\\) does not verify for sha256:${tampered.module.sha256}`,
        ),
      );
      assert.equal(refused('untrusted')?.reason, 'UntrustedKey');
      assert.match(refused('untrusted')?.message ?? '', /key stranger.*trusted: ci-cosign, release-2026/);
      for (const name of ['unsigned', 'tampered', 'untrusted'])
        assert.equal(refused(name)?.invocations, 0, `${name} must never have been instantiated`);

      // The refusals cost nothing else: the signed function still answers.
      const outputs = await collect(operator, 'out/signed-1/signed');
      await operator.publishAsync('sensors/signed-1/signed', 'hello', { qos: 1 });
      await until('the signed function echoes', () => outputs.includes('hello'), 15_000);
    } finally {
      await agent.stop();
    }
  });

  it('an operator cannot make it run a module by lying: a signature by its own key under the name of a trusted key is refused', async () => {
    await using dir = await tempDir();
    const agent = await startDevice('signed-2', dir.path);
    try {
      // A compromised operator signs with a key it made and calls it "release-2026".
      const forged = { ...wasmfleetSignature(features, stranger), keyId: 'release-2026' };
      const lying = fnSpec('lying', features, {
        module: { ...fnSpec('x', features).module, signatures: [forged] },
      });
      const status = await deploy('signed-2', [lying], 1);
      assert.equal(fnStatus(status, 'lying')?.reason, 'SignatureInvalid');
      // The module topic could carry anything, too: bytes are checked against the digest first
      // (DigestMismatch), and the digest against the signature.
    } finally {
      await agent.stop();
    }
  });

  it('runs an OCI artifact whose cosign signature chains to its wasm layer, and refuses a cosign signature of another digest', async () => {
    await using dir = await tempDir();
    const agent = await startDevice('signed-3', dir.path);
    try {
      const good = fnSpec('cosigned', echo, {
        module: { ...fnSpec('x', echo).module, signatures: [cosignSignature(wasmManifest(echo), ci)] },
      });
      // A genuine cosign signature — of the manifest of ANOTHER module — delivered with this one.
      const other = fnSpec('cosigned-other', features, {
        module: { ...fnSpec('x', features).module, signatures: [cosignSignature(wasmManifest(echo), ci)] },
      });
      // The manifest swapped for the right one, the payload still naming the other digest.
      const mixed = cosignSignature(wasmManifest(echo), ci);
      const swapped = fnSpec('cosigned-swapped', features, {
        module: {
          ...fnSpec('x', features).module,
          signatures: [
            { cosign: { ...mixed.cosign, manifest: Buffer.from(wasmManifest(features)).toString('base64') } },
          ],
        },
      });
      const status = await deploy('signed-3', [good, other, swapped], 1);
      assert.equal(fnStatus(status, 'cosigned')?.phase, 'Running');
      assert.equal(fnStatus(status, 'cosigned-other')?.reason, 'SignatureInvalid');
      assert.match(
        fnStatus(status, 'cosigned-other')?.message ?? '',
        /has no layer sha256:[0-9a-f]{64}: the signature is for another module/,
      );
      assert.equal(fnStatus(status, 'cosigned-swapped')?.reason, 'SignatureInvalid');
      assert.match(
        fnStatus(status, 'cosigned-swapped')?.message ?? '',
        /the signature covers manifest sha256:/,
      );
    } finally {
      await agent.stop();
    }
  });

  it('with --unsigned-modules allow it runs unsigned modules but still refuses a signature that fails', async () => {
    await using dir = await tempDir();
    const agent = await startDevice('signed-4', dir.path, ['--unsigned-modules', 'allow']);
    try {
      const unsigned = fnSpec('unsigned', features);
      const tampered = fnSpec('tampered', features, {
        module: { ...fnSpec('x', features).module, signatures: [wasmfleetSignature(echo, release)] },
      });
      const status = await deploy('signed-4', [unsigned, tampered], 1);
      assert.equal(fnStatus(status, 'unsigned')?.phase, 'Running');
      assert.equal(fnStatus(status, 'tampered')?.reason, 'SignatureInvalid');
    } finally {
      await agent.stop();
    }
  });
});

describe('the agent refuses a signature configuration it cannot honour (exit 2, naming the setting)', () => {
  it('--trusted-keys: a missing path, a directory with no .pub file, a bad key name or a non-key file', async () => {
    await using dir = await tempDir();
    const base = ['--broker', 'mqtt://127.0.0.1:1', '--node', 'n1'];
    assert.throws(
      () => parseConfig([...base, '--trusted-keys', path.join(dir.path, 'nope')], {}),
      ConfigError,
    );
    assert.throws(
      () => parseConfig([...base, '--trusted-keys', dir.path], {}),
      /no <key-id>\.pub file found/,
    );
    await writeFile(path.join(dir.path, 'Bad Name.pub'), 'x');
    assert.throws(
      () => parseConfig([...base, '--trusted-keys', path.join(dir.path, 'Bad Name.pub')], {}),
      /its name must be <key-id>\.pub/,
    );
    await writeFile(path.join(dir.path, 'garbage.pub'), 'not a key');
    assert.throws(
      () => parseConfig([...base, '--trusted-keys', path.join(dir.path, 'garbage.pub')], {}),
      /garbage\.pub is not a PEM public key/,
    );
  });

  it('--unsigned-modules refuse needs trusted keys; keys default to refusing unsigned modules; env and flags agree', async () => {
    await using dir = await tempDir();
    const base = ['--broker', 'mqtt://127.0.0.1:1', '--node', 'n1'];
    assert.throws(() => parseConfig([...base, '--unsigned-modules', 'refuse'], {}), /needs --trusted-keys/);
    assert.throws(
      () => parseConfig([...base, '--unsigned-modules', 'maybe'], {}),
      /expected allow or refuse/,
    );
    await writeTrustedKeys(dir.path, [release]);
    const o = parseConfig(base, { WASMFLEET_TRUSTED_KEYS: dir.path });
    assert.ok(o !== 'help');
    assert.deepEqual(
      o.trustedKeys?.map((k) => k.id),
      ['release-2026'],
    );
    assert.equal(o.allowUnsigned, undefined); // the Agent then refuses: keys are configured
    const lax = parseConfig([...base, '--trusted-keys', dir.path, '--unsigned-modules', 'allow'], {});
    assert.ok(lax !== 'help');
    assert.equal(lax.allowUnsigned, true);
  });
});
