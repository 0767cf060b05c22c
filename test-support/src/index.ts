// @wasmfleet/test-support — real parts for tests: etcd + kube-apiserver + kubectl, and Mosquitto.
export { startControlPlane, sharedControlPlane, type ControlPlane, type KubectlResult } from './control-plane/control-plane.ts';
export { startMosquitto, type Mosquitto } from './mosquitto.ts';
export { uniqueName, freePort } from './util.ts';
