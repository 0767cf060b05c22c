// SPDX-License-Identifier: Apache-2.0
// The native edge agent: keeps an MQTT session, converges on the node's retained desired state
// (also from its on-disk copy, so a reboot without a broker restarts the last functions), feeds
// sensor messages to functions and publishes their outputs, and reports status and heartbeats —
// the same contract as the Node agent (docs/mqtt-contract.md). One thread runs the event loop and
// the calls whose deadline is short; flow.rs moves inputs and outputs, start.rs runs lifecycles.
use super::function::{Batch, ManagedFunction};
use super::sensors::SensorRegistry;
use super::start::ModuleFetch;
use crate::clock::{iso, now_ms};
use crate::config::{Settings, broker_for_logs};
use crate::mqtt::acks::OrderedAcks;
use crate::mqtt::budget::OutputBudget;
use crate::mqtt::session::{Client, SessionEvent};
use crate::runtime::{CallOutcome, Guest, LoadError, Runtime};
use crate::store::http::DownloadError;
use crate::store::modules::ModuleStore;
use crate::wire::desired::{DesiredState, parse_desired_state};
use crate::wire::status::{Capacity, LogLine, NodeStatus};
use crate::wire::topics::{WIRE_PREFIX, desired_topic, log_topic, module_topic, status_topic};
use bytes::Bytes;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};

/// 0.2.0: understands module.signatures; "+native" tells the two agents apart in status.
pub const AGENT_VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "+native");
/// Unacknowledged QoS 1 inputs the broker may send us (MQTT 5 Receive Maximum).
pub const MAX_IN_FLIGHT: u16 = 2048;
const STOP_STEP: Duration = Duration::from_secs(2);

pub enum Internal {
    FetchTimeout { fid: u64, digest: String },
    TryUrl { digest: String },
    Downloaded { digest: String, result: Result<Vec<u8>, DownloadError> },
    Loaded { fid: u64, result: Result<Box<dyn Guest>, LoadError> },
    Retry { fid: u64 },
    BatchDone { fid: u64, guest: Box<dyn Guest>, batch: Batch, outcomes: Vec<CallOutcome>, micros_each: f64 },
}

pub struct Entry {
    pub serving: u64,
    /// A new revision starting up; it takes over once Running (or Failed).
    pub next: Option<u64>,
}

/// Something we published, until the broker has it (written for QoS 0, PUBACK for QoS 1).
pub struct Ticket {
    pub bytes: u64,
    /// The QoS 1 input whose acknowledgement waits for this output.
    pub seq: Option<u64>,
    /// Counted in the output budget.
    pub budgeted: bool,
}

/// Where inputs on one topic go (cached per topic; rebuilt when functions or routes change).
pub struct Routing {
    pub targets: Vec<(u64, usize)>,
    pub sensor: String,
    /// The topic, shared by every input on it (one allocation per topic, not per message).
    pub topic: Arc<str>,
    /// The lowest held subscription matching the topic (routing.rs, `is_copy_of`).
    pub lowest_subscription: Option<usize>,
}

pub struct Agent {
    pub s: Settings,
    pub runtime: Arc<Runtime>,
    pub store: ModuleStore,
    pub sensors: SensorRegistry,
    pub budget: OutputBudget,
    pub acks: OrderedAcks,
    pub client: Client,
    pub connected: bool,
    pub desired: Option<DesiredState>,
    pub entries: BTreeMap<String, Entry>,
    pub functions: HashMap<u64, ManagedFunction>,
    pub next_id: u64,
    /// Subscribed filter → (QoS, MQTT 5 subscription identifier).
    pub subscriptions: BTreeMap<String, (u8, usize)>,
    pub next_sub_id: usize,
    /// The session has MQTT 5 subscription identifiers to tell copies apart by.
    pub identifiers: bool,
    /// Without identifiers: partly overlapping filters may be merged into one wider filter
    /// (false once the broker refused a subscription while a merged one was held).
    pub merge_allowed: bool,
    /// The held filters include a merged one.
    pub merged: bool,
    pub targets: HashMap<String, Arc<Routing>>,
    pub batches: Vec<(u64, Batch)>,
    pub fifo: VecDeque<Ticket>,
    pub in_flight: HashMap<u16, Ticket>,
    /// Tickets that were queued when the connection dropped (rumqttc drops them if the session is lost).
    pub queued_at_disconnect: Option<usize>,
    /// Modules on their way (retained topic or URL), by digest.
    pub module_waiters: HashMap<String, ModuleFetch>,
    pub internal: UnboundedSender<Internal>,
    pub started_at: u64,
    pub status_at: Option<Instant>,
    pub state_flush_at: Option<Instant>,
    pub stopping: bool,
    pub reconnects: u32,
}

pub fn log(level: &str, text: &str) {
    eprintln!("{} {level} {text}", iso(now_ms()));
}

impl Agent {
    pub fn new(s: Settings, runtime: Arc<Runtime>, client: Client, internal: UnboundedSender<Internal>) -> Agent {
        Agent {
            store: ModuleStore::new(&s.data_dir),
            sensors: SensorRegistry::new(&s.sensors),
            budget: OutputBudget::new(s.output_buffer, s.output_buffer_bytes),
            acks: OrderedAcks::default(),
            client,
            connected: false,
            desired: None,
            entries: BTreeMap::new(),
            functions: HashMap::new(),
            next_id: 1,
            subscriptions: BTreeMap::new(),
            next_sub_id: 3,
            identifiers: s.protocol_version == 5,
            merge_allowed: true,
            merged: false,
            targets: HashMap::new(),
            batches: Vec::new(),
            fifo: VecDeque::new(),
            in_flight: HashMap::new(),
            queued_at_disconnect: None,
            module_waiters: HashMap::new(),
            internal,
            started_at: now_ms(),
            status_at: None,
            state_flush_at: None,
            stopping: false,
            reconnects: 0,
            runtime,
            s,
        }
    }

    fn desired_file(&self) -> std::path::PathBuf {
        self.s.data_dir.join("desired.json")
    }

    /// Starts the cached functions (no broker needed) before the session delivers anything.
    pub fn start_from_cache(&mut self) {
        match crate::store::atomic::read_if_exists(&self.desired_file()) {
            Ok(Some(raw)) => match parse_desired_state(&raw) {
                Ok(doc) if doc.node == self.s.node_id => self.desired = Some(doc),
                Ok(_) => log("warn", "ignoring the cached desired state: it is for another node"),
                Err(errors) => log("warn", &format!("ignoring the cached desired state: {}", errors.join("; "))),
            },
            Ok(None) => {}
            Err(e) => log("warn", &format!("ignoring the cached desired state: {e}")),
        }
        self.reconcile();
    }

    // ----------------------------------------------------------------------------- session

    pub fn on_session(&mut self, event: SessionEvent) {
        match event {
            SessionEvent::Connected { v5, session_present, identifiers } => {
                self.on_connected(v5, session_present, identifiers)
            }
            SessionEvent::Disconnected { error, refused_credentials, retry_ms } => {
                self.on_disconnected(&error, refused_credentials, retry_ms)
            }
            SessionEvent::FellBack(client) => {
                log("warn", "the broker does not speak MQTT 5; falling back to 3.1.1");
                self.client = client.0;
            }
            SessionEvent::Publish { topic, payload, qos, pkid, sub_ids } => {
                self.on_publish(topic, payload, qos, pkid, &sub_ids)
            }
            SessionEvent::Written(pkid) => self.on_written(pkid),
            SessionEvent::PubAck(pkid) => self.on_puback(pkid),
            SessionEvent::SubAck { pkid, refused } => {
                if refused && self.merged && self.merge_allowed {
                    log(
                        "warn",
                        "the broker refused a subscription while partly overlapping input filters were merged into a wider one: holding them apart; without MQTT 5 subscription identifiers a reading on both may be processed twice",
                    );
                    self.merge_allowed = false;
                    self.sync_subscriptions();
                } else if refused && !self.stopping {
                    log(
                        "error",
                        &format!(
                            "the broker refused a subscription (SUBACK packet {pkid}): MQTT user {:?} may not read it — check that --node ({}) is the device these credentials belong to (with per-device identity they are its node id), and the broker's ACL",
                            self.s.username.clone().or_else(|| self.s.broker.username.clone()).unwrap_or_default(),
                            self.s.node_id
                        ),
                    );
                }
            }
            SessionEvent::Closed => {}
        }
    }

    fn on_connected(&mut self, v5: bool, session_present: bool, identifiers: bool) {
        self.connected = true;
        if identifiers != self.identifiers {
            self.identifiers = identifiers;
            self.sync_subscriptions(); // the plan depends on how copies can be told apart
        }
        self.reconnects = 0;
        log(
            "info",
            &format!("connected to {} (MQTT {})", broker_for_logs(&self.s.broker_url), if v5 { "5" } else { "3.1.1" }),
        );
        if let Some(n) = self.queued_at_disconnect.take() {
            if !session_present {
                // A new session: the client dropped what it held for the old one.
                let lost: Vec<Ticket> =
                    self.in_flight.drain().map(|(_, t)| t).chain(self.fifo.drain(..n.min(self.fifo.len()))).collect();
                for t in lost {
                    self.settle(t);
                }
            }
        }
        self.subscribe(&desired_topic(&self.s.node_id), 1, 1);
        let subs: Vec<(String, (u8, usize))> = self.subscriptions.iter().map(|(f, v)| (f.clone(), *v)).collect();
        for (filter, (qos, id)) in subs {
            self.subscribe(&filter, qos, id);
        }
        for (digest, fetch) in &self.module_waiters {
            if fetch.on_topic() {
                self.client.subscribe(&module_topic(digest), 1, if self.identifiers { 2 } else { 0 });
            }
        }
        if let Some(line) = self.budget.drop_line(true, now_ms(), true) {
            log("warn", &line);
        }
        self.publish_status();
    }

    fn on_disconnected(&mut self, error: &str, refused_credentials: bool, retry_ms: u64) {
        let was = self.connected;
        self.connected = false;
        self.acks.reset();
        if was {
            self.queued_at_disconnect = Some(self.fifo.len());
        }
        if self.stopping {
            return;
        }
        self.reconnects += 1;
        let broker = broker_for_logs(&self.s.broker_url);
        let line = if refused_credentials {
            let user = match self.s.username.clone().or_else(|| self.s.broker.username.clone()) {
                Some(u) => format!("user name {u:?}"),
                None => "no user name set".to_string(),
            };
            let password = match (&self.s.password_file, &self.s.password) {
                (Some(f), _) => format!("the password in {f} (--password-file / WASMFLEET_MQTT_PASSWORD_FILE)"),
                (None, Some(_)) => "the password in WASMFLEET_MQTT_PASSWORD".to_string(),
                _ => "a password: none set, pass --password-file <file>".to_string(),
            };
            format!(
                "the broker {broker} refused the user name or password ({error}; {user}): check --username (WASMFLEET_MQTT_USERNAME) and {password}; retrying with backoff"
            )
        } else {
            format!("MQTT {broker}: {error}; retrying in {retry_ms} ms")
        };
        log("warn", &line);
    }

    fn on_publish(&mut self, topic: String, payload: Bytes, qos: u8, pkid: u16, sub_ids: &[usize]) {
        // Every QoS 1 input gets a ticket, even one nothing handles, so PUBACKs stay in order.
        let seq = (qos > 0 && pkid != 0).then(|| self.acks.open(pkid));
        if topic.starts_with(WIRE_PREFIX) && topic.as_bytes().get(WIRE_PREFIX.len()) == Some(&b'/') {
            if topic == desired_topic(&self.s.node_id) {
                self.on_desired(&payload);
            } else if let Some(digest) = topic.strip_prefix(&format!("{WIRE_PREFIX}/modules/")) {
                self.on_module(digest.to_string(), &payload);
            }
        } else {
            self.dispatch(&topic, payload, seq, sub_ids);
        }
        if let Some(seq) = seq {
            self.release(seq);
        }
    }

    /// Subscribes, with the MQTT 5 subscription identifier `id` when the session has them.
    pub fn subscribe(&self, filter: &str, qos: u8, id: usize) {
        self.client.subscribe(filter, qos, if self.identifiers { id } else { 0 });
    }

    /// Releases one hold on a QoS 1 input; sends the PUBACKs now due, in arrival order.
    pub fn release(&mut self, seq: u64) {
        let mut due = Vec::new();
        self.acks.release(seq, &mut due);
        for pkid in due {
            self.client.ack(pkid);
        }
    }

    // ------------------------------------------------------------------------- publishing

    /// Publishes and keeps a ticket until the broker has it.
    pub fn publish(&mut self, topic: &str, payload: Bytes, qos: u8, retain: bool, ticket: Ticket) {
        if self.client.publish(topic, payload, qos, retain) {
            self.fifo.push_back(Ticket { ..ticket });
            if qos == 0 {
                // Matched by position; marked so on_written settles it at once.
            }
        } else {
            self.settle(ticket);
        }
    }

    fn on_written(&mut self, pkid: u16) {
        if pkid != 0 && self.in_flight.contains_key(&pkid) {
            return; // a resend after a reconnect
        }
        let Some(ticket) = self.fifo.pop_front() else { return };
        if pkid == 0 {
            self.settle(ticket);
        } else {
            self.in_flight.insert(pkid, ticket);
        }
    }

    fn on_puback(&mut self, pkid: u16) {
        if let Some(ticket) = self.in_flight.remove(&pkid) {
            self.settle(ticket);
        }
    }

    /// The output is with the broker (or given up): its room is free, its input may be acked.
    fn settle(&mut self, ticket: Ticket) {
        if ticket.budgeted {
            self.budget.give(ticket.bytes);
        }
        if let Some(seq) = ticket.seq {
            self.release(seq);
        }
    }

    pub fn function_log(&mut self, fid: u64, level: u8, text: &str) {
        if !self.connected {
            return;
        }
        let Some(f) = self.functions.get(&fid) else { return };
        let level = ["debug", "info", "warn", "error"][usize::from(level.min(3))];
        let clipped = crate::wire::status::clip(text, 4096);
        let line = LogLine {
            version: 1,
            ts: iso(now_ms()),
            level,
            namespace: &f.spec.namespace,
            name: &f.spec.name,
            node: &self.s.node_id,
            revision: &f.spec.revision,
            text: &clipped,
        };
        let topic = log_topic(&f.spec.namespace, &f.spec.name, &self.s.node_id);
        let payload = Bytes::from(serde_json::to_vec(&line).unwrap_or_default());
        self.publish(&topic, payload, 0, false, Ticket { bytes: 0, seq: None, budgeted: false });
    }

    // ------------------------------------------------------------------------- desired state

    fn on_desired(&mut self, payload: &[u8]) {
        if payload.is_empty() {
            return; // retained message cleared
        }
        let doc = match parse_desired_state(payload) {
            Ok(doc) => doc,
            Err(errors) => {
                log("error", &format!("refusing the desired state: {}", errors.join("; ")));
                return;
            }
        };
        if doc.node != self.s.node_id {
            log("error", &format!("refusing a desired state addressed to node {}", doc.node));
            return;
        }
        if self.desired.as_ref().is_some_and(|d| doc.generation < d.generation) {
            return; // stale
        }
        if let Err(e) = crate::store::atomic::write_atomic(&self.desired_file(), payload) {
            log("error", &format!("could not persist the desired state: {e}"));
        }
        self.desired = Some(doc);
        self.reconcile();
    }

    // ---------------------------------------------------------------------------------- status

    /// Coalesces bursts of changes into one retained status message.
    pub fn status_changed(&mut self) {
        if self.status_at.is_none() {
            self.status_at = Some(Instant::now() + Duration::from_millis(50));
        }
    }

    pub fn status(&self) -> NodeStatus {
        let functions = self
            .entries
            .values()
            .filter_map(|e| {
                let next = e
                    .next
                    .and_then(|n| self.functions.get(&n))
                    .filter(|n| n.phase() != super::lifecycle::Phase::Running);
                next.or_else(|| self.functions.get(&e.serving)).map(ManagedFunction::report)
            })
            .collect();
        NodeStatus {
            version: 1,
            node: self.s.node_id.clone(),
            state: "online",
            agent_version: Some(AGENT_VERSION.to_string()),
            arch: Some(node_arch().to_string()),
            os: Some(std::env::consts::OS.to_string()),
            started_at: Some(iso(self.started_at)),
            heartbeat_at: Some(iso(now_ms())),
            heartbeat_interval_seconds: Some(self.s.heartbeat_seconds),
            observed_generation: self.desired.as_ref().map(|d| d.generation),
            sensors: Some(self.sensors.report()),
            capacity: Some(Capacity {
                max_functions: self.s.max_functions as u64,
                memory_bytes: self.s.max_functions as u64 * 16 * 1024 * 1024,
                runtimes: vec!["core", "component"],
            }),
            output_buffer: Some(self.budget.report()),
            functions: Some(functions),
        }
    }

    /// Functions with a running instance, by where their calls run: (agent thread, own thread).
    pub fn function_threads(&self) -> (u64, u64) {
        let running = self.functions.values().filter(|f| !f.stopped && f.phase() == super::lifecycle::Phase::Running);
        running.fold((0, 0), |(a, w), f| if f.offload { (a, w + 1) } else { (a + 1, w) })
    }

    pub fn publish_status(&mut self) {
        self.status_at = None;
        if !self.connected || self.stopping {
            return;
        }
        let payload = Bytes::from(serde_json::to_vec(&self.status()).unwrap_or_default());
        let topic = status_topic(&self.s.node_id);
        self.publish(&topic, payload, 1, true, Ticket { bytes: 0, seq: None, budgeted: false });
    }

    /// Writes function state that changed since the last flush.
    pub fn flush_states(&mut self) {
        self.state_flush_at = None;
        for f in self.functions.values() {
            if let Ok(mut s) = f.state.lock() {
                if let Err(e) = s.flush() {
                    log("error", &format!("could not persist the state of {}: {e}", f.key));
                }
            }
        }
    }

    pub fn note_state_write(&mut self) {
        if self.state_flush_at.is_none() {
            self.state_flush_at = Some(Instant::now() + Duration::from_millis(200));
        }
    }

    /// The event loop: session events, finished work, timers, until a stop signal.
    pub async fn run(
        mut self,
        mut events: UnboundedReceiver<SessionEvent>,
        mut internal: UnboundedReceiver<Internal>,
        shutdown: impl std::future::Future<Output = ()>,
        metrics: Option<tokio::net::TcpListener>,
    ) {
        tokio::pin!(shutdown);
        let mut heartbeat = tokio::time::interval(Duration::from_secs(self.s.heartbeat_seconds));
        heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        heartbeat.tick().await;
        loop {
            let status_at = self.status_at;
            let flush_at = self.state_flush_at;
            tokio::select! {
                biased;
                _ = &mut shutdown => break,
                Some(event) = events.recv() => {
                    self.on_session(event);
                    // Everything one socket read delivered becomes one batch per function.
                    while let Ok(event) = events.try_recv() {
                        self.on_session(event);
                    }
                }
                Some(done) = internal.recv() => self.on_internal(done),
                _ = heartbeat.tick() => self.publish_status(),
                _ = sleep_until(status_at), if status_at.is_some() => self.publish_status(),
                _ = sleep_until(flush_at), if flush_at.is_some() => self.flush_states(),
                Ok((stream, _)) = accept(metrics.as_ref()) => {
                    let body = super::metrics_http::render(&self.status(), self.function_threads());
                    tokio::spawn(super::metrics_http::answer(stream, body));
                }
            }
            self.flush_batches();
        }
        self.stop(events, internal).await;
    }

    /// Publishes the offline status, closes the session and stops every function, each step
    /// bounded so a dead broker or a stuck call cannot keep the process from exiting.
    async fn stop(mut self, mut events: UnboundedReceiver<SessionEvent>, mut internal: UnboundedReceiver<Internal>) {
        self.stopping = true;
        for f in self.functions.values_mut() {
            f.stopped = true;
        }
        // Calls running on their own threads finish what they accepted.
        let until = Instant::now() + STOP_STEP;
        while self.functions.values().any(|f| f.busy) && Instant::now() < until {
            match tokio::time::timeout(until.saturating_duration_since(Instant::now()), internal.recv()).await {
                Ok(Some(done)) => self.on_internal(done),
                _ => break,
            }
        }
        self.flush_states();
        if self.connected {
            let offline = Bytes::from(serde_json::to_vec(&NodeStatus::offline(&self.s.node_id)).unwrap_or_default());
            let _ = self.client.publish(&status_topic(&self.s.node_id), offline, 1, true);
            self.fifo.push_back(Ticket { bytes: 0, seq: None, budgeted: false });
            let until = Instant::now() + STOP_STEP;
            let mut acked = false;
            while !acked && Instant::now() < until {
                match tokio::time::timeout(until.saturating_duration_since(Instant::now()), events.recv()).await {
                    Ok(Some(SessionEvent::PubAck(pkid))) => {
                        acked = self.in_flight.is_empty()
                            || self.in_flight.len() == 1 && self.in_flight.contains_key(&pkid);
                        self.on_puback(pkid);
                    }
                    Ok(Some(SessionEvent::Written(pkid))) => self.on_written(pkid),
                    Ok(Some(_)) => {}
                    _ => break,
                }
            }
        }
        self.client.disconnect();
        let _ = tokio::time::timeout(STOP_STEP, async {
            while let Some(e) = events.recv().await {
                if matches!(e, SessionEvent::Closed) {
                    break;
                }
            }
        })
        .await;
    }

    fn on_internal(&mut self, done: Internal) {
        match done {
            Internal::FetchTimeout { fid, digest } => self.on_fetch_timeout(fid, &digest),
            Internal::TryUrl { digest } => self.on_try_url(&digest),
            Internal::Downloaded { digest, result } => self.on_downloaded(digest, result),
            Internal::Loaded { fid, result } => self.on_loaded(fid, result),
            Internal::Retry { fid } => self.on_retry(fid),
            Internal::BatchDone { fid, guest, batch, outcomes, micros_each } => {
                self.on_batch_done(fid, guest, batch, outcomes, micros_each)
            }
        }
    }
}

async fn accept(
    listener: Option<&tokio::net::TcpListener>,
) -> std::io::Result<(tokio::net::TcpStream, std::net::SocketAddr)> {
    match listener {
        Some(l) => l.accept().await,
        None => std::future::pending().await,
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

/// Node.js names for the architecture (the status schema shares them with the Node agent).
pub fn node_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "x64",
        "aarch64" => "arm64",
        "arm" => "arm",
        "x86" => "ia32",
        other => other,
    }
}
