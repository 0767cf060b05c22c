// SPDX-License-Identifier: Apache-2.0
// The bound on outputs waiting for the broker — queued while disconnected or awaiting a PUBACK —
// the twin of agent/src/mqtt/output-budget.ts (ADR 0013): the newest output is refused when
// either bound is reached, every refusal counted in status and logged at most every 10 s.
use crate::wire::status::OutputBufferReport;

pub struct OutputBudget {
    max_messages: u64,
    max_bytes: u64,
    messages: u64,
    bytes: u64,
    dropped: u64,
    dropped_bytes: u64,
    reported: u64,
    last_line_ms: Option<u64>,
}

impl OutputBudget {
    pub fn new(max_messages: u64, max_bytes: u64) -> Self {
        OutputBudget {
            max_messages,
            max_bytes,
            messages: 0,
            bytes: 0,
            dropped: 0,
            dropped_bytes: 0,
            reported: 0,
            last_line_ms: None,
        }
    }

    /// Reserves room for one output; false (and counted) when full, unless `always` (an output
    /// bounded by MQTT flow control, counted but never refused).
    pub fn take(&mut self, bytes: u64, always: bool) -> bool {
        if !always && (self.messages + 1 > self.max_messages || self.bytes + bytes > self.max_bytes) {
            self.dropped += 1;
            self.dropped_bytes += bytes;
            return false;
        }
        self.messages += 1;
        self.bytes += bytes;
        true
    }

    pub fn give(&mut self, bytes: u64) {
        self.messages = self.messages.saturating_sub(1);
        self.bytes = self.bytes.saturating_sub(bytes);
    }

    pub fn report(&self) -> OutputBufferReport {
        OutputBufferReport {
            messages: self.messages,
            bytes: self.bytes,
            max_messages: self.max_messages,
            max_bytes: self.max_bytes,
            dropped: self.dropped,
            dropped_bytes: self.dropped_bytes,
        }
    }

    /// A line to log about drops since the last one (at the first, then at most every 10 s).
    pub fn drop_line(&mut self, connected: bool, now_ms: u64, force: bool) -> Option<String> {
        if self.dropped == self.reported {
            return None;
        }
        if !force && self.last_line_ms.is_some_and(|t| now_ms.saturating_sub(t) < 10_000) {
            return None;
        }
        let fresh = self.dropped - self.reported;
        self.reported = self.dropped;
        self.last_line_ms = Some(now_ms);
        Some(format!(
            "output buffer full ({}/{} messages, {}/{} bytes waiting for the broker{}): dropped {fresh} output(s), {} since start; raise --output-buffer / --output-buffer-bytes to keep more through an outage",
            self.messages,
            self.max_messages,
            self.bytes,
            self.max_bytes,
            if connected { "" } else { ", disconnected" },
            self.dropped
        ))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_newest_output_is_dropped_when_full_unless_flow_controlled() {
        let mut b = super::OutputBudget::new(2, 1000);
        assert!(b.take(10, false));
        assert!(b.take(10, false));
        assert!(!b.take(10, false));
        assert!(b.take(10, true));
        assert_eq!(b.report().dropped, 1);
        assert!(b.drop_line(false, 0, false).unwrap().contains("dropped 1 output(s)"));
        assert!(b.drop_line(false, 1, false).is_none());
        b.give(10);
        assert_eq!(b.report().messages, 2);
    }
}
