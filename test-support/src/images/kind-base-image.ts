// SPDX-License-Identifier: Apache-2.0
// kind's base image, made here: a Debian root filesystem with systemd and the node tools, kind's
// own files (entrypoint, containerd config, kubelet units) from the sigs.k8s.io/kind module, and
// containerd, crictl and the CNI plugins built from the Go module proxy — what kind's
// images/base/Dockerfile assembles, without a registry. Plus the pod network (docs/adr/0020).
import { chmod, cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { docker, runCommand } from './docker.ts';
import { digestOfFiles, ensureCachedImage, INPUTS_LABEL, type CachedImage } from './image-cache.ts';
import { ensureDebianRootfs, importRootfs } from './debian-rootfs.ts';
import { CNI_PLUGINS, CONTAINERD, CRICTL, KIND, ensureGoModuleTools } from './go-tools.ts';

export const KIND_NODE_FILES_DIR = fileURLToPath(new URL('../../kind-node/files/', import.meta.url));
const OUR_FILES = [
  'wasmfleet-pod-network.sh',
  '12-wasmfleet-cgroup-v1.conf',
  'default-cni.yaml',
  'default-storage.yaml',
];

/** The node's packages: kind's base list, with Debian's runc in place of kind's own build. */
export const NODE_PACKAGES = [
  'systemd',
  'conntrack',
  'iptables',
  'nftables',
  'iproute2',
  'ethtool',
  'mount',
  'kmod',
  'libseccomp2',
  'pigz',
  'ca-certificates',
  'jq',
  'procps',
  'runc',
  'e2fsprogs',
];

/** The sandbox (pause) image kubeadm v1.37 expects; containerd's config is pointed at it. */
export const PAUSE_IMAGE = 'registry.k8s.io/pause:3.10.2';

async function kindModuleDir(): Promise<string> {
  const json = await runCommand('go', ['mod', 'download', '-json', `${KIND.module}@${KIND.version}`]);
  return (JSON.parse(json) as { Dir: string }).Dir;
}

const DOCKERFILE = (rootTag: string, digest: string): string => `FROM ${rootTag}
COPY kind/usr/local/bin/ /usr/local/bin/
COPY kind/kind/ /kind/
COPY kind/etc/ /etc/
COPY bin/ /usr/local/bin/
COPY cni/ /opt/cni/bin/
COPY wasmfleet/wasmfleet-pod-network.sh /kind/bin/
COPY wasmfleet/12-wasmfleet-cgroup-v1.conf /etc/systemd/system/kubelet.service.d/
COPY wasmfleet/default-cni.yaml wasmfleet/default-storage.yaml /kind/manifests/
RUN chmod 755 /kind /kind/bin /kind/bin/* /usr/local/bin/* /opt/cni/bin/* \\
 && find /lib/systemd/system/sysinit.target.wants/ -name systemd-tmpfiles-setup.service -delete \\
 && rm -f /lib/systemd/system/multi-user.target.wants/* /etc/systemd/system/*.wants/* \\
 && rm -f /lib/systemd/system/local-fs.target.wants/* /lib/systemd/system/sockets.target.wants/*udev* \\
 && rm -f /lib/systemd/system/sockets.target.wants/*initctl* /lib/systemd/system/basic.target.wants/* \\
 && echo ReadKMsg=no >> /etc/systemd/journald.conf \\
 && ln -sf /usr/lib/systemd/systemd /sbin/init \\
 && systemctl enable kubelet.service containerd.service undo-mount-hacks.service \\
 && systemctl mask systemd-binfmt.service \\
 && mkdir -p /etc/kubernetes/manifests \\
 && sed -i -e 's|sandbox_image = .*|sandbox_image = "${PAUSE_IMAGE}"|' \\
      -e 's|restrict_oom_score_adj = false|restrict_oom_score_adj = true|' /etc/containerd/config.toml \\
 && ctr oci spec | jq '.hooks.createContainer[.hooks.createContainer|length] |= . + {"path": "/kind/bin/mount-product-files.sh"}' \\
    | jq 'del(.process.rlimits)' > /etc/containerd/cri-base.json \\
 && containerd --version && runc --version && crictl --version
ENV container=docker
STOPSIGNAL SIGRTMIN+3
LABEL ${INPUTS_LABEL}=${digest}
ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]
`;

export async function ensureKindBaseImage(progress?: (line: string) => void): Promise<CachedImage> {
  const p = progress ? { progress } : {};
  const rootfs = await ensureDebianRootfs({ name: 'kind-base', packages: NODE_PACKAGES, slim: true, ...p });
  const containerd = await ensureGoModuleTools(CONTAINERD, progress);
  const crictl = await ensureGoModuleTools(CRICTL, progress);
  const cni = await ensureGoModuleTools(CNI_PLUGINS, progress);
  const ours = await digestOfFiles(KIND_NODE_FILES_DIR, OUR_FILES);
  return ensureCachedImage({
    tag: `wasmfleet/kind-base:${KIND.version}`,
    inputs: [rootfs, containerd, crictl, cni, KIND.version, ours, DOCKERFILE('', '')],
    ...p,
    build: async (tag, digest) => {
      const context = await mkdtemp(path.join(tmpdir(), 'wasmfleet-kind-base-'));
      const rootTag = `${tag}-rootfs`;
      try {
        await cp(path.join(await kindModuleDir(), 'images/base/files'), path.join(context, 'kind'), {
          recursive: true,
        });
        await runCommand('chmod', ['-R', 'u+w', path.join(context, 'kind')]);
        await cp(containerd, path.join(context, 'bin'), { recursive: true });
        await cp(path.join(crictl, 'crictl'), path.join(context, 'bin', 'crictl'));
        await cp(cni, path.join(context, 'cni'), { recursive: true });
        await cp(KIND_NODE_FILES_DIR, path.join(context, 'wasmfleet'), { recursive: true });
        await chmod(path.join(context, 'wasmfleet', 'wasmfleet-pod-network.sh'), 0o755);
        await writeFile(path.join(context, 'Dockerfile'), DOCKERFILE(rootTag, digest));
        await importRootfs(rootfs, rootTag, []);
        await docker(['build', '-q', '-t', tag, context]);
      } finally {
        await docker(['rmi', rootTag]).catch(() => undefined);
        await rm(context, { recursive: true, force: true });
      }
    },
  });
}
