// SPDX-License-Identifier: Apache-2.0
// One function revision on this node: its routes and outputs (with `{node}` expanded and the
// topic rules checked), its lifecycle state, its loaded instance, its metrics and state file,
// and the inputs that wait for it — while it starts, or while a batch runs on its own thread.
// The agent (agent.rs) drives it; this file holds what belongs to one function.
use super::lifecycle::{Event, Phase, State, initial_state, transition};
use super::metrics::FunctionMetrics;
use super::payload::DEFAULT_MAX_PAYLOAD_BYTES;
use crate::clock::{iso, now_ms};
use crate::runtime::{CallOutcome, CallResult, Guest};
use crate::store::state::SharedState;
use crate::wire::desired::{DesiredFunction, PayloadFormat, function_key};
use crate::wire::status::{FunctionStatusReport, clip};
use crate::wire::topics::{expand_node, function_topic_problem, topic_matches};
use bytes::Bytes;
use std::sync::Arc;

/// Failures that show the module itself is broken: retrying the same revision cannot help.
pub const FATAL: &[&str] = &[
    "InvalidModule",
    "MissingImport",
    "MissingExport",
    "ModuleTooLarge",
    "OutOfMemory",
    "DigestMismatch",
    "StoreFull",
    "Unsigned",
    "UntrustedKey",
    "SignatureInvalid",
    "InvalidTopic",
];
/// Consecutive failed calls of these kinds count as a crash. Guest errors do not: they are answers.
const CRASHING: &[&str] = &["Trap", "Timeout", "OutOfMemory"];
pub const CRASH_AFTER_FAILURES: u32 = 5;
/// Inputs a function holds while it starts or while a batch runs; beyond it QoS 0 inputs are dropped.
pub const MAX_QUEUED: usize = 10_000;

#[derive(Clone)]
pub struct Route {
    pub filter: String,
    pub qos: u8,
    pub format: PayloadFormat,
}

#[derive(Clone)]
pub struct Output {
    pub topic: String,
    pub qos: u8,
    pub retain: bool,
}

/// One input message as a function sees it.
#[derive(Clone)]
pub struct Input {
    pub topic: Arc<str>,
    pub payload: Bytes,
    pub timestamp_ms: u64,
}

/// Inputs handed to a function together, each with its ack ticket (None for QoS 0).
#[derive(Default)]
pub struct Batch {
    pub inputs: Vec<Input>,
    pub seqs: Vec<Option<u64>>,
}

impl Batch {
    pub fn push(&mut self, input: Input, seq: Option<u64>) {
        self.inputs.push(input);
        self.seqs.push(seq);
    }

    pub fn append(&mut self, mut other: Batch) {
        self.inputs.append(&mut other.inputs);
        self.seqs.append(&mut other.seqs);
    }

    pub fn len(&self) -> usize {
        self.inputs.len()
    }
}

pub struct ManagedFunction {
    pub id: u64,
    pub spec: DesiredFunction,
    pub key: String,
    pub routes: Vec<Route>,
    pub outputs: Vec<Output>,
    pub topic_problem: Option<String>,
    pub lifecycle: State,
    pub metrics: FunctionMetrics,
    pub guest: Option<Box<dyn Guest>>,
    /// A batch runs on the function's own thread (the guest is there meanwhile).
    pub busy: bool,
    /// Inputs that arrived while starting or while a batch ran.
    pub waiting: Batch,
    pub failures_in_row: u32,
    pub stopped: bool,
    pub state: SharedState,
    /// Calls run off the agent's thread (deadline above 100 ms, or --isolation worker).
    pub offload: bool,
}

fn topic_problem(routes: &[Route], outputs: &[Output]) -> Option<String> {
    for r in routes {
        if let Some(p) = function_topic_problem(&r.filter, true) {
            return Some(format!("input topic {:?}: {p}", r.filter));
        }
    }
    for o in outputs {
        if let Some(p) = function_topic_problem(&o.topic, false) {
            return Some(format!("output topic {:?}: {p}", o.topic));
        }
        // The broker would hand every output back as an input: an endless loop at full speed.
        if let Some(r) = routes.iter().find(|r| topic_matches(&r.filter, &o.topic)) {
            return Some(format!(
                "output topic {:?} matches the function's own input filter {:?}: every output would come back as an input, in an endless loop; publish under a prefix the inputs do not cover",
                o.topic, r.filter
            ));
        }
    }
    None
}

impl ManagedFunction {
    pub fn new(id: u64, spec: DesiredFunction, node: &str, state: SharedState, offload: bool) -> ManagedFunction {
        let routes: Vec<Route> = spec
            .inputs
            .iter()
            .map(|i| Route { filter: expand_node(&i.topic, node), qos: i.qos, format: i.format })
            .collect();
        let outputs: Vec<Output> = spec
            .outputs
            .iter()
            .map(|o| Output { topic: expand_node(&o.topic, node), qos: o.qos, retain: o.retain })
            .collect();
        let problem = topic_problem(&routes, &outputs);
        let key = function_key(&spec);
        ManagedFunction {
            id,
            key,
            routes: if problem.is_none() { routes } else { Vec::new() },
            outputs: if problem.is_none() { outputs } else { Vec::new() },
            topic_problem: problem,
            lifecycle: initial_state(now_ms()),
            metrics: FunctionMetrics::default(),
            guest: None,
            busy: false,
            waiting: Batch::default(),
            failures_in_row: 0,
            stopped: false,
            state,
            offload,
            spec,
        }
    }

    pub fn phase(&self) -> Phase {
        self.lifecycle.phase
    }

    pub fn max_payload(&self) -> u64 {
        self.spec.limits.max_payload_bytes.unwrap_or(DEFAULT_MAX_PAYLOAD_BYTES)
    }

    /// Applies a lifecycle event; an event the state machine refuses is a bug, logged and ignored.
    pub fn to(&mut self, event: Event) -> Result<(), String> {
        self.lifecycle = transition(&self.lifecycle, event, now_ms())?;
        Ok(())
    }

    /// Counts a batch's results; Some((reason, message)) when the function just crashed
    /// (CRASH_AFTER_FAILURES crashing failures in a row).
    pub fn record(&mut self, outcomes: &[CallOutcome], micros_each: f64) -> Option<(String, String)> {
        let mut crashed = None;
        for o in outcomes {
            match &o.result {
                CallResult::Ok(_) => {
                    self.metrics.record_call(micros_each, true, None);
                    self.healthy();
                }
                CallResult::Failed { reason, message } => {
                    self.metrics.record_call(micros_each, false, Some(format!("{reason}: {message}")));
                    if !CRASHING.contains(reason) {
                        self.healthy();
                        continue;
                    }
                    self.failures_in_row += 1;
                    if self.failures_in_row >= CRASH_AFTER_FAILURES
                        && self.lifecycle.phase == Phase::Running
                        && crashed.is_none()
                    {
                        self.failures_in_row = 0;
                        crashed = Some((
                            reason.to_string(),
                            format!("{CRASH_AFTER_FAILURES} calls in a row failed; last: {message}"),
                        ));
                    }
                }
            }
        }
        crashed
    }

    fn healthy(&mut self) {
        if self.failures_in_row > 0 || self.lifecycle.crashes > 0 {
            self.failures_in_row = 0;
            super::lifecycle::healthy(&mut self.lifecycle);
        }
    }

    pub fn report(&self) -> FunctionStatusReport {
        let s = &self.lifecycle;
        let not_running = s.phase != Phase::Running;
        FunctionStatusReport {
            namespace: self.spec.namespace.clone(),
            name: self.spec.name.clone(),
            revision: self.spec.revision.clone(),
            phase: s.phase.as_str(),
            reason: s.reason.clone().filter(|_| not_running),
            message: s.message.as_ref().filter(|_| not_running).map(|m| clip(m, 1024)),
            since: iso(s.since),
            restarts: s.restarts,
            next_retry_at: s.next_retry_at.filter(|_| s.phase == Phase::CrashLoopBackOff).map(iso),
            invocations: self.metrics.invocations,
            errors: self.metrics.errors,
            malformed: self.metrics.malformed,
            latency_p50_us: self.metrics.percentile(50.0),
            latency_p99_us: self.metrics.percentile(99.0),
            last_error: self.metrics.last_error.as_ref().map(|e| clip(e, 1024)),
        }
    }
}
