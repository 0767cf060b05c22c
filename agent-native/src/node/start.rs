// SPDX-License-Identifier: Apache-2.0
// Converging on the desired state and running each function's lifecycle: start the new ones,
// start a new revision beside the old one and switch over once it runs, stop what is gone; and
// for each start, fetch (store, then the retained module topic) → check the digest → check the
// signatures → compile and instantiate off the event loop → Running, or Failed /
// CrashLoopBackOff with the reason (agent/src/node/managed-function.ts, the same phases).
use super::agent::{Agent, Entry, Internal, log};
use super::function::{FATAL, ManagedFunction};
use super::lifecycle::{Event, Phase};
use super::plan::plan;
use super::routing::reduce;
use crate::clock::now_ms;
use crate::config::Isolation;
use crate::runtime::{DEFAULT_MAX_MODULE_BYTES, Guest, LoadError, LoadOptions, compile_timeout_ms};
use crate::signing::verify::{Policy, Verdict, verify_module_signatures};
use crate::store::state::{FileState, state_file};
use crate::wire::desired::{DesiredFunction, function_key};
use crate::wire::envelope::decode_module_envelope;
use crate::wire::topics::module_topic;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The longest call deadline a function on the agent's thread may hold it for.
pub const INLINE_MAX_TIMEOUT_MS: u64 = 100;
const FETCH_TIMEOUT: Duration = Duration::from_secs(30);

impl Agent {
    pub fn reconcile(&mut self) {
        if self.stopping {
            return;
        }
        let desired: Vec<DesiredFunction> = self
            .desired
            .as_ref()
            .map(|d| d.functions.iter().take(self.s.max_functions).cloned().collect())
            .unwrap_or_default();
        let running: HashMap<String, String> = self
            .entries
            .iter()
            .filter_map(|(k, e)| {
                self.functions.get(&e.next.unwrap_or(e.serving)).map(|f| (k.clone(), f.spec.revision.clone()))
            })
            .collect();
        let actions = plan(&desired, &running);
        for spec in actions.start {
            let fid = self.create(spec);
            let key = self.functions[&fid].key.clone();
            self.entries.insert(key, Entry { serving: fid, next: None });
            self.begin(fid);
        }
        for spec in actions.replace {
            let key = function_key(&spec);
            let fid = self.create(spec);
            let superseded = self.entries.get_mut(&key).and_then(|e| e.next.replace(fid));
            if let Some(old) = superseded {
                self.stop_function(old);
            }
            self.begin(fid);
        }
        for key in actions.stop {
            if let Some(e) = self.entries.remove(&key) {
                if let Some(next) = e.next {
                    self.stop_function(next);
                }
                self.stop_function(e.serving);
            }
        }
        self.sync_subscriptions();
        self.gc_modules();
        self.status_changed();
    }

    fn create(&mut self, spec: DesiredFunction) -> u64 {
        let fid = self.next_id;
        self.next_id += 1;
        let state = Arc::new(Mutex::new(FileState::open(state_file(&self.s.data_dir, &spec.namespace, &spec.name))));
        let offload = self.s.isolation == Isolation::Worker || spec.limits.timeout_ms > INLINE_MAX_TIMEOUT_MS;
        let f = ManagedFunction::new(fid, spec, &self.s.node_id, state, offload);
        self.functions.insert(fid, f);
        fid
    }

    /// Stops taking inputs; one running on its own thread finishes its batch, then goes.
    pub fn stop_function(&mut self, fid: u64) {
        let Some(f) = self.functions.get_mut(&fid) else { return };
        f.stopped = true;
        if let Ok(mut s) = f.state.lock() {
            let _ = s.flush();
        }
        self.drop_waiting(fid);
        if !self.functions.get(&fid).is_some_and(|f| f.busy) {
            self.functions.remove(&fid);
        }
        self.forget_waiter(fid);
        self.targets.clear();
    }

    fn forget_waiter(&mut self, fid: u64) {
        let mut emptied = Vec::new();
        for (digest, fids) in self.module_waiters.iter_mut() {
            fids.retain(|f| *f != fid);
            if fids.is_empty() {
                emptied.push(digest.clone());
            }
        }
        for digest in emptied {
            self.module_waiters.remove(&digest);
            if self.connected {
                self.client.unsubscribe(&module_topic(&digest));
            }
        }
    }

    /// The filters the functions want, reduced to those no other wanted filter covers.
    pub fn sync_subscriptions(&mut self) {
        self.targets.clear(); // which function serves a topic may have changed
        let mut wanted: BTreeMap<String, u8> = BTreeMap::new();
        for e in self.entries.values() {
            for fid in [Some(e.serving), e.next].into_iter().flatten() {
                if let Some(f) = self.functions.get(&fid) {
                    for r in &f.routes {
                        let q = wanted.entry(r.filter.clone()).or_insert(0);
                        *q = (*q).max(r.qos);
                    }
                }
            }
        }
        let reduced = reduce(&wanted);
        for (filter, qos) in &reduced {
            let id = match self.subscriptions.get(filter) {
                Some((q, _)) if q == qos => continue,
                Some((_, id)) => *id,
                None => {
                    self.next_sub_id += 1;
                    self.next_sub_id
                }
            };
            self.subscriptions.insert(filter.clone(), (*qos, id));
            if self.connected {
                self.client.subscribe(filter, *qos, id);
            }
        }
        let gone: Vec<String> = self.subscriptions.keys().filter(|f| !reduced.contains_key(*f)).cloned().collect();
        for filter in gone {
            self.subscriptions.remove(&filter);
            if self.connected {
                self.client.unsubscribe(&filter);
            }
        }
    }

    fn gc_modules(&mut self) {
        let referenced: HashSet<String> = self
            .desired
            .as_ref()
            .map(|d| d.functions.iter().map(|f| f.module.sha256.clone()).collect())
            .unwrap_or_default();
        // Modules still being fetched or started are referenced by the document that started them.
        self.store.gc(&referenced);
        self.runtime.gc(&referenced);
    }

    // ------------------------------------------------------------------------------- lifecycle

    /// Pending → Fetching: from the store, else from the retained module topic.
    pub fn begin(&mut self, fid: u64) {
        let Some(f) = self.functions.get_mut(&fid) else { return };
        if f.stopped || f.phase() != Phase::Pending {
            return;
        }
        if let Some(problem) = f.topic_problem.clone() {
            self.fail(fid, "InvalidTopic", &problem, true);
            return;
        }
        let _ = f.to(Event::Fetch);
        let module = f.spec.module.clone();
        self.status_changed();
        if let Some(bytes) = self.store.get(&module.sha256) {
            self.on_fetched(fid, Ok(bytes));
            return;
        }
        if module.size > self.store.max_blob {
            let message =
                format!("the module is {} bytes; this agent accepts at most {}", module.size, self.store.max_blob);
            self.on_fetched(fid, Err(("ModuleTooLarge".into(), message)));
            return;
        }
        if !self.connected {
            let message = format!(
                "no source had module sha256:{}: not connected to the broker, cannot read the module topic",
                module.sha256
            );
            self.on_fetched(fid, Err(("FetchFailed".into(), message)));
            return;
        }
        let waiters = self.module_waiters.entry(module.sha256.clone()).or_default();
        waiters.push(fid);
        if waiters.len() == 1 {
            self.client.subscribe(&module_topic(&module.sha256), 1, 2);
        }
        let tx = self.internal.clone();
        let digest = module.sha256;
        tokio::spawn(async move {
            tokio::time::sleep(FETCH_TIMEOUT).await;
            let _ = tx.send(Internal::FetchTimeout { fid, digest });
        });
    }

    /// A retained module envelope arrived: every fetch waiting for it continues.
    pub fn on_module(&mut self, digest: String, payload: &[u8]) {
        let Some(fids) = self.module_waiters.remove(&digest) else { return };
        self.client.unsubscribe(&module_topic(&digest));
        let result = match decode_module_envelope(payload) {
            Err(e) => Err(("FetchFailed".to_string(), format!("{}: {e}", module_topic(&digest)))),
            Ok(bytes) => {
                let referenced: HashSet<String> = self
                    .desired
                    .as_ref()
                    .map(|d| d.functions.iter().map(|f| f.module.sha256.clone()).collect())
                    .unwrap_or_default();
                match self.store.put(&digest, bytes, &referenced) {
                    Ok(()) => Ok(bytes.to_vec()),
                    Err(e) => Err((e.reason.to_string(), e.message)),
                }
            }
        };
        for fid in fids {
            self.on_fetched(fid, result.clone());
        }
    }

    pub fn on_fetch_timeout(&mut self, fid: u64, digest: &str) {
        let waiting = self.module_waiters.get(digest).is_some_and(|f| f.contains(&fid));
        if !waiting {
            return;
        }
        self.forget_waiter(fid);
        let message = format!(
            "no source had module sha256:{digest}: no retained module arrived on {} in time",
            module_topic(digest)
        );
        self.on_fetched(fid, Err(("FetchFailed".into(), message)));
    }

    /// Fetching → (digest checked by the store) signatures → Starting → load off the event loop.
    pub fn on_fetched(&mut self, fid: u64, result: Result<Vec<u8>, (String, String)>) {
        let Some(f) = self.functions.get(&fid) else { return };
        if f.stopped || f.phase() != Phase::Fetching {
            return;
        }
        let bytes = match result {
            Ok(b) => b,
            Err((reason, message)) => {
                self.fail(fid, &reason, &message, true);
                return;
            }
        };
        let policy = Policy { trusted: self.s.trusted_keys.clone(), allow_unsigned: self.s.allow_unsigned };
        let verdict = verify_module_signatures(&f.spec.module.sha256, f.spec.module.signatures.as_deref(), &policy);
        match verdict {
            Verdict::Refused { reason, message } => {
                self.function_log(fid, 3, &format!("refused: {reason}: {message}"));
                self.fail(fid, reason, &message, true);
                return;
            }
            Verdict::Ok { key_id: Some(key), kind } => {
                self.function_log(fid, 1, &format!("module signature verified ({kind}, key {key})"))
            }
            Verdict::Ok { .. } => {}
        }
        let Some(f) = self.functions.get_mut(&fid) else { return };
        let _ = f.to(Event::Fetched);
        let options = LoadOptions {
            outputs: f.outputs.iter().map(|o| o.topic.clone()).collect(),
            config: f.spec.config.clone(),
            memory_bytes: f.spec.limits.memory_bytes,
            timeout_ms: f.spec.limits.timeout_ms,
            max_module_bytes: f.spec.limits.max_module_bytes.unwrap_or(DEFAULT_MAX_MODULE_BYTES),
            state: f.state.clone(),
        };
        self.status_changed();
        let runtime = self.runtime.clone();
        let tx = self.internal.clone();
        let limit_ms = compile_timeout_ms(bytes.len());
        tokio::spawn(async move {
            let load = tokio::task::spawn_blocking(move || runtime.load(&bytes, options));
            let result = match tokio::time::timeout(Duration::from_millis(limit_ms), load).await {
                Ok(Ok(r)) => r,
                Ok(Err(join)) => Err(LoadError {
                    reason: "InitFailed",
                    message: format!("the runtime failed while loading: {join}"),
                }),
                Err(_) => Err(LoadError {
                    reason: "CompileTimeout",
                    message: format!("compiling and starting the module took longer than {limit_ms} ms"),
                }),
            };
            let _ = tx.send(Internal::Loaded { fid, result });
        });
    }

    pub fn on_loaded(&mut self, fid: u64, result: Result<Box<dyn Guest>, LoadError>) {
        let Some(f) = self.functions.get_mut(&fid) else { return };
        if f.stopped || f.phase() != Phase::Starting {
            return;
        }
        match result {
            Ok(guest) => {
                let kind = guest.kind();
                f.guest = Some(guest);
                let line = format!("started ({kind}{})", if f.offload { ", calls on a thread of its own" } else { "" });
                let _ = f.to(Event::Started);
                self.function_log(fid, 1, &line);
                self.status_changed();
                self.switch_over(fid);
                self.drain_waiting(fid);
            }
            Err(e) => self.fail(fid, e.reason, &e.message, true),
        }
    }

    /// A new revision settled (Running or Failed): it takes over the inputs; the old one finishes
    /// what it accepted and goes.
    fn switch_over(&mut self, fid: u64) {
        let key = match self.functions.get(&fid) {
            Some(f) => f.key.clone(),
            None => return,
        };
        let old = match self.entries.get_mut(&key) {
            Some(e) if e.next == Some(fid) => {
                e.next = None;
                std::mem::replace(&mut e.serving, fid)
            }
            _ => return,
        };
        self.stop_function(old);
        self.sync_subscriptions();
    }

    /// `during_start`: a broken module is final; at run time every failure is a crash to back off from.
    pub fn fail(&mut self, fid: u64, reason: &str, message: &str, during_start: bool) {
        let Some(f) = self.functions.get_mut(&fid) else { return };
        let fatal = during_start && FATAL.contains(&reason);
        let event = if fatal {
            Event::Fatal { reason: reason.to_string(), message: message.to_string() }
        } else {
            Event::Crashed { reason: reason.to_string(), message: message.to_string() }
        };
        if let Err(e) = f.to(event) {
            log("error", &format!("{}: {e}", f.key));
            return;
        }
        f.guest = None;
        let retry_in = f.lifecycle.next_retry_at.map(|at| at.saturating_sub(now_ms()));
        self.drop_waiting(fid);
        self.status_changed();
        if during_start {
            self.switch_over(fid);
        }
        if fatal {
            return;
        }
        if let Some(ms) = retry_in {
            let tx = self.internal.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(ms)).await;
                let _ = tx.send(Internal::Retry { fid });
            });
        }
    }

    pub fn on_retry(&mut self, fid: u64) {
        let Some(f) = self.functions.get_mut(&fid) else { return };
        if f.stopped || f.phase() != Phase::CrashLoopBackOff {
            return;
        }
        let _ = f.to(Event::Retry);
        self.begin(fid);
    }
}
