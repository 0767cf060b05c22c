// SPDX-License-Identifier: Apache-2.0
// wasmfleet-agent-native: the device runtime as a process, on Wasmtime. Same flags, environment
// and config file as the Node agent (config.rs); stops cleanly on SIGINT/SIGTERM, publishing an
// offline status — a SIGKILL is covered by the retained last will and the persistent session.
// `wasmfleet-agent-native join …` provisions the device instead (join/).
mod clock;
mod config;
mod join;
mod mqtt;
mod node;
mod runtime;
mod signing;
mod store;
mod wire;

use config::{HELP, Parsed, parse_config};
use node::agent::{Agent, MAX_IN_FLIGHT, log};
use std::collections::HashMap;

/// The cache key of the checkout this binary was built from (local-stack/src/native-agent.ts):
/// cargo rebuilds the crate when it changes, and the build cache checks that the binary it copies
/// carries it (`--help` shows it). Absent in a plain `cargo build`.
const BUILD_KEY: Option<&str> = option_env!("WASMFLEET_BUILD_KEY");

fn main() {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    if argv.first().is_some_and(|a| a == "join") {
        std::process::exit(join::command(&argv[1..]));
    }
    let env: HashMap<String, String> = std::env::vars().collect();
    let settings = match parse_config(&argv, &env) {
        Ok(Parsed::Run(s)) => *s,
        Ok(Parsed::Help) => {
            print!("{HELP}");
            if let Some(key) = BUILD_KEY {
                println!("\n  (build {key})");
            }
            return;
        }
        Ok(Parsed::Version) => {
            println!("{}", node::agent::AGENT_VERSION);
            return;
        }
        Err(e) => {
            eprintln!("wasmfleet-agent-native: {}", e.0);
            std::process::exit(2);
        }
    };
    let session = match mqtt::session::SessionConfig::from_settings(&settings, MAX_IN_FLIGHT) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("wasmfleet-agent-native: {e}");
            std::process::exit(2);
        }
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .max_blocking_threads(64)
        .build()
        .expect("a Tokio runtime");
    // The agent runs as a spawned task, not as block_on's own future: when a task wakes block_on's
    // future, Tokio's current-thread scheduler polls the I/O driver (a zero-timeout epoll_wait)
    // before polling it, which cost two extra system calls per message (ADR 0052, dated section);
    // a task woken by a task is only queued.
    let code = rt.block_on(async move { tokio::spawn(agent_main(settings, session)).await.unwrap_or(1) });
    // Threads still compiling or running a call past their deadline must not hold the exit.
    std::process::exit(code);
}

/// The agent from its start to its shutdown; the process's exit code.
async fn agent_main(settings: config::Settings, session: mqtt::session::SessionConfig) -> i32 {
    let runtime = match runtime::Runtime::new(&settings.data_dir) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("wasmfleet-agent-native: {e}");
            return 1;
        }
    };
    let (client, events) = mqtt::session::spawn(session, settings.protocol_version == 5);
    let (tx, internal) = tokio::sync::mpsc::unbounded_channel();
    let node = settings.node_id.clone();
    let dir = settings.data_dir.display().to_string();
    let metrics = match &settings.metrics_address {
        Some((host, port)) => match tokio::net::TcpListener::bind((host.as_str(), *port)).await {
            Ok(l) => Some(l),
            Err(e) => {
                eprintln!(
                    "wasmfleet-agent-native: cannot serve metrics on {host}:{port}: {e}; pick a free port with --metrics-address"
                );
                return 2;
            }
        },
        None => None,
    };
    let mut agent = Agent::new(settings, runtime, client, tx);
    agent.start_from_cache();
    eprintln!("wasmfleet-agent-native: node {node} started (data in {dir})");
    if let Some(addr) = metrics.as_ref().and_then(|l| l.local_addr().ok()) {
        eprintln!("wasmfleet-agent-native: serving metrics on http://{addr}/metrics");
    }
    agent.run(events, internal, shutdown_signal(), metrics).await;
    0
}

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).expect("a SIGTERM handler");
    let mut int = signal(SignalKind::interrupt()).expect("a SIGINT handler");
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    log("info", "stopping");
}
