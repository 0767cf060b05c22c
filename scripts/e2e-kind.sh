#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# End-to-end on a real cluster in kind, the way users run WasmFleet, with every image built on
# this machine (docs/adr/0020): a kind cluster from the locally built node image; the operator,
# agent, native agent and Mosquitto images loaded into it; `helm install` with Mosquitto and a
# mixed fleet of simulated devices (`simulator.runtime: native`, and a set of Node agents beside
# them) into a namespace that enforces the restricted Pod Security Standard; the example
# temp-alert function applied with kubectl and its outputs read with mosquitto_sub through the
# cluster's broker; a device agent outside the cluster provisioned with `wasmfleet nodes
# credentials`; a canary rollout driven by `wasmfleet rollout` whose canary holds devices of both
# runtimes; the same readings into a native and a Node device giving the same alerts; the leader
# pod deleted (the standby takes over); `helm upgrade`; `helm uninstall` leaving no workload.
# Prints how long each phase took.
#
#   scripts/e2e-kind.sh                  # starts the engine (scripts/container-engine) if needed
#   KEEP_CLUSTER=1 scripts/e2e-kind.sh   # leave the cluster up to look around
#
# It skips (exit 0, "SKIPPED: <why>") only where no container engine can be started.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$WASMFLEET_ROOT"

CLUSTER="${CLUSTER:-wasmfleet-e2e-$$}"
NAMESPACE=wasmfleet
TAG=e2e
SIMULATED=3      # native agents: wasmfleet-sim-0 …
NODE_SIMULATED=1 # a Node agent beside them: wasmfleet-sim-node-0 (and the device outside the cluster)
EXTERNAL=external-1
total_start=$SECONDS

if ! engine_reason="$(scripts/container-engine start 2>&1)"; then
  echo "$engine_reason" >&2
  echo "SKIPPED: no container engine could be started (scripts/container-engine start failed, above)"
  exit 0
fi

ensure_node
ensure_npm_deps
timed "control-plane tools" ensure_control_plane
kubectl_bin="$(node local-stack/bin/tool-path.ts kubectl)"
helm_bin="$(node local-stack/bin/tool-path.ts helm)"
kind_bin="$(node --input-type=module -e '
  import { ensureGoModuleTools, KIND } from "./test-support/src/images/go-tools.ts";
  console.log((await ensureGoModuleTools(KIND, (l) => console.error(`  ${l}`))) + "/kind");')"
timed "images" node test-support/bin/container-images.ts --tag "$TAG" operator agent mosquitto kind-node agent-native
node_image="$(docker images --format '{{.Repository}}:{{.Tag}}' 'wasmfleet/kind-node' | head -n 1)"

scratch="$(mktemp -d)"
kubeconfig="$scratch/kubeconfig"
export KUBECONFIG="$kubeconfig"
kubectl() { "$kubectl_bin" "$@"; }
helm() { "$helm_bin" "$@"; }
wasmfleet() { "$WASMFLEET_ROOT/scripts/wasmfleet" "$@"; }
background_pids=()
cleanup() {
  local code=$?
  for pid in "${background_pids[@]}"; do
    pkill -P "$pid" 2>/dev/null || true # the port-forward loop's kubectl
    kill "$pid" 2>/dev/null || true
  done
  if [ "$code" -ne 0 ]; then
    log "failed; cluster state:"
    kubectl get nodes,pods -A -o wide 2>/dev/null || true
    kubectl get events -n "$NAMESPACE" --sort-by=.lastTimestamp 2>/dev/null | tail -n 30 || true
    kubectl logs -n "$NAMESPACE" -l app.kubernetes.io/component=operator --tail=60 --prefix 2>/dev/null || true
    # A container that restarted: why its previous run ended is in that run's log only.
    # (one pod at a time: with a selector, one pod without a previous run fails the whole call).
    local pod
    for pod in $(kubectl -n "$NAMESPACE" get pods -o jsonpath='{range .items[*]}{.metadata.name}{range .status.containerStatuses[*]}{" "}{.restartCount}{end}{"\n"}{end}' 2>/dev/null |
      awk '{ for (i = 2; i <= NF; i++) if ($i > 0) { print $1; break } }'); do
      kubectl -n "$NAMESPACE" describe pod "$pod" 2>/dev/null | sed -n '/Last State/,/Ready:/p' || true
      kubectl logs -n "$NAMESPACE" "$pod" --all-containers --previous --tail=40 --prefix 2>/dev/null || true
    done
    [ -f "$scratch/agent.log" ] && tail -n 30 "$scratch/agent.log"
  fi
  if [ -n "${KEEP_CLUSTER:-}" ]; then
    log "KEEP_CLUSTER set: cluster $CLUSTER kept (KUBECONFIG=$kubeconfig)"
  else
    "$kind_bin" delete cluster --name "$CLUSTER" >/dev/null 2>&1 || true
    rm -rf "$scratch"
  fi
  exit "$code"
}
trap cleanup EXIT

# wait_until DESCRIPTION SECONDS COMMAND… — polls COMMAND until it succeeds.
wait_until() {
  local what="$1" limit="$2"; shift 2
  local deadline=$((SECONDS + limit))
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || die "timed out after ${limit}s waiting for $what"
    sleep 2
  done
}

# The images go into the workers while kubeadm is still bringing the cluster up: a node's
# containerd runs as soon as its container boots, and most of `kind create` is waiting.
cluster_up() {
  "$kind_bin" create cluster --name "$CLUSTER" --config kind-config.yaml --image "$node_image" ${KEEP_CLUSTER:+--retain} \
    --kubeconfig "$kubeconfig" --wait 180s &
  local create=$!
  if ! timed "load images into kind (while it starts)" load_images; then
    wait "$create" || true
    die "loading the images into kind failed (above)"
  fi
  wait "$create" || die "kind create cluster failed (above)"
  kubectl wait --for=condition=Ready nodes --all --timeout=120s
  kubectl get nodes -o wide
}

# Only into the nodes that run workloads: kind keeps its control-plane node tainted NoSchedule
# when there are workers, so nothing of the chart runs there (and each node costs a full copy).
load_images() {
  local workers=""
  wait_until "kind's worker nodes" 120 \
    bash -c "[ -n \"\$(docker ps -q --filter label=io.x-k8s.kind.cluster=$CLUSTER --filter label=io.x-k8s.kind.role=worker)\" ]"
  workers="$(docker ps --format '{{.Names}}' --filter "label=io.x-k8s.kind.cluster=$CLUSTER" --filter label=io.x-k8s.kind.role=worker | sort | paste -sd, -)"
  local node
  for node in ${workers//,/ }; do
    wait_until "containerd in $node" 120 docker exec "$node" ctr version
  done
  "$kind_bin" load docker-image --name "$CLUSTER" --nodes "$workers" \
    "wasmfleet/operator:$TAG" "wasmfleet/agent:$TAG" "wasmfleet/agent-native:$TAG" wasmfleet/mosquitto:2-debian
}

helm_install() {
  kubectl create namespace "$NAMESPACE"
  kubectl label namespace "$NAMESPACE" pod-security.kubernetes.io/enforce=restricted \
    pod-security.kubernetes.io/enforce-version=latest pod-security.kubernetes.io/warn=restricted
  cat >"$scratch/values.yaml" <<EOF
operator:
  image: { tag: $TAG, pullPolicy: Never }
  replicas: 2
mosquitto:
  enabled: true
  image: { repository: wasmfleet/mosquitto, tag: 2-debian, pullPolicy: Never }
  # The agent outside the cluster reaches the broker through kubectl port-forward.
  tls: { extraDnsNames: [localhost] }
  auth:
    devices:
      - name: $EXTERNAL
        labels: { wasmfleet.io/examples: 'true' }
simulator:
  enabled: true
  replicas: $SIMULATED
  runtime: native
  image: { tag: $TAG, pullPolicy: Never }
  nativeImage: { tag: $TAG, pullPolicy: Never }
  # A mixed fleet: Node agents beside the native ones, given the same functions.
  extraSets:
    - { name: node, runtime: node, replicas: $NODE_SIMULATED }
EOF
  helm install wasmfleet charts/wasmfleet --namespace "$NAMESPACE" -f "$scratch/values.yaml" --wait --timeout 5m
}

# Every pod of the release Ready, and none the restricted profile would refuse: a server-side
# dry run of the enforce label lists violations as warnings, and there must be none.
all_pods_ready_and_restricted() {
  # After an upgrade, pods of the old revision may still be terminating: `kubectl wait --all`
  # fails when one it listed is gone, so wait for them to go first.
  wait_until "pods of earlier revisions to be gone" 120 \
    bash -c "[ -z \"\$('$kubectl_bin' -n $NAMESPACE get pods -o jsonpath='{.items[?(@.metadata.deletionTimestamp)].metadata.name}')\" ]"
  kubectl -n "$NAMESPACE" wait --for=condition=Ready pods --all --timeout=180s
  kubectl -n "$NAMESPACE" get pods -o wide
  # A container restarted on the way up (a probe that killed a slow start) is a failure a user sees.
  local restarted
  restarted="$(kubectl -n "$NAMESPACE" get pods -o jsonpath='{range .items[*]}{.metadata.name}{range .status.containerStatuses[*]}{" "}{.restartCount}{end}{"\n"}{end}' |
    awk '{ for (i = 2; i <= NF; i++) if ($i > 0) { print $1; break } }')"
  [ -z "$restarted" ] || die "containers restarted in: $restarted"
  local warnings
  warnings="$(kubectl label --dry-run=server --overwrite namespace "$NAMESPACE" \
    pod-security.kubernetes.io/enforce=restricted 2>&1 >/dev/null || true)"
  [ -z "$warnings" ] || die "pods in $NAMESPACE violate the restricted Pod Security Standard: $warnings"
  local holder
  holder="$(kubectl -n "$NAMESPACE" get lease wasmfleet-operator -o jsonpath='{.spec.holderIdentity}')"
  [ -n "$holder" ] || die "no operator replica holds the leader Lease"
  log "leader: $holder"
}

# The simulated devices' node ids: the native ones, then the Node ones.
simulated_devices() {
  local i
  for i in $(seq 0 $((SIMULATED - 1))); do echo "wasmfleet-sim-$i"; done
  for i in $(seq 0 $((NODE_SIMULATED - 1))); do echo "wasmfleet-sim-node-$i"; done
}

simulated_devices_registered() {
  local sim
  for sim in $(simulated_devices); do
    wait_until "EdgeNode $sim Online" 180 \
      bash -c "'$kubectl_bin' get edgenode $sim -o jsonpath='{.status.phase}' | grep -qx Online"
    kubectl label edgenode "$sim" wasmfleet.io/examples=true --overwrite
  done
  kubectl get edgenodes
}

# The broker on localhost through the API server, for the device outside the cluster (what a
# user without a LoadBalancer does). kubectl port-forward exits when one forwarded connection
# ends badly ("lost connection to pod"), taking every other one with it, so it runs in a loop on
# one local port (the agent reconnects), and the test's own MQTT clients do not use it.
port_forward_broker() {
  broker_port="$(node -e 'const s = require("node:net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })')"
  (
    while true; do
      "$kubectl_bin" -n "$NAMESPACE" port-forward svc/wasmfleet-mosquitto "$broker_port:8883" >>"$scratch/port-forward.log" 2>&1 || true
      sleep 0.5
    done
  ) &
  background_pids+=($!)
  wait_until "kubectl port-forward to the broker" 30 grep -q 'Forwarding from 127.0.0.1' "$scratch/port-forward.log"
  kubectl -n "$NAMESPACE" get secret wasmfleet-mqtt-tls -o jsonpath='{.data.ca\.crt}' | base64 -d >"$scratch/ca.crt"
  kubectl -n "$NAMESPACE" get secret wasmfleet-mqtt-credentials -o jsonpath='{.data.wasmfleet-operator}' | base64 -d >"$scratch/operator-password"
  operator_url="mqtts://wasmfleet-operator:$(node -e 'process.stdout.write(encodeURIComponent(require("fs").readFileSync(process.argv[1], "utf8")))' "$scratch/operator-password")@localhost:$broker_port"
  log "broker: mqtts://localhost:$broker_port"
}

# mosquitto_pub/mosquitto_sub in the broker's pod, against its TLS listener: through the
# cluster's broker, and not through the port-forward (whose connections one closing client can
# end). The pod holds no CA file, so the release's CA comes in on stdin.
mqtt_client() {
  kubectl -n "$NAMESPACE" exec -i deploy/wasmfleet-mosquitto -c mosquitto -- "$@" \
    -h localhost -p 8883 --cafile /dev/stdin <"$scratch/ca.crt"
}

# mosquitto_sub as the operator (who may read every topic) until COUNT messages on TOPIC arrive;
# prints them.
subscribe() {
  local topic="$1" count="$2" limit="$3"
  mqtt_client mosquitto_sub -u wasmfleet-operator -P "$(cat "$scratch/operator-password")" \
    -t "$topic" -v -C "$count" -W "$limit"
}

apply_example() {
  node workloads/examples/temp-alert/build.ts >/dev/null
  kubectl create configmap temp-alert-wasm -n default \
    --from-file=module.wasm=workloads/examples/temp-alert/build/temp-alert.wasm
  kubectl apply -f workloads/examples/temp-alert/function.yaml
  wait_until "temp-alert Ready on the simulated devices" 180 \
    bash -c "'$kubectl_bin' get wasmfunction temp-alert -n default -o jsonpath='{.status.readyNodes}' | grep -qx '[1-9][0-9]*'"
  kubectl get wasmfunctions -n default -o wide
  log "alerts from the simulated devices (mosquitto_sub through the cluster's broker):"
  subscribe 'alerts/+/temperature' 2 90
}

external_agent_joins() {
  wasmfleet nodes credentials "$EXTERNAL" -n "$NAMESPACE" --dir "$scratch/$EXTERNAL"
  (
    set -a
    source "$scratch/$EXTERNAL/agent.env"
    set +a
    exec node agent/bin/wasmfleet-agent.js --broker "mqtts://localhost:$broker_port" --node "$EXTERNAL" --sensors temperature \
      --data-dir "$scratch/$EXTERNAL/data"
  ) >"$scratch/agent.log" 2>&1 &
  external_agent_pid=$!
  background_pids+=($!)
  wait_until "EdgeNode $EXTERNAL Online" 120 \
    bash -c "'$kubectl_bin' get edgenode $EXTERNAL -o jsonpath='{.status.phase}' | grep -qx Online"
  # Per-function phases live in the device's retained status on the broker, not in the EdgeNode
  # (ADR 0023): read them the way a user does, with `wasmfleet describe node` and --broker.
  wait_until "temp-alert Running on $EXTERNAL" 120 \
    bash -c "'$WASMFLEET_ROOT/scripts/wasmfleet' describe node $EXTERNAL --broker '$operator_url' --broker-ca '$scratch/ca.crt' 2>/dev/null | grep -E '^ *default/temp-alert ' | grep -qw Running"
  NO_COLOR=1 wasmfleet describe node "$EXTERNAL" --broker "$operator_url" --broker-ca "$scratch/ca.crt" | sed -n '/Functions/,/Conditions/p'
  # Readings from the device's own identity, hot and cool in turn: temp-alert publishes on each
  # crossing of its threshold, and its alerts come back through the cluster. Sent every few
  # seconds until an alert arrives, since the subscriber may not be subscribed yet.
  subscribe "alerts/$EXTERNAL/temperature" 1 60 >"$scratch/external-alert" &
  local sub=$! value=41.5
  while kill -0 "$sub" 2>/dev/null; do
    mqtt_client mosquitto_pub -u "$EXTERNAL" -P "$(cat "$scratch/$EXTERNAL/password")" -q 1 \
      -t "sensors/$EXTERNAL/temperature" -m "[{\"bn\":\"$EXTERNAL/\",\"n\":\"temperature\",\"u\":\"Cel\",\"v\":$value}]" || true
    if [ "$value" = 41.5 ]; then value=20.5; else value=41.5; fi
    sleep 3
  done
  wait "$sub" || die "no alert from $EXTERNAL within 60 s"
  cat "$scratch/external-alert"
}

leader_failover() {
  local old new
  old="$(kubectl -n "$NAMESPACE" get lease wasmfleet-operator -o jsonpath='{.spec.holderIdentity}')"
  # The holder identity is the pod name plus a per-process suffix.
  local pod candidate
  for candidate in $(kubectl -n "$NAMESPACE" get pods -l app.kubernetes.io/component=operator -o name); do
    case "$old" in "${candidate#pod/}"-*) pod="${candidate#pod/}" ;; esac
  done
  [ -n "${pod:-}" ] || die "no operator pod matches the leader identity $old"
  log "deleting the leader pod $pod (holder $old)"
  kubectl -n "$NAMESPACE" delete pod "$pod" --wait=false
  wait_until "a standby to take the leader Lease" 90 \
    bash -c "h=\$('$kubectl_bin' -n $NAMESPACE get lease wasmfleet-operator -o jsonpath='{.spec.holderIdentity}'); [ -n \"\$h\" ] && [ \"\$h\" != '$old' ]"
  new="$(kubectl -n "$NAMESPACE" get lease wasmfleet-operator -o jsonpath='{.spec.holderIdentity}')"
  log "new leader: $new (was $old)"
  kubectl -n "$NAMESPACE" rollout status deployment/wasmfleet-operator --timeout=180s
}

canary_rollout() {
  # A new revision with a canary that waits at a manual gate, then goes wide on `resume`. Half
  # of the five devices (3): the rollout order, a hash of function and device, puts both runtimes
  # in it (wasmfleet-sim-0, wasmfleet-sim-1, external-1).
  kubectl patch wasmfunction temp-alert -n default --type merge -p \
    '{"spec":{"config":{"THRESHOLD":"29"},"rollout":{"strategy":"Canary","steps":[{"percent":50,"gate":"Manual"},{"percent":100}]}}}'
  local updated desired
  # The operator says so when the canary is healthy and held at the gate.
  wait_until "the canary (25 %) to update and wait at its manual gate" 120 \
    bash -c "'$kubectl_bin' get wasmfunction temp-alert -n default -o jsonpath='{.status.rollout.message}' | grep -q 'waiting for .wasmfleet rollout resume'"
  updated="$(kubectl get wasmfunction temp-alert -n default -o jsonpath='{.status.updatedNodes}')"
  desired="$(kubectl get wasmfunction temp-alert -n default -o jsonpath='{.status.desiredNodes}')"
  [ "$updated" -lt "$desired" ] || die "the canary did not wait at its manual gate ($updated of $desired devices updated)"
  log "canary: $updated of $desired devices updated, waiting at the manual gate"
  canary_holds_both_runtimes
  wasmfleet rollout status temp-alert -n default
  wasmfleet rollout resume temp-alert -n default
  wasmfleet rollout status temp-alert -n default --watch --timeout 4m
  wasmfleet rollout history temp-alert -n default
}

# The devices the canary updated (status.nodes: each device's revision) include a native one
# (wasmfleet-sim-N) and a Node one (wasmfleet-sim-node-N or the device outside the cluster).
canary_holds_both_runtimes() {
  local revision updated
  revision="$(kubectl get wasmfunction temp-alert -n default -o jsonpath='{.status.updateRevision}')"
  updated="$(kubectl get wasmfunction temp-alert -n default -o jsonpath='{range .status.nodes[*]}{.node}{" "}{.revision}{"\n"}{end}' |
    awk -v r="$revision" '$2 == r { print $1 }')"
  log "canary devices (revision $revision): $(echo $updated)"
  grep -qE '^wasmfleet-sim-[0-9]+$' <<<"$updated" || die "the canary holds no native device: $(echo $updated)"
  grep -qE "^(wasmfleet-sim-node-[0-9]+|$EXTERNAL)\$" <<<"$updated" || die "the canary holds no Node device: $(echo $updated)"
}

# The same readings into a native device and a Node device, each as that device (its own MQTT
# identity): the same alerts come out, byte for byte. The readings carry their own SenML name, so
# temp-alert's state for them is apart from the simulated sensors' readings (which raise alerts
# of their own now and then, under the device's name). A persistent session subscribed first
# (-E: return once subscribed) keeps every alert published after it, whenever it is read.
same_outputs_on_both_runtimes() {
  local probe="e2e-probe-$$" native=wasmfleet-sim-0 node=wasmfleet-sim-node-0 device reading password
  local operator_password
  operator_password="$(cat "$scratch/operator-password")"
  mqtt_client mosquitto_sub -u wasmfleet-operator -P "$operator_password" -i "$probe" -c -q 1 \
    -t "alerts/$native/temperature" -t "alerts/$node/temperature" -E
  for device in "$native" "$node"; do
    password="$(kubectl -n "$NAMESPACE" get secret "wasmfleet-mqtt-$device" -o jsonpath='{.data.password}' | base64 -d)"
    for reading in 41.5 20.5 35.25; do
      mqtt_client mosquitto_pub -u "$device" -P "$password" -q 1 -t "sensors/$device/temperature" \
        -m "[{\"bn\":\"$probe/\",\"bt\":1796601600,\"n\":\"temperature\",\"u\":\"Cel\",\"v\":$reading}]"
    done
  done
  local deadline=$((SECONDS + 60))
  : >"$scratch/probe-alerts"
  until [ "$(grep -c "$probe" "$scratch/probe-alerts")" -ge 6 ]; do
    [ $SECONDS -lt $deadline ] || die "6 alerts for $probe expected within 60 s, got: $(cat "$scratch/probe-alerts")"
    mqtt_client mosquitto_sub -u wasmfleet-operator -P "$operator_password" -i "$probe" -c -q 1 \
      -t "alerts/$native/temperature" -t "alerts/$node/temperature" -v -W 3 >>"$scratch/probe-alerts" 2>/dev/null || true
  done
  local from_native from_node
  from_native="$(grep "$probe" "$scratch/probe-alerts" | sed -n "s|^alerts/$native/temperature ||p")"
  from_node="$(grep "$probe" "$scratch/probe-alerts" | sed -n "s|^alerts/$node/temperature ||p")"
  log "alerts from $native (native agent):"
  echo "$from_native"
  log "alerts from $node (Node agent):"
  echo "$from_node"
  [ "$(wc -l <<<"$from_native")" -eq 3 ] || die "$native gave $(wc -l <<<"$from_native") alerts for 3 crossings"
  [ "$from_native" = "$from_node" ] || die "the native and the Node agent gave different alerts for the same readings"
}

# Upgraded while a device the chart registers is switched off, as in any real fleet: Helm 4's
# --wait (kstatus) must not wait for the device (it read the EdgeNode's Ready=False as "in
# progress" and hung until its timeout; the condition is Online now).
helm_upgrade() {
  kill "$external_agent_pid"
  wait_until "EdgeNode $EXTERNAL Offline" 60 \
    bash -c "'$kubectl_bin' get edgenode $EXTERNAL -o jsonpath='{.status.phase}' | grep -qx Offline"
  helm upgrade wasmfleet charts/wasmfleet --namespace "$NAMESPACE" -f "$scratch/values.yaml" \
    --set simulator.replicas=2 --set-string 'operator.extraArgs={--workers,4}' --wait --timeout 3m
  kubectl -n "$NAMESPACE" rollout status deployment/wasmfleet-operator --timeout=180s
  kubectl -n "$NAMESPACE" rollout status statefulset/wasmfleet-sim --timeout=180s
  all_pods_ready_and_restricted
}

helm_uninstall() {
  helm uninstall wasmfleet --namespace "$NAMESPACE" --wait --timeout 3m
  wait_until "every workload of the release to be gone" 120 \
    bash -c "[ -z \"\$('$kubectl_bin' -n $NAMESPACE get pods,deployments,statefulsets,replicasets,services,secrets -l app.kubernetes.io/instance=wasmfleet -o name)\" ]"
  local left
  left="$(kubectl -n "$NAMESPACE" get pods,deployments,statefulsets,daemonsets,jobs -o name)"
  [ -z "$left" ] || die "helm uninstall left workloads behind: $left"
}

timed "kind cluster (2 nodes Ready, images loaded)" cluster_up
timed "helm install" helm_install
timed "all pods Ready under restricted" all_pods_ready_and_restricted
timed "simulated devices registered" simulated_devices_registered
port_forward_broker
timed "example applied, outputs seen" apply_example
timed "external agent joined" external_agent_joins
timed "leader failover" leader_failover
timed "canary rollout" canary_rollout
timed "same outputs on both runtimes" same_outputs_on_both_runtimes
timed "helm upgrade" helm_upgrade
timed "helm uninstall" helm_uninstall
log "e2e-kind: PASSED in $((SECONDS - total_start))s"
