// SPDX-License-Identifier: Apache-2.0
// The node status document (retained on wasmfleet/v1/nodes/<node>/status) and the log line: the
// serde twins of api/src/wire/status.ts and log-line.ts. Optional fields are left out when unset,
// exactly as the Node agent leaves them out, so the operator reads both agents alike.
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeStatus {
    pub version: u8,
    pub node: String,
    pub state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arch: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub os: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub heartbeat_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub heartbeat_interval_seconds: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sensors: Option<Vec<SensorReport>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capacity: Option<Capacity>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_buffer: Option<OutputBufferReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub functions: Option<Vec<FunctionStatusReport>>,
}

impl NodeStatus {
    /// The last will and the clean-stop document: `{"version":1,"node":…,"state":"offline"}`.
    pub fn offline(node: &str) -> NodeStatus {
        NodeStatus {
            version: 1,
            node: node.to_string(),
            state: "offline",
            agent_version: None,
            arch: None,
            os: None,
            started_at: None,
            heartbeat_at: None,
            heartbeat_interval_seconds: None,
            observed_generation: None,
            sensors: None,
            capacity: None,
            output_buffer: None,
            functions: None,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SensorReport {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Capacity {
    pub max_functions: u64,
    pub memory_bytes: u64,
    pub runtimes: Vec<&'static str>,
}

#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct OutputBufferReport {
    pub messages: u64,
    pub bytes: u64,
    pub max_messages: u64,
    pub max_bytes: u64,
    pub dropped: u64,
    pub dropped_bytes: u64,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FunctionStatusReport {
    pub namespace: String,
    pub name: String,
    pub revision: String,
    pub phase: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    pub since: String,
    pub restarts: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_retry_at: Option<String>,
    pub invocations: u64,
    pub errors: u64,
    pub malformed: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency_p50_us: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency_p99_us: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LogLine<'a> {
    pub version: u8,
    pub ts: String,
    pub level: &'static str,
    pub namespace: &'a str,
    pub name: &'a str,
    pub node: &'a str,
    pub revision: &'a str,
    pub text: &'a str,
}

/// At most `max` characters (not bytes: the schema counts characters), cut on a char boundary.
pub fn clip(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => text[..at].to_string(),
        None => text.to_string(),
    }
}
