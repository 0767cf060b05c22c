#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The kind node image's pod network (docs/adr/0020): kind's own kindnetd is not built from the Go
# module proxy, so the DaemonSet in /kind/manifests/default-cni.yaml runs this loop on every node
# instead (host network, the node's kubectl), with the same result as kindnetd: the standard
# ptp + host-local + portmap CNI plugins with the node's podCIDR, a route to every other node's
# podCIDR via that node's address, and masquerade for pod traffic leaving the pod network.
set -u
conflist=/etc/cni/net.d/10-wasmfleet.conflist
node="${NODE_NAME:?the DaemonSet sets NODE_NAME}"
# Like kindnetd: talk to the API server directly, not through the Service kube-proxy programs.
if [ -n "${CONTROL_PLANE_ENDPOINT:-}" ]; then
  export KUBERNETES_SERVICE_HOST="${CONTROL_PLANE_ENDPOINT%:*}" KUBERNETES_SERVICE_PORT="${CONTROL_PLANE_ENDPOINT##*:}"
fi
masq_rules=""

write_conflist() {
  local cidr="$1" content
  content="$(printf '{"cniVersion":"1.0.0","name":"wasmfleet","plugins":[{"type":"ptp","ipMasq":false,"ipam":{"type":"host-local","dataDir":"/run/cni-ipam-state","routes":[{"dst":"0.0.0.0/0"}],"ranges":[[{"subnet":"%s"}]]},"mtu":1500},{"type":"portmap","capabilities":{"portMappings":true}}]}' "$cidr")"
  [ "$(cat "$conflist" 2>/dev/null)" = "$content" ] && return
  mkdir -p "$(dirname "$conflist")"
  printf '%s' "$content" >"$conflist.tmp" && mv "$conflist.tmp" "$conflist"
  echo "pod network: $node uses $cidr"
}

# Pod traffic to anything outside every node's podCIDR leaves with the node's address.
masquerade() {
  local own="$1"; shift
  local rules="$own $*"
  [ "$rules" = "$masq_rules" ] && return
  iptables -t nat -N WASMFLEET-MASQ 2>/dev/null || iptables -t nat -F WASMFLEET-MASQ
  local cidr
  for cidr in "$@"; do iptables -t nat -A WASMFLEET-MASQ -d "$cidr" -j RETURN; done
  iptables -t nat -A WASMFLEET-MASQ -j MASQUERADE
  iptables -t nat -C POSTROUTING -s "$own" -j WASMFLEET-MASQ 2>/dev/null || iptables -t nat -A POSTROUTING -s "$own" -j WASMFLEET-MASQ
  masq_rules="$rules"
}

sysctl -qw net.ipv4.ip_forward=1
while true; do
  nodes="$(kubectl get nodes -o jsonpath='{range .items[*]}{.metadata.name} {.spec.podCIDR} {.status.addresses[?(@.type=="InternalIP")].address}{"\n"}{end}')"
  own="" cidrs=()
  while read -r name cidr ip _; do
    [ -n "${cidr:-}" ] || continue
    cidrs+=("$cidr")
    if [ "$name" = "$node" ]; then
      own="$cidr"
    elif [ -n "${ip:-}" ]; then
      ip route replace "$cidr" via "$ip" || echo "pod network: no route to $cidr via $ip yet"
    fi
  done <<<"$nodes"
  if [ -n "$own" ]; then
    write_conflist "$own"
    masquerade "$own" "${cidrs[@]}"
  fi
  sleep 2
done
