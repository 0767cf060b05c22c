// SPDX-License-Identifier: Apache-2.0
// The device's side of one-command join (docs/adr/0031): log in as the shared join user, send the
// token, wait for the operator's sealed answer, then write the agent's settings and credentials
// (readable only by the agent) and start its service. Loaded only by `wasmfleet-agent join`.
import { execFile } from 'node:child_process';
import { chown, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import mqtt from 'mqtt';
import {
  brokerForLogs,
  JOIN_PASSWORD,
  JOIN_USERNAME,
  joinRequestTopic,
  joinResponseTopic,
  newJoinRequestId,
  openJoinResult,
  parseJoinResult,
  parseSealedJoinResponse,
  type JoinResult,
} from '@wasmfleet/api';
import { brokerAddress } from '../mqtt/session-options.ts';
import type { JoinArgs } from './join-args.ts';

const run = promisify(execFile);
export const SERVICE = 'wasmfleet-agent.service';
/** The system user the .deb's unit runs the agent as; the password file belongs to it. */
const AGENT_USER = 'wasmfleet';

export class JoinRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JoinRefused';
  }
}

/** Sends the token and returns the operator's answer (refusals included). */
export async function requestCredentials(args: JoinArgs): Promise<JoinResult & { ok: true }> {
  const requestId = newJoinRequestId();
  const address = brokerAddress(args.broker);
  let client;
  try {
    client = await mqtt.connectAsync({
      ...address,
      protocolVersion: 5,
      clientId: `wasmfleet-join-${requestId}`,
      clean: true,
      reconnectPeriod: 0,
      connectTimeout: args.timeoutMs,
      username: JOIN_USERNAME,
      password: JOIN_PASSWORD,
      ...(args.ca ? { ca: args.ca } : {}),
    });
  } catch (error) {
    throw new JoinRefused(
      `cannot reach the broker at ${brokerForLogs(args.broker)}: ${(error as Error).message} — check the URL, that this device can reach it, and (TLS) the --ca of the printed command`,
    );
  }
  try {
    const answer = new Promise<Buffer>((resolve) => client.on('message', (_t, payload) => resolve(payload)));
    await client.subscribeAsync(joinResponseTopic(requestId), { qos: 1 }).catch((error: unknown) => {
      throw new JoinRefused(
        `the broker does not let this device join (${(error as Error).message}): is the operator running with per-device identity?`,
      );
    });
    await client.publishAsync(
      joinRequestTopic(requestId),
      JSON.stringify({ version: 1, token: args.token }),
      { qos: 1 },
    );
    const payload = await Promise.race([
      answer,
      new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), args.timeoutMs).unref()),
    ]);
    if (!payload)
      throw new JoinRefused(
        `no answer from the operator within ${args.timeoutMs / 1000} s: is it running, with --device-identity, on this broker? (the token was not used; run the command again)`,
      );
    return decode(payload, args.token, requestId);
  } finally {
    await client.endAsync().catch(() => undefined);
  }
}

function decode(payload: Buffer, token: string, requestId: string): JoinResult & { ok: true } {
  const sealed = parseSealedJoinResponse(payload);
  let result;
  try {
    if (!sealed.ok) throw new Error(sealed.errors.join('; '));
    result = parseJoinResult(openJoinResult(sealed.value, token, requestId));
  } catch (error) {
    throw new JoinRefused(
      `the answer to this join request is not one sealed for this token: ${(error as Error).message}`,
    );
  }
  if (!result.ok)
    throw new JoinRefused(`the answer to this join request does not read: ${result.errors.join('; ')}`);
  if (!result.value.ok)
    throw new JoinRefused(`the cluster refused the token (${result.value.reason}): ${result.value.message}`);
  return result.value;
}

/** Writes agent.env, mqtt-password (0600, the agent's user) and ca.crt; returns what it wrote. */
export async function writeAgentSettings(
  args: JoinArgs,
  joined: JoinResult & { ok: true },
): Promise<string[]> {
  const dir = args.configDir;
  await mkdir(dir, { recursive: true, mode: 0o750 });
  const owner = await systemUser(AGENT_USER);
  const written: string[] = [];
  const put = async (name: string, text: string, mode: number, ownedByAgent: boolean): Promise<string> => {
    const file = path.join(dir, name);
    await writeFile(`${file}.tmp`, text, { mode });
    if (ownedByAgent && owner) await chown(`${file}.tmp`, owner.uid, owner.gid);
    await rename(`${file}.tmp`, file);
    written.push(file);
    return file;
  };
  const password =
    joined.password === undefined ? undefined : await put('mqtt-password', joined.password, 0o600, true);
  const ca = joined.ca ?? args.ca;
  const caFile = ca === undefined ? undefined : await put('ca.crt', ca, 0o644, false);
  const env = [
    `# Written by \`wasmfleet-agent join\` at ${new Date().toISOString()}; see wasmfleet-agent --help for more settings.`,
    `WASMFLEET_NODE=${joined.node}`,
    `WASMFLEET_BROKER=${joined.broker ?? args.broker}`,
    ...(joined.username ? [`WASMFLEET_MQTT_USERNAME=${joined.username}`] : []),
    ...(password ? [`WASMFLEET_MQTT_PASSWORD_FILE=${password}`] : []),
    ...(caFile ? [`WASMFLEET_MQTT_CA=${caFile}`] : []),
    '',
  ].join('\n');
  await put('agent.env', env, 0o600, false);
  return written;
}

/** Enables and (re)starts the service when systemd runs it; false when there is none to start. */
export async function startService(): Promise<boolean> {
  const unit = await run('systemctl', ['cat', SERVICE]).then(
    () => true,
    () => false,
  );
  if (!unit) return false;
  await run('systemctl', ['enable', SERVICE]);
  await run('systemctl', ['restart', SERVICE]);
  return true;
}

async function systemUser(name: string): Promise<{ uid: number; gid: number } | undefined> {
  const passwd = await readFile('/etc/passwd', 'utf8').catch(() => '');
  const fields = passwd
    .split('\n')
    .find((l) => l.startsWith(`${name}:`))
    ?.split(':');
  return fields?.[2] && fields[3] ? { uid: Number(fields[2]), gid: Number(fields[3]) } : undefined;
}
