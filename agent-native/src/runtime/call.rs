// SPDX-License-Identifier: Apache-2.0
// What one invocation accumulates on the host side, shared by core modules and components: the
// input topic, the outputs (by declared index), the error text a guest set, its log lines, and
// its deadline. Limits per call as in guest-abi.md: 64 outputs or 1 MiB, 32 log lines of 1 KiB.
use std::fmt;
use std::time::Instant;

pub const MAX_OUTPUTS: usize = 64;
pub const MAX_OUTPUT_BYTES: usize = 1024 * 1024;
const MAX_LOG_LINES: usize = 32;
const MAX_LOG_LINE: usize = 1024;

pub struct CallCtx {
    pub topic: String,
    pub outputs: Vec<(usize, Vec<u8>)>,
    pub output_bytes: usize,
    pub error: Option<String>,
    pub logs: Vec<(u8, String)>,
    pub dropped_logs: usize,
    pub deadline: Instant,
}

impl Default for CallCtx {
    fn default() -> Self {
        CallCtx {
            topic: String::new(),
            outputs: Vec::new(),
            output_bytes: 0,
            error: None,
            logs: Vec::new(),
            dropped_logs: 0,
            deadline: Instant::now(),
        }
    }
}

impl CallCtx {
    pub fn begin(&mut self, topic: &str, deadline: Instant) {
        self.topic.clear();
        self.topic.push_str(topic);
        self.outputs.clear();
        self.output_bytes = 0;
        self.error = None;
        self.dropped_logs = 0;
        self.deadline = deadline;
    }

    /// Guests are rate-limited per call so a log flood cannot starve the agent.
    pub fn log(&mut self, level: u8, text: &str) {
        if self.logs.len() >= MAX_LOG_LINES {
            self.dropped_logs += 1;
            return;
        }
        let text = match text.char_indices().nth(MAX_LOG_LINE) {
            Some((at, _)) => format!("{}…", &text[..at]),
            None => text.to_string(),
        };
        self.logs.push((level.min(3), text));
    }

    /// 0 queued, -2 limit reached (guest-abi.md).
    pub fn emit(&mut self, index: usize, payload: &[u8]) -> i32 {
        if self.outputs.len() >= MAX_OUTPUTS || self.output_bytes + payload.len() > MAX_OUTPUT_BYTES {
            return -2;
        }
        self.output_bytes += payload.len();
        self.outputs.push((index, payload.to_vec()));
        0
    }

    /// The log lines of the call just made, with a note when some were dropped.
    pub fn take_logs(&mut self) -> Vec<(u8, String)> {
        let mut logs = std::mem::take(&mut self.logs);
        if self.dropped_logs > 0 {
            logs.push((2, format!("{} more log lines dropped (limit per call)", self.dropped_logs)));
            self.dropped_logs = 0;
        }
        logs
    }
}

/// A host function found the guest at fault (a bad pointer, invalid UTF-8): the call traps.
#[derive(Debug)]
pub struct GuestTrap(pub String);

/// The call's deadline passed (raised by the epoch callback or a WASI sleep).
#[derive(Debug)]
pub struct DeadlineExceeded;

/// The guest called proc_exit: the call ends with an error.
#[derive(Debug)]
pub struct ProcExit(pub i32);

impl fmt::Display for GuestTrap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl fmt::Display for DeadlineExceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the call's deadline passed")
    }
}
impl fmt::Display for ProcExit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the module called proc_exit({})", self.0)
    }
}
impl std::error::Error for GuestTrap {}
impl std::error::Error for DeadlineExceeded {}
impl std::error::Error for ProcExit {}

pub fn trap(message: impl Into<String>) -> wasmtime::Error {
    wasmtime::Error::new(GuestTrap(message.into()))
}
