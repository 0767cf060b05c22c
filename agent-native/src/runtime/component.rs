// SPDX-License-Identifier: Apache-2.0
// Components of the WIT world `wasmfleet:function/sensor-function` (api/wit/), run through
// Wasmtime's component model: the `wasmfleet:function/host` interface implemented here with the
// same per-call limits as core modules, StoreLimits on every memory and table of the component,
// and the same epoch deadline. No WASI is linked: a component that imports anything else fails
// to start with MissingImport naming the import.
use super::call::{CallCtx, DeadlineExceeded};
use super::{CallOutcome, CallResult, Guest, LoadError, LoadOptions, Runtime, load_error, root_message};
use crate::store::state::SharedState;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime::{Store, StoreLimits, StoreLimitsBuilder, UpdateDeadline};

wasmtime::component::bindgen!({
    path: "../api/wit/wasmfleet-function.wit",
    world: "sensor-function",
});

use wasmfleet::function::host::{Host, Level};

pub struct ComponentHost {
    limits: StoreLimits,
    call: CallCtx,
    config: Arc<BTreeMap<String, String>>,
    state: SharedState,
}

impl wasmfleet::function::types::Host for ComponentHost {}

impl Host for ComponentHost {
    fn log(&mut self, level: Level, text: String) {
        let level = match level {
            Level::Debug => 0,
            Level::Info => 1,
            Level::Warn => 2,
            Level::Error => 3,
        };
        self.call.log(level, &text);
    }

    fn get_config(&mut self, key: String) -> Option<String> {
        self.config.get(&key).cloned()
    }

    fn state_get(&mut self, key: String) -> Option<Vec<u8>> {
        self.state.lock().ok().and_then(|s| s.get(&key).map(<[u8]>::to_vec))
    }

    fn state_set(&mut self, key: String, value: Vec<u8>) -> Result<(), String> {
        if self.state.lock().map(|mut s| s.set(&key, &value)).unwrap_or(false) {
            Ok(())
        } else {
            Err(format!("the function's state quota would be exceeded by \"{key}\""))
        }
    }

    fn now_ms(&mut self) -> u64 {
        crate::clock::now_ms()
    }
}

pub fn linker(engine: &wasmtime::Engine) -> wasmtime::Result<Linker<ComponentHost>> {
    let mut linker = Linker::new(engine);
    SensorFunction::add_to_linker::<ComponentHost, HasSelf<ComponentHost>>(&mut linker, |h| h)?;
    Ok(linker)
}

pub struct ComponentGuest {
    runtime: Arc<Runtime>,
    component: Component,
    options: LoadOptions,
    config: Arc<BTreeMap<String, String>>,
    live: Option<(Store<ComponentHost>, SensorFunction)>,
}

impl ComponentGuest {
    pub fn start(
        runtime: Arc<Runtime>,
        component: Component,
        options: LoadOptions,
    ) -> Result<ComponentGuest, LoadError> {
        let ty = component.component_type();
        for (name, _) in ty.imports(&runtime.engine) {
            let unversioned = name.split('@').next().unwrap_or(name);
            if unversioned != "wasmfleet:function/host" && unversioned != "wasmfleet:function/types" {
                return Err(load_error(
                    "MissingImport",
                    format!(
                        "the component imports \"{name}\", which the agent does not provide (see docs/guest-abi.md)"
                    ),
                ));
            }
        }
        let config = Arc::new(options.config.clone());
        let mut guest = ComponentGuest { runtime, component, options, config, live: None };
        guest.live = Some(guest.instantiate()?);
        Ok(guest)
    }

    fn instantiate(&self) -> Result<(Store<ComponentHost>, SensorFunction), LoadError> {
        let host = ComponentHost {
            limits: StoreLimitsBuilder::new()
                .memory_size(self.options.memory_bytes as usize)
                .table_elements(super::MAX_TABLE_ELEMENTS as usize)
                .build(),
            call: CallCtx::default(),
            config: self.config.clone(),
            state: self.options.state.clone(),
        };
        let mut store = Store::new(&self.runtime.engine, host);
        store.limiter(|h| &mut h.limits);
        store.epoch_deadline_callback(|ctx| {
            if Instant::now() >= ctx.data().call.deadline {
                Err(wasmtime::Error::new(DeadlineExceeded))
            } else {
                Ok(UpdateDeadline::Continue(1))
            }
        });
        let init_deadline =
            Instant::now() + Duration::from_millis(self.options.timeout_ms.saturating_mul(10).max(1000));
        store.data_mut().call.begin("", init_deadline);
        store.set_epoch_deadline(1);
        self.runtime.clock.enter(init_deadline);
        let made = SensorFunction::instantiate(&mut store, &self.component, &self.runtime.component_linker);
        self.runtime.clock.leave();
        match made {
            Ok(bindings) => Ok((store, bindings)),
            Err(e) if e.is::<DeadlineExceeded>() => {
                Err(load_error("Timeout", "the component's start did not finish within its deadline"))
            }
            Err(e) => {
                let message = root_message(&e);
                let reason =
                    if message.contains("resource limit") || message.contains("memory") && message.contains("limit") {
                        "OutOfMemory"
                    } else if message.contains("import") {
                        "MissingImport"
                    } else {
                        "InitFailed"
                    };
                Err(load_error(reason, format!("the component does not instantiate: {message}")))
            }
        }
    }

    /// Maps a `handle` result's messages onto the declared outputs (guest-abi.md topic rules).
    fn resolve(&self, messages: Vec<Message>) -> Result<Vec<(usize, Vec<u8>)>, String> {
        let declared = &self.options.outputs;
        if messages.len() > super::call::MAX_OUTPUTS {
            return Err(format!("{} outputs in one call; the limit is {}", messages.len(), super::call::MAX_OUTPUTS));
        }
        let mut bytes = 0usize;
        let mut out = Vec::with_capacity(messages.len());
        for m in messages {
            let index = if m.topic.is_empty() {
                (!declared.is_empty()).then_some(0)
            } else {
                declared.iter().position(|t| *t == m.topic)
            };
            let Some(index) = index else {
                return Err(if m.topic.is_empty() {
                    "the function emitted to the default output, but it declares no outputs".to_string()
                } else {
                    format!(
                        "the function emitted to \"{}\", which is not a declared output (declared: {})",
                        m.topic,
                        if declared.is_empty() { "none".to_string() } else { declared.join(", ") }
                    )
                });
            };
            bytes += m.payload.len();
            if bytes > super::call::MAX_OUTPUT_BYTES {
                return Err(format!("the outputs exceed {} bytes in one call", super::call::MAX_OUTPUT_BYTES));
            }
            out.push((index, m.payload));
        }
        Ok(out)
    }
}

impl Guest for ComponentGuest {
    fn kind(&self) -> &'static str {
        "component"
    }

    fn call(&mut self, topic: &str, payload: &[u8], timestamp_ms: u64) -> CallOutcome {
        let (mut store, bindings) = match self.live.take() {
            Some(l) => l,
            None => match self.instantiate() {
                Ok(l) => l,
                Err(e) => {
                    return CallOutcome {
                        result: CallResult::Failed { reason: e.reason, message: e.message },
                        logs: Vec::new(),
                    };
                }
            },
        };
        let deadline = Instant::now() + Duration::from_millis(self.options.timeout_ms);
        store.data_mut().call.begin(topic, deadline);
        store.set_epoch_deadline(1);
        let input = Message { topic: topic.to_string(), payload: payload.to_vec(), timestamp_ms };
        self.runtime.clock.enter(deadline);
        let ran = bindings.call_handle(&mut store, &input);
        self.runtime.clock.leave();
        let mut fresh_next = false;
        let result = match ran {
            Ok(Ok(messages)) => match self.resolve(messages) {
                Ok(outputs) => CallResult::Ok(outputs),
                Err(message) => CallResult::Failed { reason: "OutputRejected", message },
            },
            Ok(Err(message)) => CallResult::Failed { reason: "GuestError", message },
            Err(e) => {
                // A trapped component instance cannot be entered again: the next call gets a fresh one.
                fresh_next = true;
                let (reason, message) = classify(&e, self.options.timeout_ms);
                CallResult::Failed { reason, message }
            }
        };
        let logs = store.data_mut().call.take_logs();
        if !fresh_next {
            self.live = Some((store, bindings));
        }
        CallOutcome { result, logs }
    }
}

fn classify(e: &wasmtime::Error, timeout_ms: u64) -> (&'static str, String) {
    if e.is::<DeadlineExceeded>() || e.downcast_ref::<wasmtime::Trap>() == Some(&wasmtime::Trap::Interrupt) {
        return (
            "Timeout",
            format!("the call did not finish within its {timeout_ms} ms deadline; the function was stopped"),
        );
    }
    if e.downcast_ref::<wasmtime::Trap>() == Some(&wasmtime::Trap::StackOverflow) {
        return ("Trap", "stack overflow (recursion too deep): call stack exhausted".into());
    }
    ("Trap", root_message(e))
}
