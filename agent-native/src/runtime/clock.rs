// SPDX-License-Identifier: Apache-2.0
// The deadline clock behind every call's time limit: Wasmtime's epoch interruption, with one
// thread that advances the engine's epoch when the earliest deadline of the calls that started is
// due, and sleeps otherwise. Each store checks its own deadline on each tick (call.rs). A call
// still running once a deadline passed keeps the clock ticking every millisecond until none runs,
// so a runaway guest is stopped within about a millisecond of its deadline; calls that end in
// time cost two atomic operations and, about once per deadline, one wake-up of the clock. (It
// ticked every millisecond while calls came: 1,000 wake-ups a second under a steady stream,
// 7 % of the agent's CPU at 20,000 msg/s — docs/adr/0049.)
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};
use wasmtime::Engine;

/// How often the epoch advances while a call runs past the earliest deadline.
const TICK: Duration = Duration::from_millis(1);
const NONE: u64 = u64::MAX;

pub struct DeadlineClock {
    base: Instant,
    /// Calls between enter and leave.
    active: AtomicUsize,
    /// When the clock must tick next, in µs since `base`; NONE: not before the next call.
    due: AtomicU64,
    /// Times the epoch advanced (what a test can see of the clock's wake-ups).
    ticks: AtomicU64,
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
            base: Instant::now(),
            active: AtomicUsize::new(0),
            due: AtomicU64::new(NONE),
            ticks: AtomicU64::new(0),
            ticker: handle.thread().clone(),
        });
        let _ = tx.send(clock.clone());
        clock
    }

    fn micros(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.base).as_micros()).unwrap_or(NONE - 1)
    }

    fn run(&self, engine: &Engine) {
        loop {
            let due = self.due.load(SeqCst);
            if due == NONE {
                thread::park();
                continue;
            }
            let now = self.micros(Instant::now());
            if now < due {
                thread::park_timeout(Duration::from_micros(due - now));
                continue;
            }
            // Taken before the tick: a call that starts from here on either finds NONE and wakes
            // the clock, or had already counted itself active and is seen below.
            self.due.swap(NONE, SeqCst);
            engine.increment_epoch();
            self.ticks.fetch_add(1, SeqCst);
            if self.active.load(SeqCst) > 0 {
                // Someone still runs: its own deadline may be later, so keep checking.
                self.due.fetch_min(self.micros(Instant::now() + TICK), SeqCst);
            }
        }
    }

    /// A call with this deadline starts: the clock must tick by then if it still runs.
    pub fn enter(&self, deadline: Instant) {
        self.active.fetch_add(1, SeqCst);
        let at = self.micros(deadline);
        if at < self.due.fetch_min(at, SeqCst) {
            self.ticker.unpark(); // it sleeps for a later time, or until the next call
        }
    }

    pub fn leave(&self) {
        self.active.fetch_sub(1, SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmtime::{Config, Store};

    fn engine() -> Engine {
        let mut config = Config::new();
        config.epoch_interruption(true);
        Engine::new(&config).expect("an engine")
    }

    /// Runs `wat`'s `run` under a deadline `ms` away, as the runtime does: whether it was stopped,
    /// its deadline and when it ended. (Measured against the deadline itself: timed from the
    /// call's start, a loaded CI machine saw a 30 ms deadline stop the loop "after 29.4 ms", the
    /// instantiation between setting the deadline and the call being left out.)
    fn run_until_deadline(clock: &DeadlineClock, engine: &Engine, wat: &str, ms: u64) -> (bool, Instant, Instant) {
        let module = wasmtime::Module::new(engine, wat::parse_str(wat).unwrap()).unwrap();
        let deadline = Instant::now() + Duration::from_millis(ms);
        let mut store = Store::new(engine, deadline);
        store.epoch_deadline_callback(|ctx| {
            if Instant::now() >= *ctx.data() {
                Err(wasmtime::Error::msg("deadline"))
            } else {
                Ok(wasmtime::UpdateDeadline::Continue(1))
            }
        });
        store.set_epoch_deadline(1);
        let instance = wasmtime::Instance::new(&mut store, &module, &[]).unwrap();
        let run = instance.get_typed_func::<(), ()>(&mut store, "run").unwrap();
        clock.enter(deadline);
        let stopped = run.call(&mut store, ()).is_err();
        clock.leave();
        (stopped, deadline, Instant::now())
    }

    /// Waits (up to 10 s, for a loaded machine) until `done` holds.
    fn eventually(what: &str, done: impl Fn() -> bool) {
        let until = Instant::now() + Duration::from_secs(10);
        while !done() {
            assert!(Instant::now() < until, "timed out waiting for {what}");
            thread::sleep(Duration::from_millis(1));
        }
    }

    /// Far more than a loaded machine makes a stopped call late, far less than the 60 s deadline
    /// a wrong clock would wait for.
    const LATE: Duration = Duration::from_secs(10);
    const LOOP: &str = r#"(module (func (export "run") (loop (br 0))))"#;
    const QUICK: &str = r#"(module (func (export "run")))"#;

    #[test]
    fn a_runaway_call_stops_near_its_deadline_after_calls_with_later_and_earlier_ones() {
        let engine = engine();
        let clock = DeadlineClock::start(engine.clone());
        // A quick call leaves a deadline behind; the loop that follows has a later one. (Its own
        // outcome is not the point: on a loaded machine its 5 ms may pass before it runs.)
        run_until_deadline(&clock, &engine, QUICK, 5);
        let (stopped, deadline, ended) = run_until_deadline(&clock, &engine, LOOP, 30);
        assert!(stopped, "the loop must be stopped");
        assert!(ended >= deadline, "not before its deadline: {:?} early", deadline - ended);
        // How soon after is for the benchmarks (about a millisecond on an idle machine); under
        // `nice -n 19` beside busy processes it was 0.5-0.6 s. A clock that waited for the wrong
        // deadline would be a minute late (the 60 s one below) or never stop the loop.
        let late = ended - deadline;
        assert!(late < LATE, "stopped by its own deadline: {late:?} late");
        // The clock sleeps for a long deadline; a shorter one must wake it.
        assert!(!run_until_deadline(&clock, &engine, QUICK, 60_000).0);
        let (stopped, deadline, ended) = run_until_deadline(&clock, &engine, LOOP, 20);
        let late = ended.saturating_duration_since(deadline);
        assert!(stopped && late < LATE, "{late:?} late");
    }

    #[test]
    fn the_clock_does_not_tick_while_calls_end_in_time() {
        let engine = engine();
        let clock = DeadlineClock::start(engine.clone());
        // A steady stream of quick calls for ~100 ms (the old clock ticked every millisecond).
        let until = Instant::now() + Duration::from_millis(100);
        while Instant::now() < until {
            assert!(!run_until_deadline(&clock, &engine, QUICK, 10_000).0);
            thread::sleep(Duration::from_micros(200));
        }
        assert_eq!(clock.ticks.load(SeqCst), 0, "no deadline was due, so no tick");
        // A deadline that passes makes it tick (more than once only while that call still ran),
        // then sleep again: nothing runs.
        // (Waited for, not slept on: under `nice -n 19` on a busy machine the clock's thread may
        // not run for tens of milliseconds.)
        run_until_deadline(&clock, &engine, QUICK, 1);
        eventually("a tick for the deadline that passed", || clock.ticks.load(SeqCst) >= 1);
        eventually("the clock going back to sleep", || clock.due.load(SeqCst) == NONE);
        let ticks = clock.ticks.load(SeqCst);
        thread::sleep(Duration::from_millis(30));
        assert_eq!(clock.ticks.load(SeqCst), ticks, "and none while nothing runs");
    }
}
