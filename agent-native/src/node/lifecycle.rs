// SPDX-License-Identifier: Apache-2.0
// The lifecycle of one function on the node as an explicit state machine (pure), the twin of
// agent/src/lifecycle/function-lifecycle.ts:
//
//   Pending → Fetching → Starting → Running
//       ↑         ↓ ↘        ↓ ↘       ↓ (crash: repeated traps/timeouts, or a fetch that failed)
//       │       Failed   CrashLoopBackOff
//       └──────(backoff elapsed: retry)──┘
//
// Failed is terminal for a revision; CrashLoopBackOff retries after 1 s, 2 s, 4 s … 5 min.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Pending,
    Fetching,
    Starting,
    Running,
    Failed,
    CrashLoopBackOff,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Pending => "Pending",
            Phase::Fetching => "Fetching",
            Phase::Starting => "Starting",
            Phase::Running => "Running",
            Phase::Failed => "Failed",
            Phase::CrashLoopBackOff => "CrashLoopBackOff",
        }
    }
}

#[derive(Debug, Clone)]
pub enum Event {
    Fetch,
    Fetched,
    Started,
    Fatal { reason: String, message: String },
    Crashed { reason: String, message: String },
    Retry,
}

#[derive(Debug, Clone)]
pub struct State {
    pub phase: Phase,
    pub reason: Option<String>,
    pub message: Option<String>,
    pub restarts: u64,
    /// Consecutive crashes since the last healthy run; drives the backoff.
    pub crashes: u32,
    pub since: u64,
    pub next_retry_at: Option<u64>,
}

pub const BACKOFF_BASE_MS: u64 = 1_000;
pub const BACKOFF_MAX_MS: u64 = 5 * 60_000;

pub fn initial_state(now: u64) -> State {
    State {
        phase: Phase::Pending,
        reason: None,
        message: None,
        restarts: 0,
        crashes: 0,
        since: now,
        next_retry_at: None,
    }
}

/// Backoff after the n-th consecutive crash: 1 s, 2 s, 4 s … capped at 5 min.
pub fn backoff_ms(crashes: u32) -> u64 {
    BACKOFF_MAX_MS.min(BACKOFF_BASE_MS.saturating_mul(1u64 << crashes.saturating_sub(1).min(20)))
}

pub fn transition(state: &State, event: Event, now: u64) -> Result<State, String> {
    use Phase::*;
    let allowed: &[Phase] = match event {
        Event::Fetch => &[Pending],
        Event::Fetched => &[Fetching],
        Event::Started => &[Starting],
        Event::Fatal { .. } => &[Pending, Fetching, Starting],
        Event::Crashed { .. } => &[Fetching, Starting, Running],
        Event::Retry => &[CrashLoopBackOff],
    };
    if !allowed.contains(&state.phase) {
        return Err(format!("invalid lifecycle transition: {event:?} in phase {:?}", state.phase));
    }
    let base = State {
        restarts: state.restarts,
        crashes: state.crashes,
        since: now,
        reason: None,
        message: None,
        next_retry_at: None,
        phase: state.phase,
    };
    Ok(match event {
        Event::Fetch => State { phase: Fetching, ..base },
        Event::Fetched => State { phase: Starting, ..base },
        Event::Started => State { phase: Running, ..base },
        Event::Fatal { reason, message } => {
            State { phase: Failed, reason: Some(reason), message: Some(message), ..base }
        }
        Event::Crashed { reason, message } => {
            let crashes = state.crashes + 1;
            State {
                phase: CrashLoopBackOff,
                crashes,
                reason: Some(reason),
                message: Some(message),
                next_retry_at: Some(now + backoff_ms(crashes)),
                ..base
            }
        }
        Event::Retry => State {
            phase: Pending,
            restarts: state.restarts + 1,
            reason: state.reason.clone(),
            message: state.message.clone(),
            ..base
        },
    })
}

/// After a successful call the crash counter resets, so the next backoff is short.
pub fn healthy(state: &mut State) {
    state.crashes = 0;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crashes_back_off_exponentially_and_retry_counts_a_restart() {
        let s = initial_state(0);
        let s = transition(&s, Event::Fetch, 1).unwrap();
        let s = transition(&s, Event::Crashed { reason: "FetchFailed".into(), message: "m".into() }, 2).unwrap();
        assert_eq!(s.phase, Phase::CrashLoopBackOff);
        assert_eq!(s.next_retry_at, Some(1002));
        let s = transition(&s, Event::Retry, 1002).unwrap();
        assert_eq!((s.phase, s.restarts), (Phase::Pending, 1));
        assert!(transition(&s, Event::Started, 3).is_err());
        assert_eq!(backoff_ms(3), 4000);
        assert_eq!(backoff_ms(30), BACKOFF_MAX_MS);
    }
}
