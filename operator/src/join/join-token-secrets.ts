// SPDX-License-Identifier: Apache-2.0
// Where a bootstrap token lives: the Secret `wasmfleet-join-<token id>` in the operator's identity
// namespace, holding the sha256 of the token's secret, the device it is for and its expiry —
// never the token itself. `wasmfleet nodes join` creates it (owned by the EdgeNode, so deleting
// the device revokes it). The operator marks it used by creating `wasmfleet-join-<id>-used`
// (owned by the token's Secret): a create succeeds once, so two requests racing with one token
// cannot both win, and the operator needs no right to change or delete Secrets.
import type { CoreV1Api, V1Secret } from '@kubernetes/client-node';
import { API_VERSION, EDGE_NODE_KIND } from '@wasmfleet/api';
import { isConflict, isNotFound } from '../kube/index.ts';
import type { StoredJoinToken } from './join-verdict.ts';

export const JOIN_TOKEN_LABEL = 'wasmfleet.io/join-token';
export const JOIN_TOKEN_TYPE = 'wasmfleet.io/join-token';
export function joinTokenSecretName(tokenId: string): string {
  return `wasmfleet-join-${tokenId}`;
}

function usedMarkerName(tokenId: string): string {
  return `${joinTokenSecretName(tokenId)}-used`;
}

export interface JoinTokenSecretInput {
  readonly namespace: string;
  readonly tokenId: string;
  readonly sha256: string;
  readonly node: string;
  readonly nodeUid: string | undefined;
  readonly expiresAt: Date;
}

export function joinTokenSecret(input: JoinTokenSecretInput): V1Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: JOIN_TOKEN_TYPE,
    metadata: {
      name: joinTokenSecretName(input.tokenId),
      namespace: input.namespace,
      labels: { [JOIN_TOKEN_LABEL]: 'true', 'app.kubernetes.io/managed-by': 'wasmfleet' },
      ...(input.nodeUid
        ? {
            ownerReferences: [
              { apiVersion: API_VERSION, kind: EDGE_NODE_KIND, name: input.node, uid: input.nodeUid },
            ],
          }
        : {}),
    },
    stringData: { node: input.node, sha256: input.sha256, expiresAt: input.expiresAt.toISOString() },
  };
}

/** What the token's Secret says, with when it was used (from its marker), if it was. */
export function storedJoinToken(secret: V1Secret, usedMarker?: V1Secret): StoredJoinToken | undefined {
  const field = (key: string): string | undefined => {
    const b64 = secret.data?.[key];
    return b64 === undefined ? undefined : Buffer.from(b64, 'base64').toString('utf8');
  };
  const node = field('node');
  const sha256 = field('sha256');
  const expiresAt = Date.parse(field('expiresAt') ?? '');
  if (!node || !sha256 || Number.isNaN(expiresAt)) return undefined;
  const usedAt = usedMarker?.data?.usedAt;
  return {
    node,
    sha256,
    expiresAt,
    ...(usedAt ? { usedAt: Buffer.from(usedAt, 'base64').toString('utf8') } : {}),
  };
}

export class JoinTokenStore {
  readonly #core: CoreV1Api;
  readonly #namespace: string;

  constructor(core: CoreV1Api, namespace: string) {
    this.#core = core;
    this.#namespace = namespace;
  }

  /** The token's Secret and its used marker (either may be missing). */
  async read(tokenId: string): Promise<{ token?: V1Secret; used?: V1Secret }> {
    const [token, used] = await Promise.all([
      this.#get(joinTokenSecretName(tokenId)),
      this.#get(usedMarkerName(tokenId)),
    ]);
    return { ...(token ? { token } : {}), ...(used ? { used } : {}) };
  }

  async #get(name: string): Promise<V1Secret | undefined> {
    try {
      return await this.#core.readNamespacedSecret({ namespace: this.#namespace, name });
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw new Error(`cannot read the join token Secret ${name}`, { cause: error });
    }
  }

  /** Marks the token used; false when another request marked it first. */
  async markUsed(tokenId: string, token: V1Secret, at: Date): Promise<boolean> {
    const body: V1Secret = {
      apiVersion: 'v1',
      kind: 'Secret',
      type: JOIN_TOKEN_TYPE,
      metadata: {
        name: usedMarkerName(tokenId),
        namespace: this.#namespace,
        labels: { [JOIN_TOKEN_LABEL]: 'used' },
        ...(token.metadata?.uid
          ? {
              ownerReferences: [
                {
                  apiVersion: 'v1',
                  kind: 'Secret',
                  name: joinTokenSecretName(tokenId),
                  uid: token.metadata.uid,
                },
              ],
            }
          : {}),
      },
      stringData: { usedAt: at.toISOString().replace(/\.\d{3}Z$/, 'Z') },
    };
    try {
      await this.#core.createNamespacedSecret({ namespace: this.#namespace, body });
      return true;
    } catch (error) {
      if (isConflict(error)) return false;
      throw new Error(`cannot mark the join token ${tokenId} used`, { cause: error });
    }
  }
}
