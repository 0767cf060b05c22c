// SPDX-License-Identifier: Apache-2.0
// Which subscriptions the device holds for its functions' input filters, and which copy of a
// message to process. Mosquitto delivers one copy per matching subscription (MQTT allows it);
// each reading must still run each matching function once. Two measures, both pure:
// - a filter covered by another wanted filter is not subscribed at all (the covering one is
//   always among the filters the device was granted), so most overlaps never reach the broker;
// - on MQTT 5 every subscription carries an identifier, and of the copies of one message only
//   the one naming the lowest identifier among the subscriptions that match its topic is
//   processed (a broker that sends one copy naming several identifiers is served the same way).
// What is left on MQTT 3.1.1 — two filters that overlap without one covering the other — can
// still deliver twice there (docs/adr/0021).
use crate::wire::topics::topic_matches;
use std::collections::BTreeMap;

/// True when every topic matching `inner` also matches `outer`.
pub fn covers(outer: &str, inner: &str) -> bool {
    let o: Vec<&str> = outer.split('/').collect();
    let i: Vec<&str> = inner.split('/').collect();
    for (k, level) in o.iter().enumerate() {
        if *level == "#" {
            return true;
        }
        let Some(other) = i.get(k) else { return false };
        if *other == "#" {
            return false;
        }
        if *level != "+" && level != other {
            return false;
        }
    }
    o.len() == i.len()
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
pub fn is_first_copy(topic: &str, copy_ids: &[usize], subscriptions: &BTreeMap<String, (u8, usize)>) -> bool {
    if copy_ids.is_empty() {
        return true; // no identifiers (MQTT 3.1.1): nothing to tell copies apart by
    }
    let lowest = subscriptions.iter().filter(|(f, _)| topic_matches(f, topic)).map(|(_, (_, id))| *id).min();
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
    fn only_the_copy_for_the_lowest_matching_subscription_is_processed() {
        let subs: BTreeMap<String, (u8, usize)> = [("x/+/t".to_string(), (1, 3)), ("x/a/+".to_string(), (1, 5))].into();
        assert!(is_first_copy("x/a/t", &[3], &subs));
        assert!(!is_first_copy("x/a/t", &[5], &subs));
        assert!(is_first_copy("x/a/t", &[5, 3], &subs));
        assert!(is_first_copy("x/b/t", &[3], &subs));
        assert!(is_first_copy("x/a/t", &[], &subs));
    }
}
