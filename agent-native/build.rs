// SPDX-License-Identifier: Apache-2.0
// Strips the symbol table from the agent's release binary at link time: 23.6 → 18.3 MB on x86_64,
// what a small device stores and maps (docs/adr/0049). Done here rather than with the release
// profile's `strip = "symbols"`, which would rebuild every dependency (Wasmtime: tens of minutes)
// in each shared target directory; a link argument of the binary relinks only this crate.
// (`-Wl,--strip-all`: a bare `-s` goes to the linker before rustc's own `--strip-debug`, which wins.)
// Panic messages keep their text and `file:line`; a backtrace names no functions. For profiling
// (perf) or a symbolized backtrace, build with WASMFLEET_NATIVE_SYMBOLS=1 (same code, symbols kept).
fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=WASMFLEET_NATIVE_SYMBOLS");
    let release = std::env::var("PROFILE").is_ok_and(|p| p == "release");
    let keep = std::env::var("WASMFLEET_NATIVE_SYMBOLS").is_ok_and(|v| v == "1");
    if release && !keep {
        println!("cargo:rustc-link-arg-bins=-Wl,--strip-all");
    }
}
