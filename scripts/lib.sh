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

# ensure_debian_packages installs the named Debian packages that are missing. A name may be a
# list of alternatives, "a | b": satisfied when one is installed, else the first that apt offers
# is installed (package names differ between Debian and Ubuntu releases). In a name, {clang}
# stands for the major version of the clang apt installs (its runtime must match it).
ensure_debian_packages() {
  local missing=() spec
  for spec in "$@"; do
    debian_spec_installed "$spec" || missing+=("$spec")
  done
  [ ${#missing[@]} -eq 0 ] && return
  local sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq || die "apt-get update failed; install ${missing[*]} by hand and retry"
  local chosen=() pkg
  for spec in "${missing[@]}"; do
    pkg="$(debian_offered "$spec")" || die "apt offers none of: $spec; install one by hand and retry"
    chosen+=("$pkg")
  done
  log "installing Debian packages: ${chosen[*]}"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${chosen[@]}" >/dev/null \
    || die "could not install ${chosen[*]}; install them by hand and retry"
}

# debian_alternatives prints the alternatives of one spec, one a line, with {clang} filled in.
debian_alternatives() {
  local spec="$1" clang=""
  if [[ "$spec" == *"{clang}"* ]]; then
    clang="$(apt-cache depends clang 2>/dev/null | sed -n 's/^ *Depends: clang-\([0-9][0-9]*\)$/\1/p' | head -n1)"
    [ -n "$clang" ] || clang="$(dpkg-query -W -f='${Depends}' clang 2>/dev/null | sed -n 's/.*clang-\([0-9][0-9]*\).*/\1/p')"
  fi
  tr '|' '\n' <<< "$spec" | sed -e 's/^ *//' -e 's/ *$//' -e "s/{clang}/$clang/g" | grep -v -- '--dev\|^$'
}

debian_spec_installed() {
  local pkg
  while read -r pkg; do
    [ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null)" = "install ok installed" ] && return 0
  done < <(debian_alternatives "$1")
  return 1
}

# debian_offered prints the first alternative apt can install.
debian_offered() {
  local pkg
  while read -r pkg; do
    if [ -n "$(apt-cache policy "$pkg" 2>/dev/null | sed -n 's/^ *Candidate: //p' | grep -v '(none)')" ]; then
      echo "$pkg"; return 0
    fi
  done < <(debian_alternatives "$1")
  return 1
}

# ensure_npm_deps runs `npm ci` when package-lock.json is newer than the installed tree.
ensure_npm_deps() {
  local stamp="$WASMFLEET_ROOT/node_modules/.package-lock.json"
  if [ -f "$stamp" ] && [ "$stamp" -nt "$WASMFLEET_ROOT/package-lock.json" ]; then return; fi
  log "installing npm dependencies (npm ci)"
  (cd "$WASMFLEET_ROOT" && npm ci --no-audit --no-fund --loglevel=error) || die "npm ci failed"
}

# ensure_example_workloads builds the example workloads (`npm run build:workloads`) or, when a
# build from the same inputs is cached, unpacks that: the examples' and SDKs' files, the WIT
# contract, the lockfile (AssemblyScript, jco) and the C, Go and Node versions. A rebuild took
# 114 s at load 23 (js-enrich alone 48 s) on every CI run. Unpacked with fresh modification
# times, so the tests' ensureBuilt (sources older than the module) takes them as they are.
ensure_example_workloads() {
  local cache="${WASMFLEET_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/wasmfleet}/workloads" key
  key="$(
    cd "$WASMFLEET_ROOT" || exit 1
    {
      git ls-files -z --cached --others --exclude-standard -- workloads api/wit package-lock.json |
        xargs -0 -r sha256sum 2>/dev/null || true
      "${CLANG:-clang}" --version 2>/dev/null | head -n 1 || true
      "${GO:-go}" version 2>/dev/null || true
      echo "node $NODE_VERSION ${WASI_SYSROOT:-}"
    } | sha256sum | cut -c1-16
  )"
  local tarball="$cache/examples-$key.tar"
  if [ -f "$tarball" ] && tar -xmf "$tarball" -C "$WASMFLEET_ROOT"; then
    log "example workloads: unpacked the build of the same inputs ($tarball)"
    return
  fi
  (cd "$WASMFLEET_ROOT" && npm run --silent build:workloads) || die "building the example workloads failed (above)"
  mkdir -p "$cache"
  (cd "$WASMFLEET_ROOT" && tar -cf "$tarball.part" workloads/examples/*/build) && mv "$tarball.part" "$tarball"
}

# ensure_control_plane builds kube-apiserver + etcd from the Go module proxy (see
# docs/control-plane.md) unless KUBEBUILDER_ASSETS already points at them: what `dev up` runs.
# It needs only Node (no npm dependencies), so setup runs it beside `npm ci`.
ensure_control_plane() {
  node "$WASMFLEET_ROOT/local-stack/bin/tool-path.ts" control-plane >/dev/null
}

# ensure_kubectl, ensure_helm: the real kubectl and helm (local-stack/helm/go.mod), built on first
# use and cached beside the control plane; WASMFLEET_HELM points at a helm you already have.
ensure_kubectl() { node "$WASMFLEET_ROOT/local-stack/bin/tool-path.ts" kubectl >/dev/null; }
ensure_helm() { node "$WASMFLEET_ROOT/local-stack/bin/tool-path.ts" helm >/dev/null; }

# ensure_cosign builds the real `cosign` the module-signing tests sign OCI artifacts with, from
# the Go module proxy (test-support/cosign/go.mod), cached like helm; WASMFLEET_COSIGN points at
# one you already have. The tests build it themselves when missing; scripts/test builds it first
# so that CI shows its time as a phase of its own.
ensure_cosign() {
  (cd "$WASMFLEET_ROOT" && node --input-type=module -e '
    import { ensureCosignBinary } from "./test-support/src/cosign.ts";
    try {
      const c = await ensureCosignBinary({ progress: (line) => console.error(`  ${line}`) });
      console.log(c.cosign);
    } catch (error) {
      console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
      process.exitCode = 1;
    }') >/dev/null
}

# ensure_nats_server builds the real `nats-server` (the third broker of the MQTT tests, beside
# Mosquitto and aedes) from the Go module proxy (test-support/nats/go.mod), cached like helm;
# WASMFLEET_NATS_SERVER points at one you already have.
ensure_nats_server() {
  (cd "$WASMFLEET_ROOT" && node --input-type=module -e '
    import { ensureNatsServerBinary } from "./test-support/src/nats-binary.ts";
    try {
      const n = await ensureNatsServerBinary({ progress: (line) => console.error(`  ${line}`) });
      console.log(n.natsServer);
    } catch (error) {
      console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
      process.exitCode = 1;
    }') >/dev/null
}

# snapshot_blob_name NODE prints the file name of the CLI's startup snapshot for that Node
# (cli/bin/bundle.js, SNAPSHOT_BLOB): a snapshot only loads into the Node build that made it.
snapshot_blob_name() {
  (cd "$WASMFLEET_ROOT" && "$1" --input-type=module -e 'import { SNAPSHOT_BLOB } from "./cli/bin/bundle.js"; console.log(SNAPSHOT_BLOB)')
}

# write_tool_wrappers puts wasmfleet, kubectl and helm in .tools/bin, so that one PATH line lets a
# user run them by name: export PATH="$PWD/.tools/bin:$PATH". kubectl and helm are built the
# first time they run (and cached); wasmfleet runs with the project's Node.
write_tool_wrappers() {
  local bin="$WASMFLEET_ROOT/.tools/bin" node_bin tool cached blob
  node_bin="$(command -v node)"
  blob="$WASMFLEET_ROOT/cli/dist/$(snapshot_blob_name "$node_bin")"
  mkdir -p "$bin"
  # The commands that read start from the CLI's startup snapshot without the launcher (docs/adr/0040;
  # the words are the launcher's SNAPSHOT_COMMANDS); the snapshot hands anything else back to it.
  printf '%s\n' '#!/bin/sh' '# Written by scripts/setup: the wasmfleet CLI with the project'"'"'s Node.' \
    'case "${1:-}" in get | describe | rollout | help | --help | -h | "")' \
    "  [ -f \"$blob\" ] && exec \"$node_bin\" --snapshot-blob \"$blob\" -- \"\$@\" ;;" \
    'esac' \
    "exec \"$node_bin\" \"$WASMFLEET_ROOT/cli/bin/wasmfleet.js\" \"\$@\"" > "$bin/wasmfleet"
  for tool in kubectl helm; do
    cached="$(node "$WASMFLEET_ROOT/local-stack/bin/tool-path.ts" "$tool" --cached)"
    printf '%s\n' '#!/bin/sh' \
      "# Written by scripts/setup: the $tool WasmFleet builds from the Go module proxy, on first use." \
      "tool=\"$cached\"" \
      "[ -x \"\$tool\" ] || tool=\"\$(\"$node_bin\" \"$WASMFLEET_ROOT/local-stack/bin/tool-path.ts\" $tool)\" || exit 1" \
      "exec \"\$tool\" \"\$@\"" > "$bin/$tool"
  done
  chmod +x "$bin/wasmfleet" "$bin/kubectl" "$bin/helm"
}

# ensure_native_agent builds the native device agent (agent-native/, Rust on Wasmtime) unless a
# binary for the same inputs is cached in ~/.cache/wasmfleet/agent-native (docs/adr/0021).
# WASMFLEET_NATIVE_AGENT points at one you built yourself.
ensure_native_agent() {
  command -v cargo >/dev/null 2>&1 || die "cargo is needed to build the native agent; install Rust (rustup) and retry"
  (cd "$WASMFLEET_ROOT" && node --input-type=module -e '
    import { ensureNativeAgent } from "./local-stack/src/native-agent.ts";
    try {
      const b = await ensureNativeAgent({ progress: (line) => console.error(`  ${line}`) });
      console.error(`  native agent: ${b.path} (${b.source}${b.buildSeconds === undefined ? "" : `, built in ${b.buildSeconds} s`})`);
    } catch (error) {
      console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
      process.exitCode = 1;
    }')
}

# timed runs a phase and prints how long it took, so slow CI phases are visible.
# The machine's 1-minute load average is printed beside each time: on a shared machine a phase's
# time means little without it.
timed() {
  local name="$1"; shift
  local start=$SECONDS
  "$@"
  log "$name took $((SECONDS - start))s (load $(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo ?))"
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
