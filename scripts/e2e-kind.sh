#!/usr/bin/env bash
# End-to-end on a real cluster in kind: create the cluster, build and load the operator and agent
# images, `helm install` the chart with Mosquitto and simulated devices into a namespace that
# enforces the restricted Pod Security Standard, check that everything comes up, delete the cluster.
#
#   scripts/e2e-kind.sh              # needs docker or podman; exits 0 with SKIPPED where neither runs
#   KEEP_CLUSTER=1 scripts/e2e-kind.sh   # leave the cluster up to look around
#
# kind comes from the Go module proxy (go install) unless it is on PATH; helm and kubectl are the
# ones the tests build (scripts/lib.sh ensure_helm, ensure_control_plane).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$WASMFLEET_ROOT"

KIND_VERSION="${KIND_VERSION:-v0.33.0}"
CLUSTER="${CLUSTER:-wasmfleet-e2e-$$}"
NAMESPACE=wasmfleet
TAG=e2e
SIMULATED=3

# A container engine that answers, not merely an installed CLI.
engine=""
if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
  engine=docker
elif command -v podman >/dev/null 2>&1 && podman info >/dev/null 2>&1; then
  engine=podman
  export KIND_EXPERIMENTAL_PROVIDER=podman
fi
if [ -z "$engine" ]; then
  echo "SKIPPED: no container engine (docker/podman) found; scripts/e2e-kind.sh needs one to run kind"
  exit 0
fi
log "container engine: $engine"

ensure_node
ensure_npm_deps
ensure_control_plane
kubectl_bin="$(node test-support/bin/control-plane-binaries.ts --print-dir)/kubectl"
helm_bin="$(node --input-type=module -e '
  import { ensureHelmBinary } from "./test-support/src/control-plane/binaries.ts";
  console.log((await ensureHelmBinary()).helm);')"
kind_bin="$(command -v kind || true)"
if [ -z "$kind_bin" ]; then
  log "building kind $KIND_VERSION from the Go module proxy into .tools/bin"
  GOBIN="$WASMFLEET_ROOT/.tools/bin" go install "sigs.k8s.io/kind@$KIND_VERSION" || die "could not build kind"
  kind_bin="$WASMFLEET_ROOT/.tools/bin/kind"
fi

kubeconfig="$(mktemp)"
kubectl() { "$kubectl_bin" --kubeconfig "$kubeconfig" "$@"; }
helm() { "$helm_bin" --kubeconfig "$kubeconfig" "$@"; }
cleanup() {
  local code=$?
  if [ "$code" -ne 0 ]; then
    log "failed; cluster state:"
    kubectl get pods,deployments,statefulsets -n "$NAMESPACE" -o wide 2>/dev/null || true
    kubectl logs -n "$NAMESPACE" -l app.kubernetes.io/component=operator --tail=80 2>/dev/null || true
  fi
  if [ -n "${KEEP_CLUSTER:-}" ]; then
    log "KEEP_CLUSTER set: cluster $CLUSTER kept (kubeconfig: $kubeconfig)"
  else
    "$kind_bin" delete cluster --name "$CLUSTER" >/dev/null 2>&1 || true
    rm -f "$kubeconfig"
  fi
  exit "$code"
}
trap cleanup EXIT

timed "kind cluster" "$kind_bin" create cluster --name "$CLUSTER" --config kind-config.yaml --kubeconfig "$kubeconfig" --wait 120s

for target in operator agent; do
  timed "image $target" "$engine" build --target "$target" -t "wasmfleet/$target:$TAG" .
  if [ "$engine" = docker ]; then
    "$kind_bin" load docker-image --name "$CLUSTER" "wasmfleet/$target:$TAG"
  else
    archive="$(mktemp --suffix=.tar)"
    podman save -o "$archive" "wasmfleet/$target:$TAG"
    "$kind_bin" load image-archive --name "$CLUSTER" "$archive"
    rm -f "$archive"
  fi
done

kubectl create namespace "$NAMESPACE"
kubectl label namespace "$NAMESPACE" \
  pod-security.kubernetes.io/enforce=restricted pod-security.kubernetes.io/enforce-version=latest

timed "helm install" helm install wasmfleet charts/wasmfleet --namespace "$NAMESPACE" \
  --set operator.image.tag="$TAG" --set operator.image.pullPolicy=Never \
  --set operator.replicas=2 \
  --set mosquitto.enabled=true \
  --set simulator.enabled=true --set simulator.replicas="$SIMULATED" \
  --set simulator.image.tag="$TAG" --set simulator.image.pullPolicy=Never
# The waits below say what "up" means here: CRDs established, the operator Available, the
# broker rolled out (a standby operator replica is Ready too; one of them leads).

log "assertions"
kubectl wait --for=condition=Established crd/wasmfunctions.wasmfleet.io crd/edgenodes.wasmfleet.io --timeout=60s
kubectl -n "$NAMESPACE" wait --for=condition=Available deployment/wasmfleet-operator --timeout=180s
kubectl -n "$NAMESPACE" rollout status deployment/wasmfleet-mosquitto --timeout=180s
kubectl -n "$NAMESPACE" rollout status statefulset/wasmfleet-sim --timeout=180s

# Exactly one operator replica holds the leader Lease.
holder="$(kubectl -n "$NAMESPACE" get lease wasmfleet-operator -o jsonpath='{.spec.holderIdentity}')"
[ -n "$holder" ] || die "no operator replica holds the leader Lease"
log "leader: $holder"

# Every simulated device registers over MQTT and shows up as an EdgeNode.
deadline=$((SECONDS + 180))
until [ "$(kubectl get edgenodes -o name 2>/dev/null | grep -c 'wasmfleet-sim-')" -ge "$SIMULATED" ]; do
  [ $SECONDS -lt $deadline ] || die "only $(kubectl get edgenodes -o name | grep -c 'wasmfleet-sim-') of $SIMULATED simulated devices became EdgeNodes"
  sleep 3
done
kubectl get edgenodes

# The operator's ServiceAccount holds no wildcard and cannot delete functions.
sa=system:serviceaccount:$NAMESPACE:wasmfleet-operator
if kubectl auth can-i --list --as "$sa" -n "$NAMESPACE" | awk 'NR > 1 && $1 ~ /\*/' | grep -q .; then
  die "the operator's ServiceAccount holds a wildcard rule"
fi
[ "$(kubectl auth can-i delete wasmfunctions.wasmfleet.io --as "$sa" -n "$NAMESPACE" || true)" = no ] \
  || die "the operator's ServiceAccount may delete WasmFunctions"

log "e2e-kind: PASSED"
