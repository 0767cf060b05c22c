#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Packages a device agent laid out as it installs (a root directory: usr/bin/…,
# lib/systemd/system/…, etc/…) into a release tarball and a .deb made with dpkg-deb, each with
# its SHA-256. Agent-neutral on purpose: the native agent uses it (build.sh), and the Node agent's
# release (issue 17) can hand it its own root. Needs only tar, gzip, dpkg-deb and sha256sum.
#
#   package.sh --name wasmfleet-agent-native --version 0.2.0 --arch amd64 --root DIR --out DIR \
#              [--description TEXT] [--depends 'libc6 (>= 2.31)'] [--service UNIT.service]
set -euo pipefail

name="" version="" arch="" root="" out="" description="WasmFleet device agent" depends="" service=""
while [ $# -gt 0 ]; do
  case "$1" in
    --name) name="$2"; shift 2 ;;
    --version) version="$2"; shift 2 ;;
    --arch) arch="$2"; shift 2 ;;
    --root) root="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --description) description="$2"; shift 2 ;;
    --depends) depends="$2"; shift 2 ;;
    --service) service="$2"; shift 2 ;;
    *) echo "package.sh: unknown option $1 (see the comment at the top of this file)" >&2; exit 2 ;;
  esac
done
for v in name version arch root out; do
  [ -n "${!v}" ] || { echo "package.sh: --$v is required" >&2; exit 2; }
done
[ -d "$root" ] || { echo "package.sh: --root $root is not a directory" >&2; exit 2; }
command -v dpkg-deb >/dev/null || { echo "package.sh: dpkg-deb is missing (apt-get install dpkg)" >&2; exit 2; }

mkdir -p "$out"
out="$(cd "$out" && pwd)"
# Debian names x86_64 amd64; the tarball uses the kernel's name.
case "$arch" in amd64) tar_arch=x86_64 ;; arm64) tar_arch=aarch64 ;; *) tar_arch="$arch" ;; esac
base="$name-$version-linux-$tar_arch"

# Tarball: the root as it installs, owned by root, with stable timestamps.
chmod 0755 "$root"
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime='2026-01-01 00:00Z' \
  -C "$root" -czf "$out/$base.tar.gz" .

# .deb: the same root plus DEBIAN/ (control, conffiles, maintainer scripts for the unit).
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
cp -a "$root/." "$stage/"
chmod 0755 "$stage"
mkdir -p "$stage/DEBIAN"
size_kb="$(du -sk "$root" | cut -f1)"
{
  echo "Package: $name"
  echo "Version: $version"
  echo "Architecture: $arch"
  echo "Maintainer: WasmFleet <devices@wasmfleet.io>"
  echo "Installed-Size: $size_kb"
  [ -n "$depends" ] && echo "Depends: $depends"
  echo "Section: net"
  echo "Priority: optional"
  echo "Description: $description"
  echo " Runs WebAssembly functions fed by MQTT sensor readings, managed from Kubernetes by WasmFleet."
} > "$stage/DEBIAN/control"
(cd "$stage" && find etc -type f 2>/dev/null | sed 's#^#/#' | sort) > "$stage/DEBIAN/conffiles" || true
[ -s "$stage/DEBIAN/conffiles" ] || rm -f "$stage/DEBIAN/conffiles"
if [ -n "$service" ]; then
  cat > "$stage/DEBIAN/postinst" <<EOS
#!/bin/sh
set -e
if [ -d /run/systemd/system ]; then
  systemctl daemon-reload || true
  # Started only once configured: edit /etc/wasmfleet/agent.env, then enable --now.
  if grep -q '^WASMFLEET_BROKER=' /etc/wasmfleet/agent.env 2>/dev/null; then
    systemctl enable --now $service || true
  fi
fi
EOS
  cat > "$stage/DEBIAN/prerm" <<EOS
#!/bin/sh
set -e
if [ -d /run/systemd/system ]; then systemctl disable --now $service || true; fi
EOS
  cat > "$stage/DEBIAN/postrm" <<EOS
#!/bin/sh
set -e
if [ -d /run/systemd/system ]; then systemctl daemon-reload || true; fi
EOS
  chmod 0755 "$stage/DEBIAN/postinst" "$stage/DEBIAN/prerm" "$stage/DEBIAN/postrm"
fi
dpkg-deb --root-owner-group --build "$stage" "$out/${name}_${version}_${arch}.deb" >/dev/null

(cd "$out" && sha256sum "$base.tar.gz" "${name}_${version}_${arch}.deb" > "$base.sha256")
echo "$out/$base.tar.gz"
echo "$out/${name}_${version}_${arch}.deb"
echo "$out/$base.sha256"
