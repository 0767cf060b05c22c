// SPDX-License-Identifier: Apache-2.0
// The kind node image, built here with the same Kubernetes version as the control plane: the
// kind base image (kind-base-image.ts) plus kubelet, kubeadm and kubectl, /kind/version, and the
// control-plane component images pre-imported into the node's containerd — what
// `kind build node-image` does, without pulling anything (docs/adr/0020).
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ensureControlPlaneBinaries } from '../control-plane/binaries.ts';
import { docker, runCommand } from './docker.ts';
import { ensureCachedImage, INPUTS_LABEL, type CachedImage } from './image-cache.ts';
import { ensureDebianRootfs, importRootfs } from './debian-rootfs.ts';
import { COREDNS_VERSION, KIND, ensureCoreDns, ensureKubernetesNodeBinaries } from './go-tools.ts';
import { ensureKindBaseImage, KIND_NODE_FILES_DIR, PAUSE_IMAGE } from './kind-base-image.ts';

export const KIND_VERSION = KIND.version;

interface Component {
  /** The image kubeadm asks for. */
  readonly image: string;
  /** Binary file → its path in the image. */
  readonly files: readonly { readonly from: string; readonly to: string }[];
  /** Dockerfile lines after FROM/COPY. */
  readonly config: readonly string[];
  /** Base image (default scratch). */
  readonly from?: string;
  /** Dockerfile RUN lines after COPY (only on a base with a shell). */
  readonly run?: readonly string[];
}

const PATH_ENV = 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

function components(
  k8s: string,
  bins: { node: string; plane: string; coredns: string; pause: string },
  proxyBase: string,
): Component[] {
  const k8sImage = (name: string, dir: string, from?: string): Component => ({
    image: `registry.k8s.io/${name}:${k8s}`,
    files: [{ from: path.join(dir, name), to: `/usr/local/bin/${name}` }],
    config: [PATH_ENV],
    ...(from ? { from } : {}),
  });
  return [
    k8sImage('kube-apiserver', bins.node),
    k8sImage('kube-controller-manager', bins.node),
    k8sImage('kube-scheduler', bins.node),
    {
      ...k8sImage('kube-proxy', bins.node, proxyBase),
      files: [
        { from: path.join(bins.node, 'kube-proxy'), to: '/usr/local/bin/kube-proxy' },
        { from: path.join(KIND_NODE_FILES_DIR, 'iptables-wrapper'), to: '/usr/sbin/iptables-wrapper' },
      ],
      run: [
        'RUN chmod 755 /usr/sbin/iptables-wrapper && for t in iptables iptables-save iptables-restore ip6tables ip6tables-save ip6tables-restore; do ln -sf iptables-wrapper /usr/sbin/$t; done',
      ],
    },
    {
      image: 'registry.k8s.io/etcd:3.7.0-0',
      files: [{ from: path.join(bins.plane, 'etcd'), to: '/usr/local/bin/etcd' }],
      config: [PATH_ENV],
    },
    {
      image: `registry.k8s.io/coredns/coredns:${COREDNS_VERSION}`,
      files: [{ from: path.join(bins.coredns, 'coredns'), to: '/coredns' }],
      config: ['ENTRYPOINT ["/coredns"]'],
    },
    { image: PAUSE_IMAGE, files: [{ from: bins.pause, to: '/pause' }], config: ['ENTRYPOINT ["/pause"]'] },
  ];
}

/** Kubernetes' pause, compiled from the k8s.io/kubernetes module's build/pause/linux/pause.c. */
async function buildPause(outDir: string): Promise<string> {
  const json = await runCommand('go', [
    'mod',
    'download',
    '-json',
    `k8s.io/kubernetes@${(await ensureKubernetesNodeBinaries()).version}`,
  ]);
  const source = path.join((JSON.parse(json) as { Dir: string }).Dir, 'build/pause/linux/pause.c');
  const out = path.join(outDir, 'pause');
  await runCommand('gcc', ['-Os', '-static', '-DVERSION=wasmfleet', '-o', out, source]);
  await runCommand('strip', [out]);
  return out;
}

async function buildComponent(component: Component, digest: string): Promise<void> {
  const context = await mkdtemp(path.join(tmpdir(), 'wasmfleet-kind-component-'));
  try {
    const lines = [`FROM ${component.from ?? 'scratch'}`];
    for (const [i, file] of component.files.entries()) {
      await copyFile(file.from, path.join(context, `f${i}`));
      lines.push(`COPY f${i} ${file.to}`);
    }
    lines.push(...(component.run ?? []), ...component.config, `LABEL ${INPUTS_LABEL}=${digest}`, '');
    await writeFile(path.join(context, 'Dockerfile'), lines.join('\n'));
    await docker(['build', '-q', '-t', component.image, context]);
  } finally {
    await rm(context, { recursive: true, force: true });
  }
}

export async function ensureKindNodeImage(progress?: (line: string) => void): Promise<CachedImage> {
  const p = progress ? { progress } : {};
  const base = await ensureKindBaseImage(progress);
  const node = await ensureKubernetesNodeBinaries(progress);
  const plane = await ensureControlPlaneBinaries(p);
  const coredns = await ensureCoreDns(progress);
  const proxyRootfs = await ensureDebianRootfs({
    name: 'kube-proxy',
    packages: ['iptables', 'conntrack', 'kmod', 'iproute2'],
    slim: true,
    ...p,
  });
  return ensureCachedImage({
    tag: `wasmfleet/kind-node:${node.version}`,
    inputs: [
      base.digest,
      node.dir,
      plane.dir,
      coredns,
      proxyRootfs,
      await readFile(path.join(KIND_NODE_FILES_DIR, 'iptables-wrapper')),
      'recipe-1',
    ],
    ...p,
    build: async (tag, digest) => {
      const scratch = await mkdtemp(path.join(tmpdir(), 'wasmfleet-kind-node-'));
      const proxyBase = `${tag}-kube-proxy-base`;
      try {
        await importRootfs(proxyRootfs, proxyBase, []);
        const pause = await buildPause(scratch);
        const list = components(
          node.version,
          { node: node.dir, plane: plane.dir, coredns, pause },
          proxyBase,
        );
        for (const component of list) await buildComponent(component, digest);
        await checkKubeadmImages(
          node.dir,
          node.version,
          list.map((c) => c.image),
        );
        const archive = path.join(scratch, 'components.tar');
        await docker(['save', '-o', archive, ...list.map((c) => c.image)]);
        await assembleNode(base.tag, tag, digest, node, plane.dir, archive, progress);
        await docker(['rmi', ...list.map((c) => c.image)]).catch(() => undefined);
      } finally {
        await docker(['rmi', proxyBase]).catch(() => undefined);
        await rm(scratch, { recursive: true, force: true });
      }
    },
  });
}

/** Fails when kubeadm asks for an image this build does not make (after a Kubernetes bump). */
async function checkKubeadmImages(nodeDir: string, version: string, made: readonly string[]): Promise<void> {
  const wanted = (
    await runCommand(path.join(nodeDir, 'kubeadm'), [
      'config',
      'images',
      'list',
      '--kubernetes-version',
      version,
    ])
  )
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const missing = wanted.filter((image) => !made.includes(image));
  if (missing.length > 0) {
    throw new Error(
      `kubeadm ${version} needs ${missing.join(', ')}, which the kind node build does not make; update components() in kind-node-image.ts`,
    );
  }
}

/** Runs the base image, copies the binaries in, imports the component images, commits. */
async function assembleNode(
  baseTag: string,
  tag: string,
  digest: string,
  node: { dir: string; version: string },
  planeDir: string,
  archive: string,
  progress?: (line: string) => void,
): Promise<void> {
  const id = await docker([
    'run',
    '-d',
    '--entrypoint=sleep',
    '--security-opt',
    'seccomp=unconfined',
    baseTag,
    'infinity',
  ]);
  const exec = (...command: string[]): Promise<string> => docker(['exec', id, ...command]);
  try {
    for (const [dir, binary] of [
      [node.dir, 'kubelet'],
      [node.dir, 'kubeadm'],
      [planeDir, 'kubectl'],
    ] as const) {
      await docker(['cp', path.join(dir, binary), `${id}:/usr/bin/${binary}`]);
    }
    await exec('chown', 'root:root', '/usr/bin/kubelet', '/usr/bin/kubeadm', '/usr/bin/kubectl');
    await exec('sh', '-c', `mkdir -p /kind/images && printf %s ${node.version} > /kind/version`);
    // The pod network runs in the kube-proxy image every node holds (default-cni.yaml).
    await exec(
      'sed',
      '-i',
      `s|@KUBE_PROXY_IMAGE@|registry.k8s.io/kube-proxy:${node.version}|`,
      '/kind/manifests/default-cni.yaml',
    );
    await docker(['cp', archive, `${id}:/kind/images/components.tar`]);
    progress?.('importing the component images into the node containerd');
    await exec('bash', '-c', 'nohup containerd > /tmp/containerd.log 2>&1 &');
    await exec(
      'bash',
      '-c',
      'for i in $(seq 1 60); do [ -S /run/containerd/containerd.sock ] && ctr version >/dev/null 2>&1 && exit 0; sleep 0.5; done; cat /tmp/containerd.log; exit 1',
    );
    await exec(
      'ctr',
      '--namespace=k8s.io',
      'images',
      'import',
      '--label=io.cri-containerd.pinned=pinned',
      '--all-platforms',
      '--no-unpack',
      '--digests',
      '/kind/images/components.tar',
    );
    await exec(
      'bash',
      '-c',
      'pkill containerd; for i in $(seq 1 60); do pgrep containerd >/dev/null || break; sleep 0.5; done; rm -f /kind/images/components.tar /tmp/containerd.log',
    );
    await docker([
      'commit',
      '--change',
      'ENTRYPOINT [ "/usr/local/bin/entrypoint", "/sbin/init" ]',
      '--change',
      `LABEL ${INPUTS_LABEL}=${digest}`,
      id,
      tag,
    ]);
  } finally {
    await docker(['rm', '-f', '-v', id]).catch(() => undefined);
  }
}
