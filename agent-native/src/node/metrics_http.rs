// SPDX-License-Identifier: Apache-2.0
// The agent's /metrics document (Prometheus text exposition 0.0.4; the same series as the Node
// agent's agent/src/metrics/prometheus.ts where they apply) and the tiny HTTP/1.1 responder that
// serves it on --metrics-address: one GET per connection, answered from a document rendered when
// the connection arrives, so the event loop never waits on a scraper.
use crate::wire::status::NodeStatus;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const PHASES: [&str; 6] = ["Pending", "Fetching", "Starting", "Running", "Failed", "CrashLoopBackOff"];

/// Resident set size of this process in bytes (/proc/self/statm).
pub fn rss_bytes() -> u64 {
    let page = 4096u64;
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1).and_then(|v| v.parse::<u64>().ok()))
        .map_or(0, |pages| pages * page)
}

pub fn render(status: &NodeStatus, threads: (u64, u64)) -> String {
    let mut out = String::new();
    let mut gauge = |name: &str, help: &str, samples: &[(String, u64)]| {
        out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} gauge\n"));
        for (labels, v) in samples {
            out.push_str(&format!("{name}{labels} {v}\n"));
        }
    };
    gauge(
        "wasmfleet_agent_process_resident_memory_bytes",
        "Resident set size of the agent process.",
        &[(String::new(), rss_bytes())],
    );
    let functions = status.functions.as_deref().unwrap_or(&[]);
    let by_phase: Vec<(String, u64)> = PHASES
        .iter()
        .map(|p| (format!("{{phase=\"{p}\"}}"), functions.iter().filter(|f| f.phase == *p).count() as u64))
        .collect();
    gauge("wasmfleet_agent_functions", "Functions this agent runs, by phase.", &by_phase);
    gauge(
        "wasmfleet_agent_function_threads",
        "Functions with a running instance, by where their calls run: the agent's own thread, or a thread of their own (deadline above 100 ms, or --isolation worker).",
        &[("{thread=\"agent\"}".into(), threads.0), ("{thread=\"worker\"}".into(), threads.1)],
    );
    out
}

/// Answers one HTTP request on `stream` with `body` for GET /metrics, 404 otherwise.
pub async fn answer(mut stream: TcpStream, body: String) {
    let mut buf = vec![0u8; 8192];
    let mut len = 0;
    let read = tokio::time::timeout(std::time::Duration::from_secs(5), async {
        while len < buf.len() {
            match stream.read(&mut buf[len..]).await {
                Ok(0) | Err(_) => break,
                Ok(n) => len += n,
            }
            if buf[..len].windows(4).any(|w| w == b"\r\n\r\n") {
                break;
            }
        }
    })
    .await;
    if read.is_err() {
        return;
    }
    let request = String::from_utf8_lossy(&buf[..len]);
    let path = request.split_whitespace().nth(1).unwrap_or("");
    let (status, ctype, body) = if path == "/metrics" {
        ("200 OK", "text/plain; version=0.0.4; charset=utf-8", body)
    } else {
        ("404 Not Found", "text/plain; charset=utf-8", "only /metrics is served\n".to_string())
    };
    let head = format!(
        "HTTP/1.1 {status}\r\ncontent-type: {ctype}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes()).await;
    let _ = stream.write_all(body.as_bytes()).await;
    let _ = stream.shutdown().await;
}
