# SPDX-License-Identifier: Apache-2.0
# Shared shell helpers for WasmFleet's setup scripts. Source it; it does nothing on its own.
# Everything it installs goes under .tools/ (git-ignored) or the user's cache, never system-wide,
# except Debian packages, which only apt can place.

WASMFLEET_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
NODE_VERSION="$(tr -d 'v \n' < "$WASMFLEET_ROOT/.node-version")"
NODE_HOME="$WASMFLEET_ROOT/.tools/node-v$NODE_VERSION"

log() { printf '\033[1m==>\033[0m %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# node_major prints the major version of the `node` on PATH, or 0 when there is none.
node_major() { command -v node >/dev/null 2>&1 && node -p 'process.versions.node.split(".")[0]' || echo 0; }

# ensure_node puts Node 24 first on PATH. A machine whose own Node is older than 22 gets the
# pinned release from the npm registry's node-linux-<arch> package (no other download site is
# needed), unpacked once into .tools/.
ensure_node() {
  if [ -x "$NODE_HOME/bin/node" ]; then export PATH="$NODE_HOME/bin:$PATH"; return; fi
  if [ "$(node_major)" -ge 22 ] && [ -z "${WASMFLEET_FORCE_LOCAL_NODE:-}" ]; then return; fi
  local arch
  case "$(uname -m)" in
    x86_64) arch=x64 ;; aarch64 | arm64) arch=arm64 ;;
    *) die "no Node $NODE_VERSION package for $(uname -m); install Node >= 22 yourself and retry" ;;
  esac
  command -v npm >/dev/null 2>&1 || die "npm is needed to fetch Node $NODE_VERSION; install npm (any version) and retry"
  log "provisioning Node $NODE_VERSION into .tools/ (machine has $(node --version 2>/dev/null || echo no node))"
  local tmp; tmp="$(mktemp -d)"
  (cd "$tmp" && npm pack --silent "node-linux-$arch@$NODE_VERSION" >/dev/null) \
    || die "could not fetch node-linux-$arch@$NODE_VERSION from the npm registry"
  mkdir -p "$NODE_HOME"
  tar -xzf "$tmp"/node-linux-"$arch"-*.tgz -C "$NODE_HOME" --strip-components=1 package/bin package/LICENSE
  rm -rf "$tmp"
  export PATH="$NODE_HOME/bin:$PATH"
}

# ensure_debian_packages installs the named Debian packages when their commands are missing.
ensure_debian_packages() {
  local missing=() pkg
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return
  local sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  log "installing Debian packages: ${missing[*]}"
  $sudo apt-get update -qq || die "apt-get update failed; install ${missing[*]} by hand and retry"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
    || die "could not install ${missing[*]}; install them by hand and retry"
}

# ensure_npm_deps runs `npm ci` when package-lock.json is newer than the installed tree.
ensure_npm_deps() {
  local stamp="$WASMFLEET_ROOT/node_modules/.package-lock.json"
  if [ -f "$stamp" ] && [ "$stamp" -nt "$WASMFLEET_ROOT/package-lock.json" ]; then return; fi
  log "installing npm dependencies (npm ci)"
  (cd "$WASMFLEET_ROOT" && npm ci --no-audit --no-fund --loglevel=error) || die "npm ci failed"
}

# ensure_control_plane builds kube-apiserver, etcd and kubectl from the Go module proxy (see
# docs/control-plane.md) unless KUBEBUILDER_ASSETS already points at them.
ensure_control_plane() {
  node "$WASMFLEET_ROOT/test-support/bin/control-plane-binaries.ts" --print-dir >/dev/null
  ensure_helm
  ensure_cosign
}

# ensure_helm builds the real `helm` the chart tests use from the Go module proxy
# (test-support/helm/go.mod), cached beside the control-plane binaries; WASMFLEET_HELM points at
# one you already have. Called by ensure_control_plane so CI builds it in the same timed phase.
ensure_helm() {
  (cd "$WASMFLEET_ROOT" && node --input-type=module -e '
    import { ensureHelmBinary } from "./test-support/src/control-plane/binaries.ts";
    try {
      const h = await ensureHelmBinary({ progress: (line) => console.error(`  ${line}`) });
      console.log(h.helm);
    } catch (error) {
      console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
      process.exitCode = 1;
    }') >/dev/null
}

# ensure_cosign builds the real `cosign` the module-signing tests sign OCI artifacts with, from
# the Go module proxy (test-support/cosign/go.mod), cached like helm; WASMFLEET_COSIGN points at
# one you already have. Called by ensure_control_plane so CI builds it in the same timed phase.
ensure_cosign() {
  (cd "$WASMFLEET_ROOT" && node --input-type=module -e '
    import { ensureCosignBinary } from "./test-support/src/control-plane/binaries.ts";
    try {
      const c = await ensureCosignBinary({ progress: (line) => console.error(`  ${line}`) });
      console.log(c.cosign);
    } catch (error) {
      console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
      process.exitCode = 1;
    }') >/dev/null
}

# ensure_native_agent builds the native device agent (agent-native/, Rust on Wasmtime) unless a
# binary for the same inputs is cached in ~/.cache/wasmfleet/agent-native (docs/adr/0020).
# WASMFLEET_NATIVE_AGENT points at one you built yourself.
ensure_native_agent() {
  command -v cargo >/dev/null 2>&1 || die "cargo is needed to build the native agent; install Rust (rustup) and retry"
  (cd "$WASMFLEET_ROOT" && node --input-type=module -e '
    import { ensureNativeAgent } from "./test-support/src/native-agent.ts";
    try {
      const b = await ensureNativeAgent({ progress: (line) => console.error(`  ${line}`) });
      console.error(`  native agent: ${b.path} (${b.source}${b.buildSeconds === undefined ? "" : `, built in ${b.buildSeconds} s`})`);
    } catch (error) {
      console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
      process.exitCode = 1;
    }')
}

# timed runs a phase and prints how long it took, so slow CI phases are visible.
timed() {
  local name="$1"; shift
  local start=$SECONDS
  "$@"
  log "$name took $((SECONDS - start))s"
}

# --- container tier (issue 16) -------------------------------------------------------------
# ensure_container_engine installs docker.io where missing and starts dockerd where none
# answers (scripts/container-engine; `scripts/container-engine stop` stops it again).
ensure_container_engine() {
  "$WASMFLEET_ROOT/scripts/container-engine" start
}

# ensure_container_images builds or loads (from ~/.cache/wasmfleet/images) every image the
# container tier runs: Node 24 base, operator, agent, Mosquitto, the kind node (docs/adr/0020).
ensure_container_images() {
  node "$WASMFLEET_ROOT/test-support/bin/container-images.ts" --tag e2e
}
