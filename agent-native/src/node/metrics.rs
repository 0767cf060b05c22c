// SPDX-License-Identifier: Apache-2.0
// Per-function invocation metrics: counts plus latency percentiles over the last 4096 calls
// (agent/src/metrics/latency.ts, the same window and rounding). Pure.

const RING: usize = 4096;

#[derive(Default)]
pub struct FunctionMetrics {
    pub invocations: u64,
    pub errors: u64,
    pub malformed: u64,
    pub last_error: Option<String>,
    samples: Vec<f32>,
    next: usize,
}

impl FunctionMetrics {
    pub fn record_call(&mut self, micros: f64, ok: bool, error: Option<String>) {
        self.invocations += 1;
        if !ok {
            self.errors += 1;
            self.last_error = error;
        }
        if self.samples.len() < RING {
            self.samples.push(micros as f32);
        } else {
            self.samples[self.next] = micros as f32;
        }
        self.next = (self.next + 1) % RING;
    }

    pub fn record_malformed(&mut self, problem: String) {
        self.malformed += 1;
        self.last_error = Some(problem);
    }

    /// Latency percentile in µs over the recent window, None before the first call.
    pub fn percentile(&self, p: f64) -> Option<f64> {
        if self.samples.is_empty() {
            return None;
        }
        let mut sorted = self.samples.clone();
        sorted.sort_by(|a, b| a.total_cmp(b));
        let n = sorted.len();
        let index = ((p / 100.0 * n as f64).ceil() as usize).saturating_sub(1).min(n - 1);
        Some((f64::from(sorted[index]) * 10.0).round() / 10.0)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn percentiles_cover_the_recent_window() {
        let mut m = super::FunctionMetrics::default();
        assert!(m.percentile(50.0).is_none());
        for i in 1..=100 {
            m.record_call(f64::from(i), i % 10 != 0, Some("x".into()));
        }
        assert_eq!(m.percentile(50.0), Some(50.0));
        assert_eq!(m.percentile(99.0), Some(99.0));
        assert_eq!((m.invocations, m.errors), (100, 10));
    }
}
