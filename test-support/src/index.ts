// SPDX-License-Identifier: Apache-2.0
// @wasmfleet/test-support — real parts for tests: the local stack's control plane and processes
// (re-exported from @wasmfleet/local-stack, which `wasmfleet dev up` runs), plus what only tests
// need: a shared control plane per run, Mosquitto, an OCI registry, simulated devices, TLS,
// network namespaces and fault proxies.
import { stopChildrenOnSignals } from '@wasmfleet/local-stack';

// A test process has no signal handling of its own: on Ctrl-C or a runner's SIGTERM, stop its
// children gracefully first (a program such as `dev up` handles its signals itself).
stopChildrenOnSignals();

export {
  startControlPlane,
  allExited,
  processExists,
  spawnManaged,
  freePort,
  waitFor,
  REPO_CRDS_DIR,
  ensureApiServerBinaries,
  ensureKubectlBinary,
  ensureHelmBinary,
  type ControlPlane,
  type OwnedControlPlane,
  type ControlPlaneOptions,
  type KubectlResult,
  type ManagedProcess,
  type SpawnOptions,
  type HelmBinary,
} from '@wasmfleet/local-stack';
export { ensureControlPlaneBinaries, type ControlPlaneBinaries } from './binaries.ts';
export { ensureCosignBinary, type CosignBinary } from './cosign.ts';
export { sharedControlPlane, publishControlPlane, SHARED_ENV } from './control-plane/shared.ts';
export { startMosquitto, type Mosquitto, type MosquittoOptions } from './mosquitto.ts';
export {
  startNatsServer,
  natsServerConfig,
  type NatsServer,
  type NatsServerConfig,
  type NatsServerOptions,
} from './nats.ts';
export { ensureNatsServerBinary, type NatsServerBinary } from './nats-binary.ts';
export { startAedes, type AedesBroker } from './aedes.ts';
export {
  startOversizedPacketBroker,
  MAX_REMAINING_LENGTH,
  type OversizedPacketBroker,
  type OversizedPacketBrokerOptions,
} from './oversized-packet-broker.ts';
export { uniqueName, canConnect } from './util.ts';
export { OPERATOR_CHART_HEAP_FLAGS } from './operator-heap.ts';
export { logLineTime, logMessages } from './log-messages.ts';
export { startRegistry, type Registry, type RegistryOptions } from './registry.ts';
export {
  startSimulatedDevice,
  type SimulatedDevice,
  type SimulatedDeviceOptions,
} from './simulated-device.ts';
export { type MosquittoTlsOptions } from './mosquitto.ts';
export {
  generateTestCertificates,
  writeMosquittoPasswordFile,
  type ClientCertificate,
  type TestCertificates,
  type TestCertificateOptions,
} from './tls.ts';
export { createDeviceHost, networkNamespaceSupport, type DeviceHost } from './netns.ts';
export { startFaultProxy, type FaultProxy, type LinkMode } from './fault-proxy.ts';
export { createDeviceLink, type DeviceLink } from './device-link.ts';
export { cacheRoot, ensureNativeAgent, nativeAgentKey, type NativeAgentBinary } from '@wasmfleet/local-stack';
export {
  startNatsCluster,
  natsClusterNodeConfig,
  type NatsCluster,
  type NatsClusterNode,
} from './nats-cluster.ts';
