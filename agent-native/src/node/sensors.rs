// SPDX-License-Identifier: Apache-2.0
// The sensors a device reports in its status: those configured with --sensors plus those learned
// from the topics its functions receive (the last topic level names the sensor), bounded so
// every status document fits the wire schema (agent/src/node/sensor-registry.ts, the same rules).
use crate::clock::iso;
use crate::wire::status::SensorReport;
use std::collections::HashMap;

pub const MAX_SENSORS: usize = 128;
pub const MAX_SENSOR_NAME_LENGTH: usize = 63;
pub const MAX_SENSOR_TOPIC_LENGTH: usize = 1024;

/// Why a configured sensor name cannot be reported, or None when it can.
pub fn sensor_name_problem(name: &str) -> Option<String> {
    let n = name.chars().count();
    if n == 0 {
        return Some("a sensor name must not be empty".into());
    }
    if n > MAX_SENSOR_NAME_LENGTH {
        let head: String = name.chars().take(20).collect();
        return Some(format!("sensor name \"{head}…\" has {n} characters; the most is {MAX_SENSOR_NAME_LENGTH}"));
    }
    None
}

#[derive(Default)]
pub struct SensorRegistry {
    configured: Vec<String>,
    learned: HashMap<String, (String, u64)>,
    order: Vec<String>,
    warned_misfit: bool,
    warned_full: bool,
}

impl SensorRegistry {
    pub fn new(configured: &[String]) -> Self {
        SensorRegistry { configured: configured.iter().take(MAX_SENSORS).cloned().collect(), ..Default::default() }
    }

    /// Records that `topic` delivered a message at `now`; a line to log the first time a sensor of
    /// each kind cannot be learned.
    pub fn seen(&mut self, topic: &str, name: &str, now: u64) -> Option<String> {
        if let Some(entry) = self.learned.get_mut(name) {
            if entry.0 != topic {
                entry.0 = topic.to_string();
            }
            entry.1 = now;
            return None;
        }
        let misfit = name.is_empty()
            || name.chars().count() > MAX_SENSOR_NAME_LENGTH
            || topic.chars().count() > MAX_SENSOR_TOPIC_LENGTH;
        let full = !misfit && self.learned.len() + self.configured.len() >= MAX_SENSORS;
        if !misfit && !full {
            self.learned.insert(name.to_string(), (topic.to_string(), now));
            self.order.push(name.to_string());
            return None;
        }
        let shown: String = if topic.chars().count() > 80 {
            format!("{}…", topic.chars().take(80).collect::<String>())
        } else {
            topic.to_string()
        };
        if misfit && !self.warned_misfit {
            self.warned_misfit = true;
            return Some(format!(
                "not reporting the sensor of {shown}: a sensor is named by the last topic level, which must have 1 to {MAX_SENSOR_NAME_LENGTH} characters in a topic of at most {MAX_SENSOR_TOPIC_LENGTH} (its messages are still processed; this is said once)"
            ));
        }
        if full && !self.warned_full {
            self.warned_full = true;
            return Some(format!(
                "not reporting the sensor of {shown}: the status lists at most {MAX_SENSORS} sensors (its messages are still processed; this is said once)"
            ));
        }
        None
    }

    pub fn report(&self) -> Vec<SensorReport> {
        // Configured names first; a learned one fills in its configured entry, the rest follow in
        // the order they were learned (the Node agent's Map does the same).
        let entry = |name: &String| match self.learned.get(name) {
            Some((topic, seen)) => {
                SensorReport { name: name.clone(), topic: Some(topic.clone()), last_seen: Some(iso(*seen)) }
            }
            None => SensorReport { name: name.clone(), topic: None, last_seen: None },
        };
        let mut out: Vec<SensorReport> = Vec::new();
        for name in &self.configured {
            if !out.iter().any(|s| &s.name == name) {
                out.push(entry(name));
            }
        }
        for name in &self.order {
            if !self.configured.contains(name) {
                out.push(entry(name));
            }
        }
        out.truncate(MAX_SENSORS);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_names_and_overflow_are_not_learned_and_said_once() {
        let mut r = SensorRegistry::new(&["temperature".to_string()]);
        assert!(r.seen("sensors/a/humidity", "humidity", 1).is_none());
        let long = "x".repeat(64);
        assert!(r.seen(&format!("s/{long}"), &long, 1).is_some());
        assert!(r.seen(&format!("s/{long}"), &long, 2).is_none());
        for i in 0..200 {
            r.seen(&format!("s/n{i}"), &format!("n{i}"), 3);
        }
        assert_eq!(r.report().len(), MAX_SENSORS);
        assert_eq!(r.report()[0].name, "temperature");
    }
}
