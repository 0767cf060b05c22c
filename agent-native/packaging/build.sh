#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds the native agent's release artifacts for this machine's architecture: a release build
# (cached by its inputs, test-support/src/native-agent.ts), laid out as it installs, then
# package.sh → tarball + .deb + SHA-256. For another architecture see docs/devices-native.md
# ("Building for arm64"): the same script with TARGET=aarch64-unknown-linux-gnu where that Rust
# target and its linker are installed.
#
#   agent-native/packaging/build.sh [out-dir]      (default: dist/agent-native)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
out="${1:-$repo/dist/agent-native}"
version="$(sed -n 's/^version = "\(.*\)"/\1/p' "$repo/agent-native/Cargo.toml" | head -1)"

if [ -n "${TARGET:-}" ]; then
  # Cross build: cargo's own cache, the target named; the linker comes from the environment
  # (e.g. CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc).
  (cd "$repo" && nice -n 10 cargo build --release --locked -p wasmfleet-agent-native --target "$TARGET")
  binary="$repo/target/$TARGET/release/wasmfleet-agent-native"
  case "$TARGET" in aarch64-*) arch=arm64 ;; x86_64-*) arch=amd64 ;; armv7-*) arch=armhf ;; *) arch="${TARGET%%-*}" ;; esac
else
  binary="$(cd "$repo" && node --input-type=module -e '
    import { ensureNativeAgent } from "./test-support/src/native-agent.ts";
    const b = await ensureNativeAgent({ progress: (l) => console.error(`  ${l}`) });
    console.log(b.path);')"
  case "$(uname -m)" in x86_64) arch=amd64 ;; aarch64) arch=arm64 ;; *) arch="$(uname -m)" ;; esac
fi

root="$(mktemp -d)"
trap 'rm -rf "$root"' EXIT
install -D -m 0755 "$binary" "$root/usr/bin/wasmfleet-agent-native"
install -D -m 0644 "$here/wasmfleet-agent-native.service" "$root/lib/systemd/system/wasmfleet-agent-native.service"
install -D -m 0600 "$here/agent.env" "$root/etc/wasmfleet/agent.env"
"$here/package.sh" --name wasmfleet-agent-native --version "$version" --arch "$arch" --root "$root" --out "$out" \
  --description "WasmFleet device agent (native, Wasmtime)" --depends 'libc6 (>= 2.31)' \
  --service wasmfleet-agent-native.service
