// SPDX-License-Identifier: Apache-2.0
// @wasmfleet/local-stack — what `wasmfleet dev up` runs on a laptop: a real control plane
// (etcd + kube-apiserver, built from the Go module proxy), the embedded MQTT broker, and child
// processes that never outlive the program that started them. The tests use the same parts
// through @wasmfleet/test-support.
export {
  startControlPlane,
  installCrds,
  runKubectl,
  REPO_CRDS_DIR,
  type ControlPlane,
  type OwnedControlPlane,
  type ControlPlaneOptions,
  type ControlPlanePorts,
  type KubectlResult,
} from './control-plane.ts';
export {
  ensureApiServerBinaries,
  ensureKubectlBinary,
  ensureHelmBinary,
  WRAPPER_MODULE_DIR,
  pinnedVersions,
  type ApiServerBinaries,
  type KubectlBinary,
  type HelmBinary,
} from './binaries.ts';
export {
  cacheRoot,
  ensureGoTools,
  STRIP_LDFLAGS,
  STRIPPED_SUFFIX,
  wrapperPins,
  type EnsureOptions,
  type GoTool,
  type GoToolSet,
} from './go-tools.ts';
export { kubeconfigYaml } from './kubeconfig.ts';
export { startEmbeddedBroker, type EmbeddedBroker } from './embedded-broker.ts';
export { createAedes } from './aedes-broker.ts';
export {
  allExited,
  processExists,
  spawnManaged,
  stopChildrenOnSignals,
  type ManagedProcess,
  type SpawnOptions,
} from './processes.ts';
export { freePort, waitFor } from './net.ts';
export {
  readResource,
  requestJson,
  serverSideApply,
  ApiError,
  type ApplyObject,
  type ApplyOptions,
} from './server-side-apply.ts';
export {
  ensureNativeAgent,
  nativeAgentKey,
  NATIVE_AGENT_NAME,
  type NativeAgentBinary,
} from './native-agent.ts';
