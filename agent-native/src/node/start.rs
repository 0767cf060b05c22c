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
use super::routing::{disjoint, reduce};
use crate::clock::now_ms;
use crate::config::Isolation;
use crate::runtime::{DEFAULT_MAX_MODULE_BYTES, Guest, LoadError, LoadOptions, compile_timeout_ms};
use crate::signing::verify::{Policy, Verdict, verify_module_signatures};
use crate::store::http::{DownloadError, download};
use crate::store::state::{FileState, state_file};
use crate::wire::desired::{DesiredFunction, ModuleRef, function_key};
use crate::wire::envelope::decode_module_envelope;
use crate::wire::topics::module_topic;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The longest call deadline a function on the agent's thread may hold it for.
pub const INLINE_MAX_TIMEOUT_MS: u64 = 100;
const FETCH_TIMEOUT: Duration = Duration::from_secs(30);
/// With a module.url to fall back on, how long to wait for the retained envelope (the Node agent's 1.5 s).
const RETAINED_GRACE: Duration = Duration::from_millis(1_500);

/// One module on its way: the functions waiting for it and where it is coming from.
pub struct ModuleFetch {
    pub fids: Vec<u64>,
    pub url: Option<String>,
    /// The URL is being downloaded (the topic was given up, or there was no session).
    pub downloading: bool,
}

impl ModuleFetch {
    fn new(url: Option<String>) -> Self {
        ModuleFetch { fids: Vec::new(), url, downloading: false }
    }

    /// Waiting for the retained envelope (subscribed while connected).
    pub fn on_topic(&self) -> bool {
        !self.downloading
    }
}

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
        for (digest, fetch) in self.module_waiters.iter_mut() {
            fetch.fids.retain(|f| *f != fid);
            if fetch.fids.is_empty() {
                emptied.push(digest.clone());
            }
        }
        for digest in emptied {
            if let Some(fetch) = self.module_waiters.remove(&digest) {
                if self.connected && fetch.on_topic() {
                    self.client.unsubscribe(&module_topic(&digest));
                }
            }
        }
    }

    /// The filters the functions want, reduced to those no other wanted filter covers; without
    /// subscription identifiers, also partial overlaps merged (no two held filters overlap).
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
        let reduced = if self.identifiers { reduce(&wanted) } else { disjoint(&wanted, self.merge_allowed) };
        self.merged = reduced.keys().any(|f| !wanted.contains_key(f));
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
                self.subscribe(filter, *qos, id);
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
        self.fetch_module(fid, module);
    }

    /// Joins (or starts) the fetch of a module that is not in the store: the retained topic
    /// first, then `module.url`; without a session, the URL only.
    fn fetch_module(&mut self, fid: u64, module: ModuleRef) {
        let digest = module.sha256.clone();
        let fetch = self.module_waiters.entry(digest.clone()).or_insert_with(|| ModuleFetch::new(module.url.clone()));
        fetch.fids.push(fid);
        if fetch.url.is_none() {
            fetch.url = module.url.clone();
        }
        let first = fetch.fids.len() == 1;
        let on_topic = fetch.on_topic();
        if first && !self.connected {
            if module.url.is_some() {
                self.download(&digest);
            } else {
                self.module_waiters.remove(&digest);
                let message = format!(
                    "no source had module sha256:{digest}: not connected to the broker, cannot read the module topic"
                );
                self.on_fetched(fid, Err(("FetchFailed".into(), message)));
            }
            return;
        }
        let tx = self.internal.clone();
        if first {
            self.subscribe(&module_topic(&digest), 1, 2);
            if module.url.is_some() {
                // A broker sends a retained message right after the SUBACK: one that has not come
                // by then is not on the broker, and the URL is tried instead of waiting 30 s.
                let (tx, digest) = (tx.clone(), digest.clone());
                tokio::spawn(async move {
                    tokio::time::sleep(RETAINED_GRACE).await;
                    let _ = tx.send(Internal::TryUrl { digest });
                });
            }
        }
        if on_topic {
            tokio::spawn(async move {
                tokio::time::sleep(FETCH_TIMEOUT).await;
                let _ = tx.send(Internal::FetchTimeout { fid, digest });
            });
        }
    }

    /// The retained envelope did not come in its grace: stop waiting on the topic, GET the URL.
    pub fn on_try_url(&mut self, digest: &str) {
        let Some(fetch) = self.module_waiters.get(digest) else { return };
        if !fetch.on_topic() || fetch.url.is_none() {
            return;
        }
        if self.connected {
            self.client.unsubscribe(&module_topic(digest));
        }
        self.download(digest);
    }

    /// Starts the download of `module.url` on a blocking thread.
    fn download(&mut self, digest: &str) {
        let Some(fetch) = self.module_waiters.get_mut(digest) else { return };
        let Some(url) = fetch.url.clone() else { return };
        fetch.downloading = true;
        let size = self.functions.get(&fetch.fids[0]).map_or(0, |f| f.spec.module.size);
        let tx = self.internal.clone();
        let digest = digest.to_string();
        tokio::spawn(async move {
            let result = match tokio::task::spawn_blocking(move || download(&url, size)).await {
                Ok(r) => r,
                Err(join) => {
                    Err(DownloadError { reason: "FetchFailed", message: format!("the download failed: {join}") })
                }
            };
            let _ = tx.send(Internal::Downloaded { digest, result });
        });
    }

    /// The URL answered: its bytes go through the store (digest check) like the topic's.
    pub fn on_downloaded(&mut self, digest: String, result: Result<Vec<u8>, DownloadError>) {
        let Some(fetch) = self.module_waiters.remove(&digest) else { return }; // the topic was faster
        let result = match result {
            Ok(bytes) => self.keep_module(&digest, &bytes).map(|()| bytes),
            Err(e) if e.reason == "DigestMismatch" => Err((e.reason.to_string(), e.message)),
            Err(e) => Err(("FetchFailed".to_string(), format!("no source had module sha256:{digest}: {}", e.message))),
        };
        for fid in fetch.fids {
            self.on_fetched(fid, result.clone());
        }
    }

    /// Verifies `bytes` against `digest` and stores them (the only way bytes reach the compiler).
    fn keep_module(&self, digest: &str, bytes: &[u8]) -> Result<(), (String, String)> {
        let referenced: HashSet<String> = self
            .desired
            .as_ref()
            .map(|d| d.functions.iter().map(|f| f.module.sha256.clone()).collect())
            .unwrap_or_default();
        self.store.put(digest, bytes, &referenced).map_err(|e| (e.reason.to_string(), e.message))
    }

    /// A retained module envelope arrived: every fetch waiting for it continues.
    pub fn on_module(&mut self, digest: String, payload: &[u8]) {
        let Some(fetch) = self.module_waiters.remove(&digest) else { return };
        if fetch.on_topic() {
            self.client.unsubscribe(&module_topic(&digest));
        }
        let result = match decode_module_envelope(payload) {
            Err(e) => Err(("FetchFailed".to_string(), format!("{}: {e}", module_topic(&digest)))),
            Ok(bytes) => self.keep_module(&digest, bytes).map(|()| bytes.to_vec()),
        };
        for fid in fetch.fids {
            self.on_fetched(fid, result.clone());
        }
    }

    pub fn on_fetch_timeout(&mut self, fid: u64, digest: &str) {
        let waiting = self.module_waiters.get(digest).is_some_and(|f| f.on_topic() && f.fids.contains(&fid));
        if !waiting {
            return; // delivered, or the URL has it now (the download has its own limit)
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
