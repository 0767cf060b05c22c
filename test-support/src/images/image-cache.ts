// SPDX-License-Identifier: Apache-2.0
// Every locally built image is cached by a digest of its inputs: a tarball in
// ~/.cache/wasmfleet/images, so a warm run `docker load`s it instead of rebuilding, and the image
// carries the digest as a label, so an engine that already has it does not even load it.
import { createHash } from 'node:crypto';
import { access, mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { docker, imageCacheDir } from './docker.ts';

/** The label holding the digest of an image's inputs. */
export const INPUTS_LABEL = 'io.wasmfleet.inputs';

export interface CachedImageSpec {
  /** The tag the image gets, e.g. wasmfleet/node:24.21.0. */
  readonly tag: string;
  /** Everything the image is made from (versions, file contents, digests of other images). */
  readonly inputs: readonly (string | Buffer)[];
  /** Builds the image as `tag`, carrying `INPUTS_LABEL=digest`. */
  readonly build: (tag: string, digest: string) => Promise<void>;
  readonly progress?: (line: string) => void;
}

export interface CachedImage {
  readonly tag: string;
  /** The digest of the inputs (also in the image's label and the tarball's name). */
  readonly digest: string;
  /** The cached `docker save` tarball. */
  readonly archive: string;
  /** 'engine' (already there), 'cache' (docker load) or 'built'. */
  readonly source: 'engine' | 'cache' | 'built';
}

export function digestOf(inputs: readonly (string | Buffer)[]): string {
  const hash = createHash('sha256');
  for (const input of inputs) hash.update(createHash('sha256').update(input).digest());
  return hash.digest('hex').slice(0, 16);
}

/** The digest of files' names and contents (paths relative to `root`, sorted). */
export async function digestOfFiles(root: string, files: readonly string[]): Promise<string> {
  const parts: (string | Buffer)[] = [];
  for (const file of [...files].sort()) parts.push(file, await readFile(path.join(root, file)));
  return digestOf(parts);
}

async function engineLabel(tag: string): Promise<string | undefined> {
  try {
    return await docker(['image', 'inspect', '--format', `{{index .Config.Labels "${INPUTS_LABEL}"}}`, tag]);
  } catch {
    return undefined;
  }
}

/** The image `spec.tag` made from `spec.inputs`: from the engine, the cache, or a fresh build. */
export async function ensureCachedImage(spec: CachedImageSpec): Promise<CachedImage> {
  const digest = digestOf([spec.tag, ...spec.inputs]);
  const dir = imageCacheDir('images');
  const base = spec.tag.replace(/[^a-zA-Z0-9.-]+/g, '_');
  const archive = path.join(dir, `${base}-${digest}.tar`);
  const cached = await access(archive).then(
    () => true,
    () => false,
  );
  if ((await engineLabel(spec.tag)) === digest) {
    if (!cached) await saveArchive(spec.tag, dir, base, archive);
    return { tag: spec.tag, digest, archive, source: 'engine' };
  }
  if (cached) {
    spec.progress?.(`loading ${spec.tag} from ${archive}`);
    await docker(['load', '-i', archive]);
    if ((await engineLabel(spec.tag)) === digest) return { tag: spec.tag, digest, archive, source: 'cache' };
  }
  spec.progress?.(`building ${spec.tag}`);
  await spec.build(spec.tag, digest);
  const built = await engineLabel(spec.tag);
  if (built !== digest)
    throw new Error(`the build of ${spec.tag} did not label it ${INPUTS_LABEL}=${digest} (got ${built})`);
  await saveArchive(spec.tag, dir, base, archive);
  return { tag: spec.tag, digest, archive, source: 'built' };
}

async function saveArchive(tag: string, dir: string, base: string, archive: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await docker(['save', '-o', `${archive}.partial`, tag]);
  await rename(`${archive}.partial`, archive);
  await pruneOlder(dir, base, archive);
}

/** Removes the archives of earlier inputs of the same tag: only the newest is ever loaded. */
async function pruneOlder(dir: string, base: string, keep: string): Promise<void> {
  for (const name of await readdir(dir)) {
    const file = path.join(dir, name);
    if (file !== keep && new RegExp(`^${base.replaceAll('.', '\\.')}-[0-9a-f]{16}\\.tar$`).test(name))
      await rm(file, { force: true });
  }
}

/** Size of an image as the engine reports it (bytes, uncompressed layers). */
export async function imageSize(tag: string): Promise<number> {
  return Number(await docker(['image', 'inspect', '--format', '{{.Size}}', tag]));
}
