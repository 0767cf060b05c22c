#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# End-to-end on a real cluster in kind, the way users run WasmFleet, with every image built on
# this machine (docs/adr/0020): a kind cluster from the locally built node image; the operator,
# agent and Mosquitto images loaded into it; `helm install` with Mosquitto and simulated devices
# into a namespace that enforces the restricted Pod Security Standard; the example temp-alert
# function applied with kubectl and its outputs read with mosquitto_sub through the cluster's
# broker; a device agent outside the cluster provisioned with `wasmfleet nodes credentials`; a
# canary rollout driven by `wasmfleet rollout`; the leader pod deleted (the standby takes over);
# `helm upgrade`; `helm uninstall` leaving no workload. Prints how long each phase took.
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
SIMULATED=3
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
kubectl_bin="$(node test-support/bin/control-plane-binaries.ts --print-dir)/kubectl"
helm_bin="$(node --input-type=module -e '
  import { ensureHelmBinary } from "./test-support/src/control-plane/binaries.ts";
  console.log((await ensureHelmBinary()).helm);')"
kind_bin="$(node --input-type=module -e '
  import { ensureGoModuleTools, KIND } from "./test-support/src/images/go-tools.ts";
  console.log((await ensureGoModuleTools(KIND, (l) => console.error(`  ${l}`))) + "/kind");')"
timed "images" node test-support/bin/container-images.ts --tag "$TAG" operator agent mosquitto kind-node
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

cluster_up() {
  "$kind_bin" create cluster --name "$CLUSTER" --config kind-config.yaml --image "$node_image" ${KEEP_CLUSTER:+--retain} \
    --kubeconfig "$kubeconfig" --wait 180s
  kubectl wait --for=condition=Ready nodes --all --timeout=120s
  kubectl get nodes -o wide
}

load_images() {
  "$kind_bin" load docker-image --name "$CLUSTER" "wasmfleet/operator:$TAG" "wasmfleet/agent:$TAG" wasmfleet/mosquitto:2-debian
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
  image: { tag: $TAG, pullPolicy: Never }
EOF
  helm install wasmfleet charts/wasmfleet --namespace "$NAMESPACE" -f "$scratch/values.yaml" --wait --timeout 5m
}

# Every pod of the release Ready, and none the restricted profile would refuse: a server-side
# dry run of the enforce label lists violations as warnings, and there must be none.
all_pods_ready_and_restricted() {
  kubectl -n "$NAMESPACE" wait --for=condition=Ready pods --all --timeout=180s
  kubectl -n "$NAMESPACE" get pods -o wide
  local warnings
  warnings="$(kubectl label --dry-run=server --overwrite namespace "$NAMESPACE" \
    pod-security.kubernetes.io/enforce=restricted 2>&1 >/dev/null || true)"
  [ -z "$warnings" ] || die "pods in $NAMESPACE violate the restricted Pod Security Standard: $warnings"
  local holder
  holder="$(kubectl -n "$NAMESPACE" get lease wasmfleet-operator -o jsonpath='{.spec.holderIdentity}')"
  [ -n "$holder" ] || die "no operator replica holds the leader Lease"
  log "leader: $holder"
}

simulated_devices_registered() {
  local sim
  for sim in $(seq 0 $((SIMULATED - 1))); do
    wait_until "EdgeNode wasmfleet-sim-$sim Online" 180 \
      bash -c "'$kubectl_bin' get edgenode wasmfleet-sim-$sim -o jsonpath='{.status.phase}' | grep -qx Online"
    kubectl label edgenode "wasmfleet-sim-$sim" wasmfleet.io/examples=true --overwrite
  done
  kubectl get edgenodes
}

# The broker on localhost through the API server (what a user without a LoadBalancer does).
# kubectl port-forward exits when one forwarded connection fails ("lost connection to pod"), so
# it runs in a loop on one local port.
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
  log "broker: mqtts://localhost:$broker_port"
}

# mosquitto_sub through the cluster's broker (as the operator, who may read every topic) until
# COUNT messages on TOPIC arrive; prints them.
subscribe() {
  local topic="$1" count="$2" limit="$3"
  mosquitto_sub -h localhost -p "$broker_port" --cafile "$scratch/ca.crt" -u wasmfleet-operator \
    -P "$(cat "$scratch/operator-password")" -t "$topic" -v -C "$count" -W "$limit"
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
  background_pids+=($!)
  wait_until "EdgeNode $EXTERNAL Online" 120 \
    bash -c "'$kubectl_bin' get edgenode $EXTERNAL -o jsonpath='{.status.phase}' | grep -qx Online"
  wait_until "temp-alert Running on $EXTERNAL" 120 \
    bash -c "'$kubectl_bin' get edgenode $EXTERNAL -o jsonpath='{.status.functions[*].phase}' | grep -qw Running"
  # A hot reading from the device's own identity; its alert comes back through the cluster.
  subscribe "alerts/$EXTERNAL/temperature" 1 60 >"$scratch/external-alert" &
  local sub=$!
  sleep 2
  mosquitto_pub -h localhost -p "$broker_port" --cafile "$scratch/ca.crt" -u "$EXTERNAL" \
    -P "$(cat "$scratch/$EXTERNAL/password")" -q 1 -t "sensors/$EXTERNAL/temperature" \
    -m "[{\"bn\":\"$EXTERNAL/\",\"n\":\"temperature\",\"u\":\"Cel\",\"v\":41.5}]"
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
  # A new revision with a canary that waits at a manual gate, then goes wide on `resume`.
  kubectl patch wasmfunction temp-alert -n default --type merge -p \
    '{"spec":{"config":{"THRESHOLD":"29"},"rollout":{"strategy":"Canary","steps":[{"percent":25,"gate":"Manual"},{"percent":100}]}}}'
  local updated desired
  wait_until "the canary (25 %) to update" 120 \
    bash -c "[ \"\$('$kubectl_bin' get wasmfunction temp-alert -n default -o jsonpath='{.status.updatedNodes}')\" -ge 1 ]"
  sleep 10
  updated="$(kubectl get wasmfunction temp-alert -n default -o jsonpath='{.status.updatedNodes}')"
  desired="$(kubectl get wasmfunction temp-alert -n default -o jsonpath='{.status.desiredNodes}')"
  [ "$updated" -lt "$desired" ] || die "the canary did not wait at its manual gate ($updated of $desired devices updated)"
  log "canary: $updated of $desired devices updated, waiting at the manual gate"
  wasmfleet rollout status temp-alert -n default
  wasmfleet rollout resume temp-alert -n default
  wasmfleet rollout status temp-alert -n default --watch --timeout 4m
  wasmfleet rollout history temp-alert -n default
}

helm_upgrade() {
  helm upgrade wasmfleet charts/wasmfleet --namespace "$NAMESPACE" -f "$scratch/values.yaml" \
    --set simulator.replicas=2 --set-string 'operator.extraArgs={--workers,4}' --wait --timeout 5m
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

timed "kind cluster (2 nodes Ready)" cluster_up
timed "load images into kind" load_images
timed "helm install" helm_install
timed "all pods Ready under restricted" all_pods_ready_and_restricted
timed "simulated devices registered" simulated_devices_registered
port_forward_broker
timed "example applied, outputs seen" apply_example
timed "external agent joined" external_agent_joins
timed "leader failover" leader_failover
timed "canary rollout" canary_rollout
timed "helm upgrade" helm_upgrade
timed "helm uninstall" helm_uninstall
log "e2e-kind: PASSED in $((SECONDS - total_start))s"
