// SPDX-License-Identifier: Apache-2.0
// One-command join (docs/adr/0031): a device trades a short-lived, single-use bootstrap token for
// its own MQTT credentials, over the broker it is about to use. It logs in as the shared join
// user (JOIN_USERNAME, whose password is not a secret: the token is), publishes a JoinRequest on
// `wasmfleet/v1/join/<request id>/request`, and the operator answers on `…/response`. Join
// clients may publish requests and read responses but never read requests, and Mosquitto 2.0's
// dynamic security cannot pin a topic to one client id, so every answer is sealed with a key
// only the token's holder (and the operator, which just read the token) can derive:
// AES-256-GCM under HKDF-SHA256(token, salt = request id, info = JOIN_KEY_INFO).
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import Type, { type Static } from 'typebox';
import { NODE_ID_PATTERN, WIRE_PREFIX } from './topics.ts';

const strict = { additionalProperties: false } as const;

/** The user every joining device logs in as; its password is public (the token is the secret). */
export const JOIN_USERNAME = 'wasmfleet-join';
export const JOIN_PASSWORD = 'wasmfleet-join';
export const JOIN_KEY_INFO = 'wasmfleet-join-response/v1';
/** A token: `wfjoin.<16 hex id>.<43 base64url secret>` (the id names where its hash is kept). */
export const JOIN_TOKEN_PATTERN = '^wfjoin\\.([a-f0-9]{16})\\.([A-Za-z0-9_-]{43})$';
export const JOIN_REQUEST_ID_PATTERN = '^[a-f0-9]{32}$';
const TOKEN_RE = new RegExp(JOIN_TOKEN_PATTERN);
const REQUEST_ID_RE = new RegExp(JOIN_REQUEST_ID_PATTERN);

/** Filter the operator subscribes to. */
export const JOIN_REQUEST_FILTER = `${WIRE_PREFIX}/join/+/request`;
export const JOIN_RESPONSE_FILTER = `${WIRE_PREFIX}/join/+/response`;

export function joinRequestTopic(requestId: string): string {
  return `${WIRE_PREFIX}/join/${checkRequestId(requestId)}/request`;
}
export function joinResponseTopic(requestId: string): string {
  return `${WIRE_PREFIX}/join/${checkRequestId(requestId)}/response`;
}
/** The request id in a request topic, or undefined. */
export function requestIdOfJoinTopic(topic: string): string | undefined {
  const m = /^wasmfleet\/v1\/join\/([a-f0-9]{32})\/request$/.exec(topic);
  return m?.[1];
}

function checkRequestId(id: string): string {
  if (!REQUEST_ID_RE.test(id))
    throw new Error(`invalid join request id ${JSON.stringify(id)}: expected 32 hex`);
  return id;
}

export const JoinRequest = Type.Object(
  { version: Type.Literal(1), token: Type.String({ maxLength: 128 }) },
  { ...strict, $id: 'https://wasmfleet.io/schemas/wire/v1/join-request.json' },
);
export type JoinRequest = Static<typeof JoinRequest>;

/** The sealed answer on the response topic. */
export const SealedJoinResponse = Type.Object(
  {
    version: Type.Literal(1),
    nonce: Type.String({ pattern: '^[A-Za-z0-9+/]{16}$', description: 'Base64 of the 12-byte GCM nonce.' }),
    sealed: Type.String({ maxLength: 65_536, description: 'Base64 of the ciphertext and its 16-byte tag.' }),
  },
  { ...strict, $id: 'https://wasmfleet.io/schemas/wire/v1/join-response.json' },
);
export type SealedJoinResponse = Static<typeof SealedJoinResponse>;

export const JOIN_REFUSALS = ['Forged', 'Expired', 'Used', 'Unavailable'] as const;
export type JoinRefusal = (typeof JOIN_REFUSALS)[number];

/** What the sealed answer holds. */
export const JoinResult = Type.Union([
  Type.Object(
    {
      ok: Type.Literal(true),
      node: Type.String({ pattern: NODE_ID_PATTERN }),
      /** The broker URL devices use (absent: the one the device joined through). */
      broker: Type.Optional(Type.String({ maxLength: 2048 })),
      username: Type.Optional(Type.String({ maxLength: 253 })),
      password: Type.Optional(Type.String({ maxLength: 256 })),
      /** PEM of the CA that signs the broker's certificate. */
      ca: Type.Optional(Type.String({ maxLength: 16_384 })),
    },
    strict,
  ),
  Type.Object(
    {
      ok: Type.Literal(false),
      reason: Type.Union([
        Type.Literal('Forged'),
        Type.Literal('Expired'),
        Type.Literal('Used'),
        Type.Literal('Unavailable'),
      ]),
      message: Type.String({ maxLength: 1024 }),
    },
    strict,
  ),
]);
export type JoinResult = Static<typeof JoinResult>;

export interface ParsedToken {
  readonly id: string;
  readonly secret: string;
}

export function parseJoinToken(token: string): ParsedToken | undefined {
  const m = TOKEN_RE.exec(token.trim());
  return m?.[1] && m[2] ? { id: m[1], secret: m[2] } : undefined;
}

export function newJoinToken(): { readonly token: string } & ParsedToken {
  const id = randomBytes(8).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  return { token: `wfjoin.${id}.${secret}`, id, secret };
}

/** What the cluster keeps of a token: the sha256 of its secret (the secret is 256 random bits). */
export function joinSecretHash(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

export function newJoinRequestId(): string {
  return randomBytes(16).toString('hex');
}

function responseKey(token: string, requestId: string): Buffer {
  return Buffer.from(hkdfSync('sha256', token.trim(), requestId, JOIN_KEY_INFO, 32));
}

export function sealJoinResult(result: JoinResult, token: string, requestId: string): SealedJoinResponse {
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', responseKey(token, requestId), nonce);
  const body = Buffer.concat([
    cipher.update(JSON.stringify(result), 'utf8'),
    cipher.final(),
    cipher.getAuthTag(),
  ]);
  return { version: 1, nonce: nonce.toString('base64'), sealed: body.toString('base64') };
}

/** The answer's plaintext JSON text (parseJoinResult reads it); throws when it was not sealed for this token and request. */
export function openJoinResult(sealed: SealedJoinResponse, token: string, requestId: string): string {
  const body = Buffer.from(sealed.sealed, 'base64');
  if (body.length < 17) throw new Error('the join response is too short to be sealed');
  const decipher = createDecipheriv(
    'aes-256-gcm',
    responseKey(token, requestId),
    Buffer.from(sealed.nonce, 'base64'),
  );
  decipher.setAuthTag(body.subarray(body.length - 16));
  return Buffer.concat([decipher.update(body.subarray(0, body.length - 16)), decipher.final()]).toString(
    'utf8',
  );
}
