// SPDX-License-Identifier: Apache-2.0
// @wasmfleet/test-support — real parts for tests: etcd + kube-apiserver + kubectl, and Mosquitto.
export {
  startControlPlane,
  allExited,
  REPO_CRDS_DIR,
  type ControlPlane,
  type OwnedControlPlane,
  type ControlPlaneOptions,
  type KubectlResult,
} from './control-plane/control-plane.ts';
export { sharedControlPlane, publishControlPlane, SHARED_ENV } from './control-plane/shared.ts';
export {
  ensureControlPlaneBinaries,
  ensureHelmBinary,
  ensureCosignBinary,
  type ControlPlaneBinaries,
  type CosignBinary,
  type HelmBinary,
} from './control-plane/binaries.ts';
export { startMosquitto, type Mosquitto, type MosquittoOptions } from './mosquitto.ts';
export { processExists, spawnManaged, type ManagedProcess, type SpawnOptions } from './processes.ts';
export { uniqueName, freePort, waitFor } from './util.ts';
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
export { ensureNativeAgent, nativeAgentKey, type NativeAgentBinary } from './native-agent.ts';
