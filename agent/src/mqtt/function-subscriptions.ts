// SPDX-License-Identifier: Apache-2.0
// The subscriptions the agent holds for its functions' inputs: turns the wanted filters into a
// plan (subscription-plan.ts), brings the broker's session to it (subscribing, unsubscribing,
// again after a reconnect), and remembers what it holds in the data directory so an agent that
// restarts removes the subscriptions its previous life left in the persistent session.
import { readIfExists, writeFileAtomic } from '../persist/atomic-file.ts';
import { disjointPlan, identifiedPlan, type HeldSubscription, type Qos } from './subscription-plan.ts';

/** How the session tells copies apart; see subscription-plan.ts. */
export type SubscriptionMode = 'identifiers' | 'disjoint';

/** What became of a SUBSCRIBE or UNSUBSCRIBE: acknowledged, refused by the broker, or cut off. */
export type Outcome = { readonly ok: true } | { readonly ok: false; readonly refused?: Error };

export interface SubscriptionClient {
  subscribe(filter: string, held: HeldSubscription, done: (outcome: Outcome) => void): void;
  unsubscribe(filter: string, done: (outcome: Outcome) => void): void;
}

export interface FunctionSubscriptionsOptions {
  /** Where the held filters are remembered across restarts (undefined: not remembered). */
  readonly file?: string;
  readonly log: (level: 'warn' | 'error', text: string) => void;
  /** The log line for an input filter the broker refused. */
  readonly describeRefusal: (filter: string, error: Error) => string;
  /** A filter the broker no longer holds: copies from it cannot arrive any more. */
  readonly released: (filter: string) => void;
}

export class FunctionSubscriptions {
  readonly #o: FunctionSubscriptionsOptions;
  #wanted: ReadonlyMap<string, Qos> = new Map();
  #mode: SubscriptionMode = 'identifiers';
  #plan = new Map<string, HeldSubscription>();
  /** What the broker holds (or was asked to hold) in this session. */
  readonly #held = new Map<string, HeldSubscription>();
  /** Filters to remove from the broker's session once connected. */
  readonly #leaving = new Set<string>();
  /** Merged filters the broker refused (disjoint mode). */
  readonly #refused = new Set<string>();
  /** Refusals in a row per input filter, for the retry's backoff. */
  readonly #refusals = new Map<string, number>();
  #client: SubscriptionClient | undefined;
  #saving: Promise<void> = Promise.resolve();

  constructor(options: FunctionSubscriptionsOptions) {
    this.#o = options;
  }

  get mode(): SubscriptionMode {
    return this.#mode;
  }

  /** Filters a previous life of this agent held; those not wanted now are removed on connect. */
  async load(): Promise<void> {
    if (!this.#o.file) return;
    const raw = await readIfExists(this.#o.file).catch(() => undefined);
    if (!raw) return;
    try {
      const filters: unknown = JSON.parse(raw.toString('utf8'));
      if (Array.isArray(filters))
        for (const f of filters) if (typeof f === 'string' && f !== '') this.#leaving.add(f);
    } catch {
      // A damaged file only costs the clean-up of leftovers; the plan itself is rebuilt anyway.
    }
  }

  /** The identifier of a filter's subscription, while the broker may still send copies from it. */
  idOf(filter: string): number | undefined {
    return this.#held.get(filter)?.id;
  }

  /** The functions' input filters changed. */
  want(wanted: ReadonlyMap<string, Qos>): void {
    this.#wanted = wanted;
    this.#replan();
  }

  /** A session is up (`fresh`: the broker kept nothing of an earlier one). */
  connected(client: SubscriptionClient, mode: SubscriptionMode, fresh: boolean): void {
    this.#client = client;
    this.#refusals.clear();
    if (fresh) {
      // Nothing is held any more: everything wanted is asked for again, nothing needs removing.
      const gone = [...this.#held.keys(), ...this.#leaving];
      this.#held.clear();
      this.#leaving.clear();
      for (const filter of gone) this.#o.released(filter);
    }
    // Otherwise what is held stays; a filter held in the other mode's terms is asked for again.
    this.#mode = mode;
    this.#replan();
  }

  disconnected(): void {
    this.#client = undefined;
  }

  #replan(): void {
    this.#plan =
      this.#mode === 'identifiers' ? identifiedPlan(this.#wanted) : disjointPlan(this.#wanted, this.#refused);
    const client = this.#client;
    if (!client) return;
    let changed = false;
    for (const [filter, want] of this.#plan) {
      const held = this.#held.get(filter);
      this.#leaving.delete(filter);
      if (held && held.qos === want.qos && held.id === want.id) continue;
      this.#held.set(filter, want);
      changed = true;
      client.subscribe(filter, want, (outcome) => {
        if (outcome.ok) this.#refusals.delete(filter);
        if (outcome.ok || this.#held.get(filter) !== want) return;
        this.#held.delete(filter); // not held: asked for again in the next session
        if (outcome.refused) this.#onRefused(filter, outcome.refused);
      });
    }
    for (const filter of [...this.#held.keys()]) if (!this.#plan.has(filter)) this.#leaving.add(filter);
    for (const filter of [...this.#leaving]) {
      this.#leaving.delete(filter);
      changed = true;
      client.unsubscribe(filter, (outcome) => {
        if (this.#plan.has(filter)) return; // wanted again meanwhile
        if (!outcome.ok) {
          this.#leaving.add(filter); // asked again in the next session
          return;
        }
        this.#held.delete(filter);
        this.#o.released(filter);
        this.#save();
      });
    }
    if (changed) this.#save();
  }

  #onRefused(filter: string, error: Error): void {
    if (this.#mode === 'disjoint' && !this.#wanted.has(filter)) {
      // A filter made to cover overlapping inputs; the ACL grants only the inputs themselves.
      this.#refused.add(filter);
      this.#o.log(
        'warn',
        `the broker refused ${filter}, which the agent subscribes to cover overlapping input filters (${error.message}); subscribing to them one by one: on this broker (no MQTT 5 subscription identifiers) a reading matching several of them may be processed more than once`,
      );
      this.#replan();
      return;
    }
    // An ACL that does not grant the filter, or a clustered broker electing leaders after losing a
    // node (nats-server refuses meanwhile): asked for again, 1 s doubling to 30 s, while the
    // session lasts and the filter is still wanted.
    const attempt = this.#refusals.get(filter) ?? 0;
    this.#refusals.set(filter, attempt + 1);
    const retryInMs = Math.min(30_000, 1_000 * 2 ** attempt);
    this.#o.log('error', `${this.#o.describeRefusal(filter, error)}; retrying in ${retryInMs / 1000} s`);
    const client = this.#client;
    setTimeout(() => {
      if (this.#client === client && this.#plan.has(filter) && !this.#held.has(filter)) this.#replan();
    }, retryInMs).unref();
  }

  /** Remembers every filter the broker may hold for us, newest state last. */
  #save(): void {
    const file = this.#o.file;
    if (!file) return;
    const filters = [...new Set([...this.#held.keys(), ...this.#leaving])].sort();
    this.#saving = this.#saving
      .then(() => writeFileAtomic(file, JSON.stringify(filters)))
      .catch((error: unknown) => {
        this.#o.log('warn', `could not remember the subscriptions in ${file}: ${String(error)}`);
      });
  }

  /** Resolves once the last change is on disk (tests, stop). */
  flushed(): Promise<void> {
    return this.#saving;
  }
}
