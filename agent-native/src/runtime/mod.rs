// SPDX-License-Identifier: Apache-2.0
// The wasm runtime behind the agent (Wasmtime): loads one module — a core module on guest ABI v1
// or a component of the WIT world in api/wit/ — sandboxed with Wasmtime's own mechanisms, and
// invokes it. Before anything compiles, the module's size and its declared memories and tables
// are checked against the function's limits; compiled code is cached on disk by digest, so a
// restart only maps it back in. Contract: docs/guest-abi.md; decisions: docs/adr/0021.
pub mod call;
pub mod clock;
mod component;
mod core;
mod wasi;

use crate::store::atomic::write_atomic;
use crate::store::modules::sha256_hex;
use crate::store::state::SharedState;
use clock::DeadlineClock;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use wasmtime::{Config, Engine};

pub const MAX_TABLE_ELEMENTS: u64 = 100_000;
pub const DEFAULT_MAX_MODULE_BYTES: u64 = 32 * 1024 * 1024;
/// Cranelift compiles ahead of time: a 12 MB componentized JS function takes tens of seconds on
/// a small board, so the limit grows with the module (10 s plus 10 s per MiB).
pub fn compile_timeout_ms(module_bytes: usize) -> u64 {
    10_000 + 10_000 * (module_bytes as u64).div_ceil(1024 * 1024)
}
const WASM_PAGE: u64 = 65_536;

/// What a function is loaded with (its desired spec, resolved).
#[derive(Clone)]
pub struct LoadOptions {
    /// Declared output topics with `{node}` expanded; '' in a guest's emit means outputs[0].
    pub outputs: Vec<String>,
    pub config: BTreeMap<String, String>,
    pub memory_bytes: u64,
    pub timeout_ms: u64,
    pub max_module_bytes: u64,
    pub state: SharedState,
}

#[derive(Debug, Clone)]
pub struct LoadError {
    pub reason: &'static str,
    pub message: String,
}

pub fn load_error(reason: &'static str, message: impl Into<String>) -> LoadError {
    LoadError { reason, message: message.into() }
}

#[derive(Debug)]
pub enum CallResult {
    /// Outputs by declared output index.
    Ok(Vec<(usize, Vec<u8>)>),
    Failed {
        reason: &'static str,
        message: String,
    },
}

pub struct CallOutcome {
    pub result: CallResult,
    /// (level 0 debug … 3 error, text)
    pub logs: Vec<(u8, String)>,
}

/// One loaded function instance. Calls go one at a time, in order.
pub trait Guest: Send {
    fn call(&mut self, topic: &str, payload: &[u8], timestamp_ms: u64) -> CallOutcome;
    fn kind(&self) -> &'static str;
}

#[derive(Clone)]
enum Compiled {
    Core(wasmtime::Module),
    Component(wasmtime::component::Component),
}

pub struct Runtime {
    engine: Engine,
    clock: Arc<DeadlineClock>,
    core_linker: Arc<wasmtime::Linker<core::CoreHost>>,
    component_linker: Arc<wasmtime::component::Linker<component::ComponentHost>>,
    compiled_dir: PathBuf,
    /// Compiled code kept in this process by module digest (a replaced or restarted function
    /// only instantiates).
    cache: Mutex<HashMap<String, Compiled>>,
    /// One compile per digest at a time: a retry waits for the compile still running.
    compiling: Mutex<HashMap<String, Arc<Mutex<()>>>>,
}

/// `16 MiB`, `4 GiB`, `50.0 MiB` — the units the Node agent's messages use.
pub fn format_bytes(n: u64) -> String {
    const GIB: u64 = 1024 * 1024 * 1024;
    if n >= GIB && n % GIB == 0 {
        return format!("{} GiB", n / GIB);
    }
    let trim = |v: f64| {
        let s = format!("{v:.1}");
        s.strip_suffix(".0").map(str::to_string).unwrap_or(s)
    };
    if n >= 1024 * 1024 {
        return format!("{} MiB", trim(n as f64 / (1024.0 * 1024.0)));
    }
    if n >= 1024 {
        return format!("{} KiB", trim(n as f64 / 1024.0));
    }
    format!("{n} B")
}

/// Core module or component, by the binary header (a component's layer field is 1).
fn binary_kind(bytes: &[u8]) -> Result<bool, LoadError> {
    if bytes.len() < 8 || &bytes[..4] != b"\0asm" {
        return Err(load_error("InvalidModule", "not a WebAssembly binary (the \\0asm magic number is missing)"));
    }
    match (u16::from_le_bytes([bytes[4], bytes[5]]), u16::from_le_bytes([bytes[6], bytes[7]])) {
        (1, 0) => Ok(false),
        (_, 1) => Ok(true),
        (version, layer) => {
            Err(load_error("InvalidModule", format!("unsupported WebAssembly version {version}, layer {layer}")))
        }
    }
}

/// Refuses memories and tables beyond the function's limits before anything compiles, in every
/// core module (a component's embedded ones included), with the Node agent's messages.
fn check_declared_limits(bytes: &[u8], memory_cap: u64) -> Result<(), LoadError> {
    use wasmtime::wasmparser::{Parser, Payload, TypeRef};
    let malformed = |e: wasmtime::wasmparser::BinaryReaderError| {
        load_error("InvalidModule", format!("malformed WebAssembly binary: {e}"))
    };
    let check_memory = |m: wasmtime::wasmparser::MemoryType| -> Result<(), LoadError> {
        if m.memory64 {
            return Err(load_error("InvalidModule", "64-bit memories (memory64) are not supported"));
        }
        let cap_pages = (memory_cap / WASM_PAGE).max(1);
        if m.initial > cap_pages {
            return Err(load_error(
                "OutOfMemory",
                format!(
                    "the module asks for {} of initial memory; the limit is {}",
                    format_bytes(m.initial * WASM_PAGE),
                    format_bytes(cap_pages * WASM_PAGE)
                ),
            ));
        }
        Ok(())
    };
    let check_table = |initial: u64| -> Result<(), LoadError> {
        if initial > MAX_TABLE_ELEMENTS {
            return Err(load_error(
                "InvalidModule",
                format!("the module asks for a table of {initial} elements; the limit is {MAX_TABLE_ELEMENTS}"),
            ));
        }
        Ok(())
    };
    for payload in Parser::new(0).parse_all(bytes) {
        match payload.map_err(malformed)? {
            Payload::MemorySection(s) => {
                for m in s {
                    check_memory(m.map_err(malformed)?)?;
                }
            }
            Payload::TableSection(s) => {
                for t in s {
                    check_table(t.map_err(malformed)?.ty.initial)?;
                }
            }
            Payload::ImportSection(s) => {
                for imp in s.into_imports() {
                    match imp.map_err(malformed)?.ty {
                        TypeRef::Memory(m) => check_memory(m)?,
                        TypeRef::Table(t) => check_table(t.initial)?,
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

impl Runtime {
    pub fn new(data_dir: &std::path::Path) -> Result<Arc<Runtime>, String> {
        let mut config = Config::new();
        config.epoch_interruption(true);
        config.wasm_component_model(true);
        config.cranelift_opt_level(wasmtime::OptLevel::Speed);
        let engine = Engine::new(&config).map_err(|e| format!("cannot start Wasmtime: {e}"))?;
        let clock = DeadlineClock::start(engine.clone());
        let core_linker = core::linker(&engine).map_err(|e| format!("cannot link the guest ABI: {e}"))?;
        let component_linker =
            component::linker(&engine).map_err(|e| format!("cannot link the component host: {e}"))?;
        Ok(Arc::new(Runtime {
            engine,
            clock,
            core_linker: Arc::new(core_linker),
            component_linker: Arc::new(component_linker),
            compiled_dir: data_dir.join("compiled"),
            cache: Mutex::new(HashMap::new()),
            compiling: Mutex::new(HashMap::new()),
        }))
    }

    /// Checks, compiles (or maps cached code back in) and instantiates. Blocking: the agent runs
    /// it off its event loop.
    pub fn load(self: &Arc<Self>, bytes: &[u8], options: LoadOptions) -> Result<Box<dyn Guest>, LoadError> {
        if bytes.len() as u64 > options.max_module_bytes {
            return Err(load_error(
                "ModuleTooLarge",
                format!(
                    "the module is {}; the limit is {}",
                    format_bytes(bytes.len() as u64),
                    format_bytes(options.max_module_bytes)
                ),
            ));
        }
        let component = binary_kind(bytes)?;
        check_declared_limits(bytes, options.memory_bytes)?;
        let digest = sha256_hex(bytes);
        let compiled = self.compiled(&digest, bytes, component)?;
        match compiled {
            Compiled::Core(module) => {
                core::CoreGuest::start(self.clone(), module, options).map(|g| Box::new(g) as Box<dyn Guest>)
            }
            Compiled::Component(c) => {
                component::ComponentGuest::start(self.clone(), c, options).map(|g| Box::new(g) as Box<dyn Guest>)
            }
        }
    }

    fn compiled(&self, digest: &str, bytes: &[u8], component: bool) -> Result<Compiled, LoadError> {
        if let Some(c) = self.cache.lock().ok().and_then(|c| c.get(digest).cloned()) {
            return Ok(c);
        }
        let gate = self.compiling.lock().map(|mut m| m.entry(digest.to_string()).or_default().clone()).ok();
        let _turn = gate.as_ref().and_then(|g| g.lock().ok());
        if let Some(c) = self.cache.lock().ok().and_then(|c| c.get(digest).cloned()) {
            return Ok(c);
        }
        let compiled = match self.from_disk(digest, component) {
            Some(c) => c,
            None => {
                let c = if component {
                    wasmtime::component::Component::new(&self.engine, bytes).map(Compiled::Component)
                } else {
                    wasmtime::Module::new(&self.engine, bytes).map(Compiled::Core)
                }
                .map_err(|e| {
                    load_error("InvalidModule", format!("the module does not compile: {}", root_message(&e)))
                })?;
                self.to_disk(digest, &c);
                c
            }
        };
        if let Ok(mut cache) = self.cache.lock() {
            if cache.len() >= 64 {
                cache.clear();
            }
            cache.insert(digest.to_string(), compiled.clone());
        }
        Ok(compiled)
    }

    /// `<data-dir>/compiled/<digest>.cwasm`, used only when its own checksum still matches (a
    /// flipped bit is a recompile, never native code executed).
    fn from_disk(&self, digest: &str, component: bool) -> Option<Compiled> {
        let file = self.compiled_dir.join(format!("{digest}.cwasm"));
        let sum = std::fs::read_to_string(self.compiled_dir.join(format!("{digest}.cwasm.sha256"))).ok()?;
        let data = std::fs::read(&file).ok()?;
        if sha256_hex(&data) != sum.trim() {
            let _ = std::fs::remove_file(&file);
            return None;
        }
        drop(data);
        // SAFETY: the file was written by this agent from Wasmtime's own serialization and its
        // checksum matches; Wasmtime also refuses code made by another version or configuration.
        unsafe {
            if component {
                wasmtime::component::Component::deserialize_file(&self.engine, &file).ok().map(Compiled::Component)
            } else {
                wasmtime::Module::deserialize_file(&self.engine, &file).ok().map(Compiled::Core)
            }
        }
    }

    fn to_disk(&self, digest: &str, compiled: &Compiled) {
        let data = match compiled {
            Compiled::Core(m) => m.serialize(),
            Compiled::Component(c) => c.serialize(),
        };
        if let Ok(data) = data {
            let file = self.compiled_dir.join(format!("{digest}.cwasm"));
            if write_atomic(&file, &data).is_ok() {
                let _ = write_atomic(
                    &self.compiled_dir.join(format!("{digest}.cwasm.sha256")),
                    sha256_hex(&data).as_bytes(),
                );
            }
        }
    }

    /// Drops compiled code no desired function uses any more.
    pub fn gc(&self, keep: &std::collections::HashSet<String>) {
        if let Ok(mut cache) = self.cache.lock() {
            cache.retain(|d, _| keep.contains(d));
        }
        if let Ok(entries) = std::fs::read_dir(&self.compiled_dir) {
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().to_string();
                let digest = name.split('.').next().unwrap_or("");
                if !keep.contains(digest) {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
    }
}

/// The message of the innermost error, without Wasmtime's wrapping context.
pub fn root_message(e: &wasmtime::Error) -> String {
    format!("{e:#}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn sizes_read_like_the_node_agents_messages() {
        assert_eq!(super::format_bytes(4 * 1024 * 1024 * 1024), "4 GiB");
        assert_eq!(super::format_bytes(16 * 1024 * 1024), "16 MiB");
        assert_eq!(super::format_bytes(50 * 1024 * 1024 + 1), "50 MiB");
        assert_eq!(super::format_bytes(1536), "1.5 KiB");
    }
}
