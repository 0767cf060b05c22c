// SPDX-License-Identifier: Apache-2.0
// MQTT topics of wire contract v1 (docs/mqtt-contract.md) and the topic rules the agent checks
// itself: the same builders and checks as api/src/wire/topics.ts, so both agents agree on every
// topic they subscribe to or publish on.

pub const WIRE_PREFIX: &str = "wasmfleet/v1";

/// `^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$` (NODE_ID_PATTERN), without a regex engine.
pub fn is_node_id(value: &str) -> bool {
    let b = value.as_bytes();
    let alnum = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    !b.is_empty()
        && b.len() <= 253
        && alnum(b[0])
        && alnum(b[b.len() - 1])
        && b.iter().all(|&c| alnum(c) || c == b'-' || c == b'.')
}

pub fn desired_topic(node: &str) -> String {
    format!("{WIRE_PREFIX}/nodes/{node}/desired")
}

pub fn status_topic(node: &str) -> String {
    format!("{WIRE_PREFIX}/nodes/{node}/status")
}

pub fn module_topic(digest: &str) -> String {
    format!("{WIRE_PREFIX}/modules/{digest}")
}

pub fn log_topic(namespace: &str, name: &str, node: &str) -> String {
    format!("{WIRE_PREFIX}/logs/{namespace}/{name}/{node}")
}

/// Replaces `{node}` in a user's input filter or output topic with the device's id.
pub fn expand_node(topic: &str, node: &str) -> String {
    topic.replace("{node}", node)
}

/// True when an MQTT topic name matches a filter with `+` and `#` wildcards.
pub fn topic_matches(filter: &str, topic: &str) -> bool {
    let dollar = topic.starts_with('$');
    let mut t = topic.split('/');
    for (i, f) in filter.split('/').enumerate() {
        if f == "#" {
            return !(i == 0 && dollar);
        }
        let Some(level) = t.next() else { return false };
        if f == "+" {
            if i == 0 && dollar {
                return false;
            }
            continue;
        }
        if f != level {
            return false;
        }
    }
    t.next().is_none()
}

/// Why an expanded function topic cannot be used, or None when it can (functionTopicProblem).
pub fn function_topic_problem(topic: &str, input: bool) -> Option<&'static str> {
    if topic.is_empty() {
        return Some("the topic is empty");
    }
    if topic.len() > 65_535 {
        return Some("the topic is longer than MQTT allows (65,535 bytes)");
    }
    if topic.contains('\0') {
        return Some("the topic contains a NUL character");
    }
    if topic.starts_with("wasmfleet/") || topic.starts_with('$') {
        return Some(
            "topics under wasmfleet/ (control traffic) and topics starting with $ (broker-internal) are reserved",
        );
    }
    if !input {
        return if topic.contains(['+', '#']) {
            Some("output topics are concrete topic names: remove the '+' or '#' wildcard")
        } else {
            None
        };
    }
    if let Some(at) = topic.find('#') {
        let last_level = at == topic.len() - 1 && (at == 0 || topic.as_bytes()[at - 1] == b'/');
        if !last_level {
            return Some("'#' must be the whole last level of a topic filter, e.g. sensors/#");
        }
    }
    if topic.split('/').any(|level| level.contains('+') && level != "+") {
        return Some("'+' must be a whole topic level, e.g. sensors/+/temperature");
    }
    None
}

/// The sensor a topic names: its last level.
pub fn sensor_name(topic: &str) -> &str {
    topic.rsplit('/').next().unwrap_or(topic)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_as_mqtt_defines_them() {
        assert!(topic_matches("sensors/+/t", "sensors/a/t"));
        assert!(!topic_matches("sensors/+/t", "sensors/a/b/t"));
        assert!(topic_matches("sensors/#", "sensors"));
        assert!(topic_matches("sensors/#", "sensors/a/b"));
        assert!(!topic_matches("#", "$SYS/x"));
        assert!(!topic_matches("+/x", "$SYS/x"));
        assert!(topic_matches("a/b", "a/b"));
        assert!(!topic_matches("a/b", "a/b/c"));
        assert!(!topic_matches("a/b/c", "a/b"));
    }

    #[test]
    fn node_ids_follow_the_wire_pattern() {
        assert!(is_node_id("pump-7"));
        assert!(is_node_id("a"));
        assert!(!is_node_id("Pump"));
        assert!(!is_node_id("-a"));
        assert!(!is_node_id("a/b"));
        assert!(!is_node_id(""));
    }

    #[test]
    fn topic_rules_refuse_misplaced_wildcards_and_reserved_prefixes() {
        assert!(function_topic_problem("sensors/#", true).is_none());
        assert!(function_topic_problem("#", true).is_none());
        assert!(function_topic_problem("sensors/a#", true).is_some());
        assert!(function_topic_problem("sensors/#/x", true).is_some());
        assert!(function_topic_problem("sensors/a+", true).is_some());
        assert!(function_topic_problem("out/+", false).is_some());
        assert!(function_topic_problem("wasmfleet/v1/x", true).is_some());
        assert!(function_topic_problem("$SYS/x", true).is_some());
    }
}
