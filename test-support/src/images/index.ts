// SPDX-License-Identifier: Apache-2.0
// The container tier's images, all built on this machine (no registry is reachable) and cached
// by their inputs in ~/.cache/wasmfleet/images (docs/adr/0020).
import { ensureNodeBaseImage } from './node-base-image.ts';
import { ensureProjectImage } from './project-images.ts';
import { ensureMosquittoImage } from './mosquitto-image.ts';
import { ensureKindNodeImage } from './kind-node-image.ts';
import { ensureNativeAgentImage } from './native-agent-image.ts';
import { imageSize, type CachedImage } from './image-cache.ts';

export { ensureNodeBaseImage } from './node-base-image.ts';
export { ensureProjectImage, type ProjectTarget } from './project-images.ts';
export { ensureMosquittoImage, MOSQUITTO_IMAGE, DYNAMIC_SECURITY_PLUGIN } from './mosquitto-image.ts';
export { ensureKindNodeImage, KIND_VERSION } from './kind-node-image.ts';
export { ensureNativeAgentImage, NATIVE_AGENT_IMAGE } from './native-agent-image.ts';
export { ensureDebianRootfs, importRootfs, DEBIAN_SUITE, type DebianRootfsSpec } from './debian-rootfs.ts';
export {
  bootSystemdContainer,
  type SystemdContainer,
  type SystemdContainerOptions,
} from './systemd-container.ts';
export { ensureCachedImage, type CachedImage } from './image-cache.ts';

// The native agent's image last: on a cold machine scripts/test builds the native agent (cargo)
// beside these, and this image waits for that build's lock, so the others must not wait behind it.
export const IMAGE_NAMES = [
  'node-base',
  'operator',
  'agent',
  'mosquitto',
  'kind-node',
  'agent-native',
] as const;
export type ImageName = (typeof IMAGE_NAMES)[number];

export interface BuiltImage extends CachedImage {
  readonly name: ImageName;
  /** Wall-clock seconds this run spent on it (building, loading or finding it). */
  readonly seconds: number;
  /** Bytes, as the engine reports the image. */
  readonly size: number;
}

export interface ImageOptions {
  /** Tag of the operator, agent and agent-native images. */
  readonly tag: string;
  readonly progress?: (line: string) => void;
}

function builder(name: ImageName, options: ImageOptions): () => Promise<CachedImage> {
  const progress = options.progress;
  switch (name) {
    case 'node-base':
      return () => ensureNodeBaseImage(progress);
    case 'operator':
    case 'agent':
      return () => ensureProjectImage(name, options.tag, progress);
    case 'agent-native':
      return () => ensureNativeAgentImage(options.tag, progress);
    case 'mosquitto':
      return () => ensureMosquittoImage(progress);
    case 'kind-node':
      return () => ensureKindNodeImage(progress);
  }
}

/** Builds or loads `names` one after the other (two cores: parallel builds only contend). */
export async function ensureContainerImages(
  names: readonly ImageName[],
  options: ImageOptions,
): Promise<BuiltImage[]> {
  const built: BuiltImage[] = [];
  for (const name of names) {
    const started = Date.now();
    const image = await builder(name, options)();
    built.push({ ...image, name, seconds: (Date.now() - started) / 1000, size: await imageSize(image.tag) });
    options.progress?.(`${image.tag}: ${image.source} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  }
  return built;
}
export { findContainerEngine, NO_ENGINE, type ContainerEngine } from './engine.ts';
export { runCommand, docker } from './docker.ts';
