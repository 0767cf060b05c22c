// SPDX-License-Identifier: Apache-2.0
// Inputs in, outputs out: a message is routed to every function whose input filter matches it
// (once, however many copies the broker sends — routing.rs), checked against its payload
// format, and batched per function for one socket read; a batch runs on the agent's thread or on
// the function's own; its outputs are published, and each QoS 1 input is acknowledged once every
// output it produced is with the broker (docs/mqtt-contract.md, "Inputs and outputs").
use super::agent::{Agent, Internal, Routing, Ticket, log};
use super::function::{Batch, Input, MAX_QUEUED};
use super::lifecycle::Phase;
use super::payload::check_payload;
use super::routing::{is_copy_of, lowest_subscription};
use crate::clock::now_ms;
use crate::runtime::{CallOutcome, CallResult, Guest};
use crate::wire::topics::{sensor_name, topic_matches};
use bytes::Bytes;
use std::sync::Arc;
use std::time::Instant;

impl Agent {
    fn routing(&mut self, topic: &str) -> Arc<Routing> {
        if let Some(r) = self.targets.get(topic) {
            return r.clone();
        }
        let mut targets = Vec::new();
        for e in self.entries.values() {
            if let Some(f) = self.functions.get(&e.serving) {
                if let Some(i) = f.routes.iter().position(|r| topic_matches(&r.filter, topic)) {
                    targets.push((f.id, i));
                }
            }
        }
        // Bounded: a wildcard filter over an unbounded topic space must not grow this forever.
        if self.targets.len() >= 4096 {
            self.targets.clear();
        }
        // Cached until sync_subscriptions or a removed function clears the map, so it always
        // reflects the subscriptions held now.
        let routing = Arc::new(Routing {
            targets,
            sensor: sensor_name(topic).to_string(),
            topic: Arc::from(topic),
            lowest_subscription: lowest_subscription(topic, &self.subscriptions),
        });
        self.targets.insert(topic.to_string(), routing.clone());
        routing
    }

    /// Adds one input to the batch of every function subscribed to it.
    pub fn dispatch(&mut self, topic: &str, payload: Bytes, seq: Option<u64>, sub_ids: &[usize]) {
        let routing = self.routing(topic);
        if !is_copy_of(routing.lowest_subscription, sub_ids) {
            return; // another copy of this reading, for an overlapping subscription
        }
        if routing.targets.is_empty() {
            return;
        }
        let now = now_ms();
        if let Some(line) = self.sensors.seen(topic, &routing.sensor, now) {
            log("warn", &line);
        }
        let topic = &routing.topic;
        for &(fid, route) in &routing.targets {
            let Some(f) = self.functions.get_mut(&fid) else { continue };
            let format = f.routes[route].format;
            if let Err(problem) = check_payload(&payload, format, f.max_payload()) {
                f.metrics.record_malformed(format!("malformed input on {topic}: {problem}"));
                self.status_changed();
                continue;
            }
            let input = Input { topic: topic.clone(), payload: payload.clone(), timestamp_ms: now };
            if let Some(seq) = seq {
                self.acks.hold(seq);
            }
            match self.batches.iter_mut().find(|(id, _)| *id == fid) {
                Some((_, b)) => b.push(input, seq),
                None => {
                    let mut b = Batch::default();
                    b.push(input, seq);
                    self.batches.push((fid, b));
                }
            }
        }
    }

    /// Hands every gathered batch to its function.
    pub fn flush_batches(&mut self) {
        if self.batches.is_empty() {
            return;
        }
        for (fid, batch) in std::mem::take(&mut self.batches) {
            self.invoke(fid, batch);
        }
    }

    /// Runs a batch now (on this thread or the function's own), queues it while the function
    /// starts or is busy, or answers it with failures when the function cannot run.
    pub fn invoke(&mut self, fid: u64, batch: Batch) {
        let Some(f) = self.functions.get_mut(&fid) else {
            self.answer_failed(batch);
            return;
        };
        let phase = f.phase();
        let running = phase == Phase::Running && !f.stopped;
        let starting = matches!(phase, Phase::Pending | Phase::Fetching | Phase::Starting) && !f.stopped;
        if (running && f.busy) || starting {
            if f.waiting.len() + batch.len() <= MAX_QUEUED {
                f.waiting.append(batch);
            } else {
                f.metrics.record_malformed(format!("{} inputs waiting for the function; input dropped", MAX_QUEUED));
                self.answer_failed(batch);
            }
            return;
        }
        if !running || f.guest.is_none() {
            self.answer_failed(batch);
            return;
        }
        let mut guest = f.guest.take().expect("a running function has its instance");
        if f.offload {
            f.busy = true;
            let tx = self.internal.clone();
            tokio::task::spawn_blocking(move || {
                let (outcomes, micros_each) = run_batch(guest.as_mut(), &batch);
                let _ = tx.send(Internal::BatchDone { fid, guest, batch, outcomes, micros_each });
            });
            return;
        }
        let (outcomes, micros_each) = run_batch(guest.as_mut(), &batch);
        if let Some(f) = self.functions.get_mut(&fid) {
            f.guest = Some(guest);
        }
        self.finish(fid, batch, outcomes, micros_each);
    }

    pub fn on_batch_done(
        &mut self,
        fid: u64,
        guest: Box<dyn Guest>,
        batch: Batch,
        outcomes: Vec<CallOutcome>,
        micros_each: f64,
    ) {
        if let Some(f) = self.functions.get_mut(&fid) {
            f.busy = false;
            if f.phase() == Phase::Running {
                f.guest = Some(guest);
            }
        }
        self.finish(fid, batch, outcomes, micros_each);
        // What arrived meanwhile runs next (or is answered, if the function stopped).
        let waiting = self.functions.get_mut(&fid).map(|f| std::mem::take(&mut f.waiting));
        match waiting {
            Some(w) if w.len() > 0 => self.invoke(fid, w),
            _ => {}
        }
        if self.functions.get(&fid).is_some_and(|f| f.stopped && !f.busy) {
            self.functions.remove(&fid);
        }
    }

    /// Records a batch's results, publishes its outputs and logs, releases its inputs.
    fn finish(&mut self, fid: u64, batch: Batch, outcomes: Vec<CallOutcome>, micros_each: f64) {
        let crashed = self.functions.get_mut(&fid).and_then(|f| f.record(&outcomes, micros_each));
        let mut state_written = false;
        for (i, outcome) in outcomes.into_iter().enumerate() {
            let seq = batch.seqs.get(i).copied().flatten();
            for (level, text) in &outcome.logs {
                self.function_log(fid, *level, text);
            }
            if let CallResult::Ok(outputs) = outcome.result {
                state_written = true;
                for (index, payload) in outputs {
                    self.publish_output(fid, index, payload, seq);
                }
            }
            if let Some(seq) = seq {
                self.release(seq);
            }
        }
        if state_written && self.functions.get(&fid).is_some_and(|f| f.state.lock().is_ok_and(|s| s.dirty)) {
            self.note_state_write();
        }
        if let Some((reason, message)) = crashed {
            if let Some(f) = self.functions.get_mut(&fid) {
                f.guest = None;
            }
            self.fail(fid, &reason, &message, false);
        }
        self.status_changed_if_first_calls(fid);
    }

    fn status_changed_if_first_calls(&mut self, fid: u64) {
        // Counters travel with the heartbeat; the first call and every error are worth a status now.
        if self.functions.get(&fid).is_some_and(|f| f.metrics.invocations <= 1 || f.failures_in_row > 0) {
            self.status_changed();
        }
    }

    fn publish_output(&mut self, fid: u64, index: usize, payload: Vec<u8>, seq: Option<u64>) {
        let Some(spec) = self.functions.get(&fid).and_then(|f| f.outputs.get(index)).cloned() else { return };
        let size = payload.len() as u64;
        // The output of a QoS 1 input on a live session always goes out: MQTT flow control bounds
        // those, and a dropped one would lose nothing anyway (its input is redelivered). Everything
        // else is held only up to the bound (ADR 0013).
        let flow_controlled = seq.is_some() && self.connected;
        if !self.budget.take(size, flow_controlled) {
            if let Some(line) = self.budget.drop_line(self.connected, now_ms(), false) {
                log("warn", &line);
                self.status_changed();
            }
            return;
        }
        let waits = seq.filter(|_| spec.qos == 1);
        if let Some(seq) = waits {
            self.acks.hold(seq);
        }
        self.publish(
            &spec.topic,
            Bytes::from(payload),
            spec.qos,
            spec.retain,
            Ticket { bytes: size, seq: waits, budgeted: true },
        );
    }

    /// Inputs that no function will run: a QoS 1 one is still acknowledged (nothing would change
    /// on redelivery), in order.
    fn answer_failed(&mut self, batch: Batch) {
        for seq in batch.seqs.into_iter().flatten() {
            self.release(seq);
        }
    }

    /// Runs what waited for a function that just became Running.
    pub fn drain_waiting(&mut self, fid: u64) {
        let waiting = self.functions.get_mut(&fid).map(|f| std::mem::take(&mut f.waiting));
        if let Some(w) = waiting.filter(|w| w.len() > 0) {
            self.invoke(fid, w);
        }
    }

    /// Answers what waited for a function that cannot run.
    pub fn drop_waiting(&mut self, fid: u64) {
        if let Some(w) = self.functions.get_mut(&fid).map(|f| std::mem::take(&mut f.waiting)) {
            self.answer_failed(w);
        }
    }
}

/// Calls the guest once per input, in order; each call is charged its share of the batch's time.
pub fn run_batch(guest: &mut dyn Guest, batch: &Batch) -> (Vec<CallOutcome>, f64) {
    let t0 = Instant::now();
    let outcomes: Vec<CallOutcome> =
        batch.inputs.iter().map(|i| guest.call(&i.topic, &i.payload, i.timestamp_ms)).collect();
    let micros = t0.elapsed().as_secs_f64() * 1e6 / outcomes.len().max(1) as f64;
    (outcomes, micros)
}
