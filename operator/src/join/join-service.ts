// SPDX-License-Identifier: Apache-2.0
// The operator's side of one-command join (docs/adr/0031): on its own MQTT connection it keeps the
// shared join user on the broker (dynamic security: may send requests, read responses, nothing
// else), answers every JoinRequest with a result sealed for that token, and marks the token used
// before it hands out the device's credentials. Runs on the leader only, so one replica answers.
import type { CoreV1Api } from '@kubernetes/client-node';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import {
  brokerTarget,
  JOIN_PASSWORD,
  JOIN_REQUEST_FILTER,
  JOIN_USERNAME,
  joinResponseTopic,
  type JoinResult,
  type Logger,
  parseJoinRequest,
  parseJoinToken,
  requestIdOfJoinTopic,
  sealJoinResult,
} from '@wasmfleet/api';
import { DYNSEC_RESPONSE_TOPIC, Dynsec, isAlreadyThere } from '../identity/dynsec.ts';
import { deviceJoinAcls, JOIN_ROLE } from './join-acls.ts';
import { JoinTokenStore, storedJoinToken } from './join-token-secrets.ts';
import { judgeJoinToken } from './join-verdict.ts';

/** Requests answered per second at most; beyond that they wait for the next second's budget. */
const MAX_REQUESTS_PER_SECOND = 20;

export interface JoinServiceOptions {
  readonly url: string;
  readonly client: IClientOptions;
  readonly core: CoreV1Api;
  /** Where token Secrets live (the identity namespace). */
  readonly namespace: string;
  /** Keep the shared join user on the broker (dynamic security). */
  readonly dynamicSecurity: boolean;
  /** The device's own MQTT credentials, made if missing; undefined without per-device identity. */
  readonly credentials?: (node: string) => Promise<{ readonly username: string; readonly password: string }>;
  readonly deviceBrokerUrl?: string;
  readonly ca?: string;
  readonly log: Logger;
  readonly now?: () => number;
}

export interface JoinService {
  close(): Promise<void>;
}

export async function startJoinService(options: JoinServiceOptions): Promise<JoinService> {
  const client = await mqtt.connectAsync({
    ...brokerTarget(options.url),
    ...options.client,
    clientId: `${options.client.clientId ?? 'wasmfleet-operator'}-join`,
    clean: true,
    reconnectPeriod: 1000,
  });
  const dynsec = options.dynamicSecurity ? new Dynsec(client) : undefined;
  const tokens = new JoinTokenStore(options.core, options.namespace);
  const budget = { second: 0, used: 0 };
  const now = options.now ?? Date.now;
  const service: Answering = { client, tokens, options, now };

  const prepare = async (): Promise<void> => {
    await client.subscribeAsync([JOIN_REQUEST_FILTER, ...(dynsec ? [DYNSEC_RESPONSE_TOPIC] : [])], {
      qos: 1,
    });
    if (dynsec) await ensureJoinUser(dynsec);
  };
  client.on('message', (topic, payload) => {
    if (topic === DYNSEC_RESPONSE_TOPIC) {
      dynsec?.handle(payload);
      return;
    }
    const requestId = requestIdOfJoinTopic(topic);
    if (!requestId) return;
    const second = Math.floor(now() / 1000);
    if (budget.second !== second) Object.assign(budget, { second, used: 0 });
    if (++budget.used > MAX_REQUESTS_PER_SECOND) return; // the device asks again after its timeout
    void answer(service, requestId, payload).catch((error: unknown) =>
      options.log.warn(
        `join request ${requestId}: ${error instanceof Error ? error.message : String(error)}`,
      ),
    );
  });
  client.on(
    'connect',
    () => void prepare().catch((e: unknown) => options.log.error(`join service: ${String(e)}`)),
  );
  await prepare();

  return {
    close: async () => {
      dynsec?.close('the join service stopped');
      await client.endAsync();
    },
  };
}

/** What answering a join request needs. */
interface Answering {
  readonly client: MqttClient;
  readonly tokens: JoinTokenStore;
  readonly options: JoinServiceOptions;
  readonly now: () => number;
}

/** Answers one JoinRequest with a result sealed for its token (nothing when it cannot be read). */
async function answer(service: Answering, requestId: string, payload: Buffer): Promise<void> {
  const { client, options } = service;
  const request = parseJoinRequest(payload);
  if (!request.ok) return; // nothing to seal an answer with
  const token = request.value.token;
  const result = await resolve(service, token);
  options.log.info(
    result.ok
      ? `join: device ${result.node} traded its token (request ${requestId})`
      : `join: refused request ${requestId}: ${result.reason}`,
  );
  await client.publishAsync(
    joinResponseTopic(requestId),
    JSON.stringify(sealJoinResult(result, token, requestId)),
    {
      qos: 1,
    },
  );
}

async function resolve(service: Answering, token: string): Promise<JoinResult> {
  const { tokens, options, now } = service;
  const parsed = parseJoinToken(token);
  const found = parsed ? await tokens.read(parsed.id) : {};
  const stored = found.token ? storedJoinToken(found.token, found.used) : undefined;
  const verdict = judgeJoinToken(token, stored, now());
  if (!verdict.ok) return verdict;
  if (!parsed || !found.token || !(await tokens.markUsed(parsed.id, found.token, new Date(now()))))
    return {
      ok: false,
      reason: 'Used',
      message: 'this token was used by another request a moment ago; it works only once',
    };
  const credentials = await options.credentials?.(verdict.node).catch((cause: unknown) => {
    throw new Error(`cannot make the MQTT credentials of ${verdict.node}`, { cause });
  });
  return {
    ok: true,
    node: verdict.node,
    ...(options.deviceBrokerUrl ? { broker: options.deviceBrokerUrl } : {}),
    ...(credentials ? { username: credentials.username, password: credentials.password } : {}),
    ...(options.ca ? { ca: options.ca } : {}),
  };
}

/** The shared join user and its role, made once (a no-op when they exist). */
async function ensureJoinUser(dynsec: Dynsec): Promise<void> {
  await dynsec.run(
    [
      {
        command: 'createRole',
        rolename: JOIN_ROLE,
        textname: 'WasmFleet devices joining',
        acls: deviceJoinAcls(),
      },
      {
        command: 'createClient',
        username: JOIN_USERNAME,
        password: JOIN_PASSWORD,
        textname: 'WasmFleet devices joining (the token is the secret)',
        roles: [{ rolename: JOIN_ROLE }],
      },
    ],
    isAlreadyThere,
  );
}
