// SPDX-License-Identifier: Apache-2.0
// Which subscriptions the device holds for its functions' input filters, and which copy of a
// message to process. Mosquitto delivers one copy per matching subscription (MQTT allows it);
// each reading must still run each matching function once. Two measures, both pure:
// - a filter covered by another wanted filter is not subscribed at all (the covering one is
//   always among the filters the device was granted), so most overlaps never reach the broker;
// - on MQTT 5 every subscription carries an identifier, and of the copies of one message only
//   the one naming the lowest identifier among the subscriptions that match its topic is
//   processed (a broker that sends one copy naming several identifiers is served the same way).
// - without identifiers (MQTT 3.1.1, or an MQTT 5 broker that has none), the held filters never
//   overlap: covered ones are dropped and two that only partly overlap are replaced by the
//   narrowest filter covering both (`sensors/+/probe`, `sensors/d1/+` → `sensors/+/+`), so every
//   message matches one held subscription and arrives once on any broker (the Node agent's
//   subscription-plan.ts; routing to functions stays by their own filters).
use crate::wire::topics::topic_matches;
use std::collections::BTreeMap;

fn is_wildcard(level: Option<&&str>) -> bool {
    matches!(level, Some(&"+") | Some(&"#"))
}

/// A wildcard first level never matches a `$` topic (MQTT 4.7.2).
fn dollar_guard(f: &[&str], g: &[&str]) -> bool {
    is_wildcard(f.first()) && !is_wildcard(g.first()) && g.first().is_some_and(|l| l.starts_with('$'))
}

/// True when every topic matching `inner` also matches `outer`.
pub fn covers(outer: &str, inner: &str) -> bool {
    let o: Vec<&str> = outer.split('/').collect();
    let i: Vec<&str> = inner.split('/').collect();
    if dollar_guard(&o, &i) {
        return false;
    }
    for (k, level) in o.iter().enumerate() {
        if *level == "#" {
            return true; // also the parent level: `x/#` matches `x`
        }
        let Some(other) = i.get(k) else { return false };
        if *other == "#" {
            // `+/#` matches every topic `#` does (there is no empty topic for `#` to add).
            return k == 0 && i.len() == 1 && o.len() == 2 && o[0] == "+" && o[1] == "#";
        }
        if *level != "+" && (*other == "+" || level != other) {
            return false;
        }
    }
    o.len() == i.len()
}

/// True when some topic matches both filters.
pub fn overlaps(x: &str, y: &str) -> bool {
    let a: Vec<&str> = x.split('/').collect();
    let b: Vec<&str> = y.split('/').collect();
    if dollar_guard(&a, &b) || dollar_guard(&b, &a) {
        return false;
    }
    for k in 0.. {
        if a.get(k) == Some(&"#") || b.get(k) == Some(&"#") {
            return true;
        }
        if k >= a.len() || k >= b.len() {
            return a.len() == b.len();
        }
        if a[k] != "+" && b[k] != "+" && a[k] != b[k] {
            return false;
        }
    }
    unreachable!()
}

/// The narrowest filter covering both (`sensors/+/probe`, `sensors/d1/+` → `sensors/+/+`).
pub fn generalize(x: &str, y: &str) -> String {
    let a: Vec<&str> = x.split('/').collect();
    let b: Vec<&str> = y.split('/').collect();
    let mut out: Vec<&str> = Vec::new();
    for k in 0.. {
        if k >= a.len() && k >= b.len() {
            break;
        }
        if k >= a.len() || k >= b.len() || a[k] == "#" || b[k] == "#" {
            out.push("#");
            break;
        }
        out.push(if a[k] == b[k] { a[k] } else { "+" });
    }
    out.join("/")
}

/// Held filters of which no two overlap, each with the highest QoS of the wanted filters it
/// stands for. `merge` false (the broker refused a merged filter: an ACL that names the inputs
/// one by one) only drops covered filters; partial overlaps may then deliver a reading twice.
pub fn disjoint(wanted: &BTreeMap<String, u8>, merge: bool) -> BTreeMap<String, u8> {
    let mut held: BTreeMap<String, u8> = wanted.clone();
    'again: loop {
        let filters: Vec<String> = held.keys().cloned().collect();
        for a in &filters {
            for b in &filters {
                if a == b || !overlaps(a, b) {
                    continue;
                }
                let merged = if covers(a, b) {
                    a.clone()
                } else if covers(b, a) {
                    b.clone()
                } else if merge {
                    generalize(a, b)
                } else {
                    continue;
                };
                let qos = held[a].max(held[b]).max(held.get(&merged).copied().unwrap_or(0));
                held.remove(a);
                held.remove(b);
                held.insert(merged, qos);
                continue 'again;
            }
        }
        return held;
    }
}

/// The filters to subscribe: every wanted filter not covered by another, with the highest QoS
/// of what it covers. Equal filters collapse; of two filters that cover each other (only equal
/// ones do) the first is kept.
pub fn reduce(wanted: &BTreeMap<String, u8>) -> BTreeMap<String, u8> {
    let filters: Vec<(&String, &u8)> = wanted.iter().collect();
    let mut out = BTreeMap::new();
    for (f, _) in &filters {
        let covered = filters.iter().any(|(g, _)| g != f && covers(g, f) && !(covers(f, g) && g > f));
        if covered {
            continue;
        }
        let qos = filters.iter().filter(|(g, _)| covers(f, g)).map(|(_, q)| **q).max().unwrap_or(0);
        out.insert((*f).clone(), qos);
    }
    out
}

/// Whether this copy of a message on `topic` is the one to process.
#[cfg(test)]
pub fn is_first_copy(topic: &str, copy_ids: &[usize], subscriptions: &BTreeMap<String, (u8, usize)>) -> bool {
    is_copy_of(lowest_subscription(topic, subscriptions), copy_ids)
}

/// The identifier of the lowest held subscription matching `topic`: its copy is the one processed
/// (the agent keeps it per topic with the topic's routing, so a message does not match filters).
pub fn lowest_subscription(topic: &str, subscriptions: &BTreeMap<String, (u8, usize)>) -> Option<usize> {
    subscriptions.iter().filter(|(f, _)| topic_matches(f, topic)).map(|(_, (_, id))| *id).min()
}

/// Whether a copy delivered for the subscriptions `copy_ids` is the one to process.
pub fn is_copy_of(lowest: Option<usize>, copy_ids: &[usize]) -> bool {
    if copy_ids.is_empty() {
        return true; // no identifiers (MQTT 3.1.1): nothing to tell copies apart by
    }
    match lowest {
        Some(id) => copy_ids.contains(&id),
        // Only subscriptions we no longer hold match: process the copy (a function may still want it).
        None => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn covering_filters_absorb_the_filters_they_cover() {
        assert!(covers("sensors/+", "sensors/a"));
        assert!(covers("sensors/#", "sensors/+/t"));
        assert!(covers("#", "a/b"));
        assert!(!covers("sensors/+", "sensors/#"));
        assert!(!covers("sensors/a/+", "sensors/+/t"));
        let wanted: BTreeMap<String, u8> = [
            ("sensors/+".to_string(), 0),
            ("sensors/a".to_string(), 1),
            ("x/+/t".to_string(), 1),
            ("x/a/+".to_string(), 0),
        ]
        .into();
        let reduced = reduce(&wanted);
        assert_eq!(reduced.get("sensors/+"), Some(&1));
        assert!(!reduced.contains_key("sensors/a"));
        assert!(reduced.contains_key("x/+/t") && reduced.contains_key("x/a/+"));
    }

    #[test]
    fn wildcards_never_cover_or_overlap_dollar_topics() {
        assert!(!covers("#", "$SYS/x") && !covers("+/x", "$SYS/x") && covers("$SYS/#", "$SYS/x"));
        assert!(!overlaps("#", "$SYS/x") && overlaps("$SYS/+", "$SYS/x"));
        assert!(covers("+/#", "#") && covers("a/#", "a") && !covers("a/+", "a"));
    }

    #[test]
    fn without_identifiers_no_two_held_filters_overlap() {
        let wanted: BTreeMap<String, u8> = [
            ("sensors/+/probe".to_string(), 0),
            ("sensors/d1/+".to_string(), 1),
            ("sensors/d1/probe".to_string(), 0),
            ("other/x".to_string(), 0),
            ("deep/a/#".to_string(), 0),
            ("deep/+/b/c".to_string(), 1),
        ]
        .into();
        let held = disjoint(&wanted, true);
        assert_eq!(
            held,
            [("deep/+/#".to_string(), 1), ("other/x".to_string(), 0), ("sensors/+/+".to_string(), 1)].into()
        );
        for a in held.keys() {
            for b in held.keys() {
                assert!(a == b || !overlaps(a, b), "{a} overlaps {b}");
            }
        }
        // Every wanted filter is covered by exactly one held filter.
        for w in wanted.keys() {
            assert_eq!(held.keys().filter(|h| covers(h, w)).count(), 1, "{w}");
        }
        // Merging refused: covered filters still go, partial overlaps stay apart.
        let kept = disjoint(&wanted, false);
        assert!(kept.contains_key("sensors/+/probe") && kept.contains_key("sensors/d1/+"));
        assert!(!kept.contains_key("sensors/d1/probe"));
    }

    #[test]
    fn only_the_copy_for_the_lowest_matching_subscription_is_processed() {
        let subs: BTreeMap<String, (u8, usize)> = [("x/+/t".to_string(), (1, 3)), ("x/a/+".to_string(), (1, 5))].into();
        assert!(is_first_copy("x/a/t", &[3], &subs));
        assert!(!is_first_copy("x/a/t", &[5], &subs));
        assert!(is_first_copy("x/a/t", &[5, 3], &subs));
        assert!(is_first_copy("x/b/t", &[3], &subs));
        assert!(is_first_copy("x/a/t", &[], &subs));
    }
}
