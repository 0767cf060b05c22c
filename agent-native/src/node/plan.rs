// SPDX-License-Identifier: Apache-2.0
// What a desired document means for the functions running now (pure; agent/src/reconcile/plan.ts):
// start the new keys, replace those whose revision changed, stop those no longer listed.
use crate::wire::desired::{DesiredFunction, function_key};
use std::collections::{HashMap, HashSet};

#[derive(Debug, Default, PartialEq)]
pub struct Plan {
    pub start: Vec<DesiredFunction>,
    pub replace: Vec<DesiredFunction>,
    pub stop: Vec<String>,
}

/// `running`: key → the revision it runs (or is starting).
pub fn plan(desired: &[DesiredFunction], running: &HashMap<String, String>) -> Plan {
    let mut p = Plan::default();
    let mut wanted = HashSet::new();
    for f in desired {
        let key = function_key(f);
        if !wanted.insert(key.clone()) {
            continue; // a duplicate key: the first one wins
        }
        match running.get(&key) {
            None => p.start.push(f.clone()),
            Some(rev) if *rev != f.revision => p.replace.push(f.clone()),
            Some(_) => {}
        }
    }
    let mut stop: Vec<String> = running.keys().filter(|k| !wanted.contains(*k)).cloned().collect();
    stop.sort();
    p.stop = stop;
    p
}
