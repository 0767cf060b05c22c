// SPDX-License-Identifier: Apache-2.0
//go:build tools

// The Kubernetes commands the kind node image needs beyond the control plane's
// kube-apiserver, etcd and kubectl (test-support/controlplane).
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-proxy"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubeadm"
	_ "k8s.io/kubernetes/cmd/kubelet"
)
