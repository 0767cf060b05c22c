// SPDX-License-Identifier: Apache-2.0
// `wasmfleet-agent-native join …` as a program (docs/adr/0031, 0039): parse, trade the token over
// the broker, write the settings, start the service, and say what happened — exit 1 with the
// operator's reason when the token is refused or no answer comes, 2 for a bad argument. A
// running agent never enters this module.
mod answer;
mod args;
mod exchange;
mod settings;

use args::{JOIN_HELP, ParsedJoin, parse_join_args};
use settings::SERVICE;

pub fn command(argv: &[String]) -> i32 {
    let args = match parse_join_args(argv) {
        Ok(ParsedJoin::Help) => {
            print!("{JOIN_HELP}");
            return 0;
        }
        Ok(ParsedJoin::Join(a)) => a,
        Err(e) => {
            eprintln!("wasmfleet-agent join: {}", e.0);
            return 2;
        }
    };
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a Tokio runtime");
    let joined = match rt.block_on(exchange::request_credentials(&args)) {
        Ok(j) => j,
        Err(message) => {
            eprintln!("wasmfleet-agent join: {message}");
            return 1;
        }
    };
    let files = match settings::write_agent_settings(&args, &joined) {
        Ok(f) => f,
        Err(message) => {
            eprintln!("wasmfleet-agent join: joined as {}, but {message}", joined.node);
            return 1;
        }
    };
    let list: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    println!("joined the fleet as {}; wrote {}", joined.node, list.join(", "));
    if !args.start {
        return 0;
    }
    match settings::start_service() {
        Ok(true) => println!("started {SERVICE}"),
        Ok(false) => println!(
            "no {SERVICE} here to start; run the agent with these settings: set -a; . {}/agent.env; wasmfleet-agent-native",
            args.config_dir.display()
        ),
        Err(message) => {
            eprintln!("wasmfleet-agent join: {message}");
            return 1;
        }
    }
    0
}
