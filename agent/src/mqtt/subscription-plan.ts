// SPDX-License-Identifier: Apache-2.0
// Which subscriptions the agent holds for its functions' input filters, so that each reading runs
// each matching function once whatever the broker does with overlapping subscriptions (pure).
//
// MQTT lets a broker send one copy of a message per matching subscription (Mosquitto does for MQTT
// 5 clients) or one copy in all. Two ways to stay exact (docs/adr/0024):
// - with subscription identifiers (MQTT 5), every filter is its own subscription with an
//   identifier derived from the filter alone, and each copy names the subscriptions it matched;
//   a function takes only the copy of its designated filter (see designatedFilter);
// - without them (MQTT 3.1.1, or a broker that has none), the held filters never overlap: a filter
//   another one covers is dropped, and two that only partly overlap are replaced by the narrowest
//   filter covering both, so every message matches one held subscription and arrives once.

export type Qos = 0 | 1;

/** MQTT 5 allows subscription identifiers 1 to 268,435,455; 1 is the agent's control topics. */
export const CONTROL_SUBSCRIPTION_ID = 1;
const MAX_SUBSCRIPTION_ID = 268_435_455;

export interface HeldSubscription {
  readonly qos: Qos;
  /** The MQTT 5 subscription identifier (identifier mode only). */
  readonly id?: number;
}

/**
 * The identifier of a filter's subscription: a hash of the filter alone, so an agent restarted
 * with the same functions reads copies the broker queued for its previous life correctly.
 */
export function subscriptionId(filter: string): number {
  let h = 0x811c9dc5; // FNV-1a over the UTF-16 code units
  for (let i = 0; i < filter.length; i++) h = Math.imul(h ^ filter.charCodeAt(i), 0x01000193);
  return 2 + ((h >>> 0) % (MAX_SUBSCRIPTION_ID - 1));
}

/** Every filter with its own identifier; a collision (rare) takes the next free one, in filter order. */
export function identifiedPlan(wanted: ReadonlyMap<string, Qos>): Map<string, HeldSubscription> {
  const plan = new Map<string, HeldSubscription>();
  const taken = new Set<number>([CONTROL_SUBSCRIPTION_ID]);
  for (const filter of [...wanted.keys()].sort()) {
    let id = subscriptionId(filter);
    while (taken.has(id)) id = id >= MAX_SUBSCRIPTION_ID ? 2 : id + 1;
    taken.add(id);
    plan.set(filter, { qos: wanted.get(filter) ?? 0, id });
  }
  return plan;
}

function isWildcard(level: string | undefined): boolean {
  return level === '+' || level === '#';
}

/** True when every topic `inner` matches also matches `outer` (MQTT 3.1.1 §4.7, 5.0 §4.7). */
export function covers(outer: string, inner: string): boolean {
  const a = outer.split('/');
  const b = inner.split('/');
  // A wildcard first level never matches a `$` topic; a literal `$…` first level is not covered.
  if (isWildcard(a[0]) && !isWildcard(b[0]) && (b[0] ?? '').startsWith('$')) return false;
  for (let i = 0; i < a.length; i++) {
    if (a[i] === '#') return true; // also covers the parent level: `x/#` matches `x`
    // `+/#` matches every topic `#` does (there is no empty topic for `#` to add).
    if (b[i] === '#') return i === 0 && b.length === 1 && a.length === 2 && a[0] === '+' && a[1] === '#';
    if (i >= b.length) return false;
    if (a[i] !== '+' && (b[i] === '+' || a[i] !== b[i])) return false;
  }
  return a.length === b.length;
}

/** True when some topic matches both filters. */
export function overlaps(x: string, y: string): boolean {
  const a = x.split('/');
  const b = y.split('/');
  const dollar = (f: string[], g: string[]): boolean =>
    isWildcard(f[0]) && !isWildcard(g[0]) && (g[0] ?? '').startsWith('$');
  if (dollar(a, b) || dollar(b, a)) return false;
  for (let i = 0; ; i++) {
    if (a[i] === '#' || b[i] === '#') return true;
    if (i >= a.length || i >= b.length) return a.length === b.length;
    if (a[i] !== '+' && b[i] !== '+' && a[i] !== b[i]) return false;
  }
}

/** The narrowest filter covering both (`sensors/+/probe`, `sensors/d1/+` → `sensors/+/+`). */
export function generalize(x: string, y: string): string {
  const a = x.split('/');
  const b = y.split('/');
  const out: string[] = [];
  for (let i = 0; ; i++) {
    if (i >= a.length && i >= b.length) return out.join('/');
    if (i >= a.length || i >= b.length || a[i] === '#' || b[i] === '#') return [...out, '#'].join('/');
    out.push(a[i] === b[i] ? (a[i] ?? '+') : '+');
  }
}

/**
 * Held filters of which no two overlap, with the highest QoS of the filters each stands for.
 * `refused` lists merged filters the broker would not grant (an ACL that names the inputs one by
 * one): the filters they would have merged stay apart, and a reading on their intersection may
 * then arrive twice (the agent logs it).
 */
export function disjointPlan(
  wanted: ReadonlyMap<string, Qos>,
  refused: ReadonlySet<string> = new Set(),
): Map<string, HeldSubscription> {
  // Each held filter with the wanted filters it stands for.
  let held = new Map<string, Set<string>>([...wanted.keys()].map((f) => [f, new Set([f])]));
  for (let changed = true; changed;) {
    changed = false;
    const filters = [...held.keys()].sort();
    outer: for (const a of filters) {
      for (const b of filters) {
        if (a === b || !overlaps(a, b)) continue;
        const members = new Set([...(held.get(a) ?? []), ...(held.get(b) ?? [])]);
        const merged = covers(a, b) ? a : covers(b, a) ? b : generalize(a, b);
        if (merged !== a && merged !== b && refused.has(merged)) continue;
        const next = new Map(held);
        next.delete(a);
        next.delete(b);
        for (const m of next.get(merged) ?? []) members.add(m);
        next.set(merged, members);
        held = next;
        changed = true;
        break outer;
      }
    }
  }
  const plan = new Map<string, HeldSubscription>();
  for (const [filter, members] of [...held].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))) {
    const qos = [...members].some((m) => wanted.get(m) === 1) ? 1 : 0;
    plan.set(filter, { qos });
  }
  return plan;
}

/**
 * The filter whose copy a function takes: the first that matches among the filters of its earlier
 * revisions that are still subscribed (`retiring`, oldest first), then its own in declared order.
 * Keeping an earlier revision's filter until the broker has confirmed its removal keeps the choice
 * stable while a revision with other filters takes over, so a reading is taken once across it.
 */
export function designatedFilter(
  retiring: readonly string[],
  own: readonly string[],
  matches: (filter: string) => boolean,
): string | undefined {
  for (const f of retiring) if (matches(f)) return f;
  for (const f of own) if (matches(f)) return f;
  return undefined;
}
