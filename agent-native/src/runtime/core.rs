// SPDX-License-Identifier: Apache-2.0
// Core modules on guest ABI v1 (docs/guest-abi.md): the `wasmfleet_v1` host imports, the closed
// WASI preview1 subset (wasi.rs), and the call protocol wf_alloc → wf_handle → wf_dealloc.
// Memory and tables are capped by StoreLimits, every call by its deadline (clock.rs); a call
// that overran its deadline leaves the instance behind, and the next call starts from a fresh one.
use super::call::{CallCtx, DeadlineExceeded, GuestTrap, ProcExit, trap};
use super::{CallOutcome, CallResult, Guest, LoadError, LoadOptions, Runtime, load_error, root_message};
use crate::store::state::SharedState;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use wasmtime::{
    Caller, Extern, Instance, Linker, Memory, Module, Store, StoreLimits, StoreLimitsBuilder, TypedFunc, UpdateDeadline,
};

pub struct CoreHost {
    limits: StoreLimits,
    pub call: CallCtx,
    outputs: Arc<[String]>,
    config: Arc<HashMap<String, Vec<u8>>>,
    state: SharedState,
    pub memory: Option<Memory>,
    /// Partial lines written to stdout and stderr (fd_write is line-buffered into the log).
    pub lines: [String; 2],
}

/// The guest's memory and the host state, both borrowed at once.
pub fn memory_and_host<'a>(caller: &'a mut Caller<'_, CoreHost>) -> wasmtime::Result<(&'a mut [u8], &'a mut CoreHost)> {
    let memory = caller.data().memory.ok_or_else(|| trap("the module has no exported memory"))?;
    Ok(memory.data_and_store_mut(caller))
}

/// `len` bytes at `ptr`, or a trap naming the bad access (never a silently clamped view).
pub fn slice(mem: &[u8], ptr: i32, len: i32) -> wasmtime::Result<&[u8]> {
    let (p, n) = (ptr as u32 as usize, len as u32 as usize);
    mem.get(p..p.checked_add(n).unwrap_or(usize::MAX))
        .ok_or_else(|| trap(format!("out of bounds: {n} bytes at {p} (memory is {} bytes)", mem.len())))
}

pub fn slice_mut(mem: &mut [u8], ptr: i32, len: usize) -> wasmtime::Result<&mut [u8]> {
    let size = mem.len();
    let p = ptr as u32 as usize;
    mem.get_mut(p..p.checked_add(len).unwrap_or(usize::MAX))
        .ok_or_else(|| trap(format!("out of bounds: {len} bytes at {p} (memory is {size} bytes)")))
}

fn text(bytes: &[u8], what: &str) -> wasmtime::Result<String> {
    String::from_utf8(bytes.to_vec()).map_err(|_| trap(format!("{what} is not valid UTF-8")))
}

/// Writes `value` into buf when it fits; returns its length or -1 (guest-abi.md).
fn answer(mem: &mut [u8], value: Option<&[u8]>, buf: i32, cap: i32) -> wasmtime::Result<i32> {
    let Some(value) = value else { return Ok(-1) };
    if value.len() <= cap as u32 as usize {
        slice_mut(mem, buf, value.len())?.copy_from_slice(value);
    }
    Ok(value.len() as i32)
}

pub fn linker(engine: &wasmtime::Engine) -> wasmtime::Result<Linker<CoreHost>> {
    let mut l = Linker::new(engine);
    const M: &str = "wasmfleet_v1";
    l.func_wrap(M, "log", |mut c: Caller<'_, CoreHost>, level: i32, ptr: i32, len: i32| -> wasmtime::Result<()> {
        let (mem, host) = memory_and_host(&mut c)?;
        let line = String::from_utf8_lossy(slice(mem, ptr, len)?).into_owned();
        host.call.log(level.clamp(0, 3) as u8, &line);
        Ok(())
    })?;
    l.func_wrap(
        M,
        "emit",
        |mut c: Caller<'_, CoreHost>, tp: i32, tl: i32, pp: i32, pl: i32| -> wasmtime::Result<i32> {
            let (mem, host) = memory_and_host(&mut c)?;
            let topic = text(slice(mem, tp, tl)?, "the output topic")?;
            let index = if topic.is_empty() {
                (!host.outputs.is_empty()).then_some(0)
            } else {
                host.outputs.iter().position(|t| *t == topic)
            };
            let Some(index) = index else { return Ok(-1) };
            let payload = slice(mem, pp, pl)?;
            Ok(host.call.emit(index, payload))
        },
    )?;
    l.func_wrap(M, "input_topic", |mut c: Caller<'_, CoreHost>, buf: i32, cap: i32| -> wasmtime::Result<i32> {
        let (mem, host) = memory_and_host(&mut c)?;
        answer(mem, Some(host.call.topic.as_bytes()), buf, cap)
    })?;
    l.func_wrap(
        M,
        "config_get",
        |mut c: Caller<'_, CoreHost>, kp: i32, kl: i32, buf: i32, cap: i32| -> wasmtime::Result<i32> {
            let (mem, host) = memory_and_host(&mut c)?;
            let key = text(slice(mem, kp, kl)?, "the config key")?;
            let config = host.config.clone();
            answer(mem, config.get(&key).map(Vec::as_slice), buf, cap)
        },
    )?;
    l.func_wrap(
        M,
        "state_get",
        |mut c: Caller<'_, CoreHost>, kp: i32, kl: i32, buf: i32, cap: i32| -> wasmtime::Result<i32> {
            let (mem, host) = memory_and_host(&mut c)?;
            let key = String::from_utf8_lossy(slice(mem, kp, kl)?).into_owned();
            let value = host.state.lock().map(|s| s.get(&key).map(<[u8]>::to_vec)).unwrap_or(None);
            answer(mem, value.as_deref(), buf, cap)
        },
    )?;
    l.func_wrap(
        M,
        "state_set",
        |mut c: Caller<'_, CoreHost>, kp: i32, kl: i32, vp: i32, vl: i32| -> wasmtime::Result<i32> {
            let (mem, host) = memory_and_host(&mut c)?;
            let key = String::from_utf8_lossy(slice(mem, kp, kl)?).into_owned();
            let value = slice(mem, vp, vl)?;
            let ok = host.state.lock().map(|mut s| s.set(&key, value)).unwrap_or(false);
            Ok(if ok { 0 } else { -1 })
        },
    )?;
    l.func_wrap(M, "set_error", |mut c: Caller<'_, CoreHost>, ptr: i32, len: i32| -> wasmtime::Result<()> {
        let (mem, host) = memory_and_host(&mut c)?;
        host.call.error = Some(String::from_utf8_lossy(slice(mem, ptr, len)?).into_owned());
        Ok(())
    })?;
    l.func_wrap(M, "now_ms", || -> f64 { crate::clock::now_ms() as f64 })?;
    super::wasi::define(&mut l)?;
    Ok(l)
}

struct Live {
    store: Store<CoreHost>,
    alloc: TypedFunc<i32, i32>,
    handle: TypedFunc<(i32, i32), i32>,
    dealloc: Option<TypedFunc<(i32, i32), ()>>,
}

pub struct CoreGuest {
    runtime: Arc<Runtime>,
    module: Module,
    options: LoadOptions,
    outputs: Arc<[String]>,
    config: Arc<HashMap<String, Vec<u8>>>,
    live: Option<Live>,
}

impl CoreGuest {
    pub fn start(runtime: Arc<Runtime>, module: Module, options: LoadOptions) -> Result<CoreGuest, LoadError> {
        for import in module.imports() {
            if !is_provided(import.module(), import.name(), import.ty().func().is_some()) {
                let kind = match import.ty() {
                    wasmtime::ExternType::Func(_) => "function",
                    wasmtime::ExternType::Memory(_) => "memory",
                    wasmtime::ExternType::Table(_) => "table",
                    wasmtime::ExternType::Global(_) => "global",
                    _ => "import",
                };
                return Err(load_error(
                    "MissingImport",
                    format!(
                        "the module imports {kind} \"{}\".\"{}\", which the agent does not provide (see docs/guest-abi.md)",
                        import.module(),
                        import.name()
                    ),
                ));
            }
        }
        let outputs: Arc<[String]> = options.outputs.clone().into();
        let config = Arc::new(options.config.iter().map(|(k, v)| (k.clone(), v.as_bytes().to_vec())).collect());
        let mut guest = CoreGuest { runtime, module, options, outputs, config, live: None };
        guest.live = Some(guest.instantiate()?);
        Ok(guest)
    }

    fn instantiate(&self) -> Result<Live, LoadError> {
        let host = CoreHost {
            limits: StoreLimitsBuilder::new()
                .memory_size(self.options.memory_bytes as usize)
                .table_elements(super::MAX_TABLE_ELEMENTS as usize)
                .instances(1)
                .build(),
            call: CallCtx::default(),
            outputs: self.outputs.clone(),
            config: self.config.clone(),
            state: self.options.state.clone(),
            memory: None,
            lines: [String::new(), String::new()],
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
        let linked = self.link(&mut store);
        self.runtime.clock.leave();
        let (alloc, handle, dealloc) = linked?;
        store.data_mut().call.take_logs();
        Ok(Live { store, alloc, handle, dealloc })
    }

    #[allow(clippy::type_complexity)]
    fn link(
        &self,
        store: &mut Store<CoreHost>,
    ) -> Result<(TypedFunc<i32, i32>, TypedFunc<(i32, i32), i32>, Option<TypedFunc<(i32, i32), ()>>), LoadError> {
        let instance: Instance = self.runtime.core_linker.instantiate(&mut *store, &self.module).map_err(|e| {
            let failure = classify(&e, store, self.options.memory_bytes, self.options.timeout_ms);
            match failure.0 {
                "Trap" => load_error("InitFailed", format!("the module does not instantiate: {}", failure.1)),
                reason => load_error(reason, failure.1),
            }
        })?;
        let memory = match instance.get_export(&mut *store, "memory") {
            Some(Extern::Memory(m)) => m,
            _ => return Err(missing_export("memory")),
        };
        store.data_mut().memory = Some(memory);
        let alloc =
            instance.get_typed_func::<i32, i32>(&mut *store, "wf_alloc").map_err(|_| missing_export("wf_alloc"))?;
        let handle = instance
            .get_typed_func::<(i32, i32), i32>(&mut *store, "wf_handle")
            .map_err(|_| missing_export("wf_handle"))?;
        let dealloc = instance.get_typed_func::<(i32, i32), ()>(&mut *store, "wf_dealloc").ok();
        let init = |store: &mut Store<CoreHost>| -> wasmtime::Result<()> {
            if let Ok(f) = instance.get_typed_func::<(), ()>(&mut *store, "_initialize") {
                f.call(&mut *store, ())?;
            }
            if let Ok(f) = instance.get_typed_func::<(), i32>(&mut *store, "wf_init") {
                let rc = f.call(&mut *store, ())?;
                if rc != 0 {
                    let message = store.data().call.error.clone().unwrap_or_else(|| format!("wf_init returned {rc}"));
                    return Err(wasmtime::Error::new(GuestTrap(message)));
                }
            }
            Ok(())
        };
        if let Err(e) = init(store) {
            let (reason, message) = classify(&e, store, self.options.memory_bytes, self.options.timeout_ms);
            let reason = if reason == "OutOfMemory" || reason == "Timeout" { reason } else { "InitFailed" };
            return Err(load_error(reason, message));
        }
        Ok((alloc, handle, dealloc))
    }
}

fn is_provided(module: &str, name: &str, func: bool) -> bool {
    func && ((module == "wasmfleet_v1" && ABI_IMPORTS.contains(&name))
        || (module == "wasi_snapshot_preview1" && super::wasi::PREVIEW1.contains(&name)))
}

pub const ABI_IMPORTS: &[&str] =
    &["log", "emit", "input_topic", "config_get", "state_get", "state_set", "set_error", "now_ms"];

fn missing_export(name: &str) -> LoadError {
    load_error("MissingExport", format!("the module does not export \"{name}\" (see docs/guest-abi.md)"))
}

/// Maps whatever a call threw to the reason the agent reports.
pub fn classify<T: AsHostMemory>(
    e: &wasmtime::Error,
    store: &mut Store<T>,
    memory_cap: u64,
    timeout_ms: u64,
) -> (&'static str, String) {
    if e.is::<DeadlineExceeded>() {
        return (
            "Timeout",
            format!("the call did not finish within its {timeout_ms} ms deadline; the function was stopped"),
        );
    }
    if let Some(p) = e.downcast_ref::<ProcExit>() {
        return ("GuestError", p.to_string());
    }
    if let Some(t) = e.downcast_ref::<GuestTrap>() {
        return ("Trap", t.0.clone());
    }
    if let Some(trap) = e.downcast_ref::<wasmtime::Trap>() {
        if *trap == wasmtime::Trap::StackOverflow {
            return ("Trap", "stack overflow (recursion too deep): call stack exhausted".into());
        }
        if *trap == wasmtime::Trap::Interrupt {
            return (
                "Timeout",
                format!("the call did not finish within its {timeout_ms} ms deadline; the function was stopped"),
            );
        }
    }
    let message = root_message(e);
    // A trap with memory (nearly) at its cap is almost always a failed memory.grow: report the limit.
    let used = store.data().memory_bytes(store);
    if memory_cap > 0 && used as f64 >= memory_cap as f64 * 0.9 {
        return (
            "OutOfMemory",
            format!("memory limit of {memory_cap} bytes reached (the guest has {used}): {message}"),
        );
    }
    ("Trap", message)
}

pub trait AsHostMemory: Sized {
    fn memory_bytes(&self, store: &Store<Self>) -> u64;
}

impl AsHostMemory for CoreHost {
    fn memory_bytes(&self, store: &Store<Self>) -> u64 {
        self.memory.map_or(0, |m| m.data_size(store) as u64)
    }
}

impl Guest for CoreGuest {
    fn kind(&self) -> &'static str {
        "core"
    }

    fn call(&mut self, topic: &str, payload: &[u8], _timestamp_ms: u64) -> CallOutcome {
        let live = match self.live.take() {
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
        let mut live = live;
        let deadline = Instant::now() + Duration::from_millis(self.options.timeout_ms);
        live.store.data_mut().call.begin(topic, deadline);
        live.store.set_epoch_deadline(1);
        self.runtime.clock.enter(deadline);
        let ran = run_handle(&mut live, payload);
        self.runtime.clock.leave();
        let result = match ran {
            Ok(()) => CallResult::Ok(std::mem::take(&mut live.store.data_mut().call.outputs)),
            Err(e) => {
                let (reason, message) = match e.downcast_ref::<CallFailure>() {
                    Some(f) => (f.0, f.1.clone()),
                    None => classify(&e, &mut live.store, self.options.memory_bytes, self.options.timeout_ms),
                };
                live.store.data_mut().call.outputs.clear();
                CallResult::Failed { reason, message }
            }
        };
        let logs = live.store.data_mut().call.take_logs();
        let overran = matches!(&result, CallResult::Failed { reason: "Timeout", .. });
        // An instance stopped mid-call may hold half-updated state: the next call gets a fresh one.
        if !overran {
            self.live = Some(live);
        }
        CallOutcome { result, logs }
    }
}

#[derive(Debug)]
struct CallFailure(&'static str, String);
impl std::fmt::Display for CallFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.1)
    }
}
impl std::error::Error for CallFailure {}

fn run_handle(live: &mut Live, payload: &[u8]) -> wasmtime::Result<()> {
    let len = payload.len() as i32;
    let ptr = live.alloc.call(&mut live.store, len)?;
    if ptr == 0 && len > 0 {
        return Err(wasmtime::Error::new(CallFailure("OutOfMemory", format!("wf_alloc({len}) returned 0"))));
    }
    let memory = live.store.data().memory.ok_or_else(|| trap("the module has no exported memory"))?;
    slice_mut(memory.data_mut(&mut live.store), ptr, payload.len())?.copy_from_slice(payload);
    let rc = live.handle.call(&mut live.store, (ptr, len))?;
    if let Some(dealloc) = &live.dealloc {
        dealloc.call(&mut live.store, (ptr, len))?;
    }
    if rc != 0 {
        let message = live.store.data().call.error.clone().unwrap_or_else(|| format!("wf_handle returned {rc}"));
        return Err(wasmtime::Error::new(CallFailure("GuestError", message)));
    }
    Ok(())
}
