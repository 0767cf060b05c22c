// SPDX-License-Identifier: Apache-2.0
// The deadline clock behind every call's time limit: Wasmtime's epoch interruption, with one
// thread that advances the engine's epoch every millisecond while calls run and sleeps while none
// does (an idle device gets no timer wake-ups). Each store checks its own deadline on each tick
// (call.rs), so a runaway guest is stopped within about a millisecond of its deadline.
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::thread::{self, Thread};
use std::time::Duration;
use wasmtime::Engine;

/// Ticks without a call after which the ticker parks (a steady stream keeps it awake).
const LINGER_TICKS: u32 = 20;

pub struct DeadlineClock {
    active: AtomicUsize,
    entries: AtomicU64,
    parked: AtomicBool,
    ticker: Thread,
}

impl DeadlineClock {
    pub fn start(engine: Engine) -> Arc<DeadlineClock> {
        let (tx, rx) = std::sync::mpsc::channel::<Arc<DeadlineClock>>();
        let handle = thread::Builder::new()
            .name("wasm-deadline".into())
            .stack_size(64 * 1024)
            .spawn(move || {
                let Ok(clock) = rx.recv() else { return };
                clock.run(&engine);
            })
            .expect("the deadline clock thread starts");
        let clock = Arc::new(DeadlineClock {
            active: AtomicUsize::new(0),
            entries: AtomicU64::new(0),
            parked: AtomicBool::new(false),
            ticker: handle.thread().clone(),
        });
        let _ = tx.send(clock.clone());
        clock
    }

    fn run(&self, engine: &Engine) {
        let mut idle = 0u32;
        let mut seen = 0u64;
        loop {
            thread::sleep(Duration::from_millis(1));
            engine.increment_epoch();
            let entries = self.entries.load(SeqCst);
            if self.active.load(SeqCst) > 0 || entries != seen {
                seen = entries;
                idle = 0;
                continue;
            }
            idle += 1;
            if idle < LINGER_TICKS {
                continue;
            }
            self.parked.store(true, SeqCst);
            if self.active.load(SeqCst) == 0 && self.entries.load(SeqCst) == seen {
                thread::park();
            }
            self.parked.store(false, SeqCst);
            idle = 0;
        }
    }

    /// A call starts: the clock must tick until it ends.
    pub fn enter(&self) {
        self.active.fetch_add(1, SeqCst);
        self.entries.fetch_add(1, SeqCst);
        if self.parked.load(SeqCst) {
            self.ticker.unpark();
        }
    }

    pub fn leave(&self) {
        self.active.fetch_sub(1, SeqCst);
    }
}
