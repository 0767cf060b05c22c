# WasmFleet images: the operator and the device agent, from one file.
#
#   docker build --target operator -t wasmfleet/operator:dev .
#   docker build --target agent    -t wasmfleet/agent:dev .
#
# Node 24 runs the TypeScript sources directly (docs/adr/0001). The one compile step is the
# agent, which runs from plain JavaScript in every thread (Node's type stripping costs ~17 MB in
# a thread that uses it, docs/adr/0017). One deps stage installs the dependencies once; each
# runtime stage copies its sources and only the packages its program loads.
# Both run as the non-root user 65532 and need nothing writable beyond the volumes the chart
# mounts (/tmp, and /var/lib/wasmfleet for the agent), so readOnlyRootFilesystem works.
# Plain Dockerfile syntax (no `# syntax=` line, no RUN --mount): it builds with the classic
# builder too, and with NODE_IMAGE set to a locally built Node 24 image where no registry is
# reachable (test-support/src/images, docs/adr/0020).

ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS manifests
WORKDIR /app
# Every workspace's package.json, so `npm ci` sees the same workspace set as package-lock.json.
COPY package.json package-lock.json ./
COPY api/package.json api/
COPY oci/package.json oci/
COPY local-stack/package.json local-stack/
COPY test-support/package.json test-support/
COPY agent/package.json agent/
COPY operator/package.json operator/
COPY cli/package.json cli/
COPY workloads/package.json workloads/
COPY bench/package.json bench/

# One install of everything both images need, dev dependencies included (the agent's build
# needs typescript and rolldown); npm 11 runs no dependency install scripts unless approved, so
# nothing compiles here. Each image then takes only the packages its program loads
# (scripts/image/runtime-node-modules.ts): `npm ci --omit=dev --workspace agent` would still
# install every workspace's production tree, and jco's compilers with it.
FROM manifests AS deps
RUN npm ci --no-audit --no-fund --workspace api --workspace oci --workspace agent --workspace operator --include-workspace-root
COPY scripts/image scripts/image
RUN node scripts/image/runtime-node-modules.ts operator /runtime/operator \
 && node scripts/image/runtime-node-modules.ts agent /runtime/agent

# The agent as plain JavaScript: its per-file tree and the main thread's bundle.
FROM deps AS build-agent
COPY agent/src agent/src
COPY agent/scripts agent/scripts
COPY agent/bin agent/bin
COPY api/src api/src
RUN node agent/scripts/build.ts

FROM ${NODE_IMAGE} AS runtime
WORKDIR /app
ENV NODE_ENV=production \
    HOME=/tmp \
    WASMFLEET_DATA_DIR=/var/lib/wasmfleet
# The agent's data directory, owned by the runtime user for engines that run the image without
# the chart's volume (plain docker run).
RUN mkdir -p /var/lib/wasmfleet && chown 65532:65532 /var/lib/wasmfleet
COPY package.json ./
COPY api/package.json api/
COPY api/src api/src

FROM runtime AS operator
COPY --from=deps /runtime/operator/node_modules node_modules
COPY oci/package.json oci/
COPY oci/src oci/src
COPY operator/package.json operator/
COPY operator/src operator/src
COPY operator/bin operator/bin
USER 65532:65532
EXPOSE 8080 8081
ENTRYPOINT ["node", "operator/bin/wasmfleet-operator.ts"]

FROM runtime AS agent
COPY --from=deps /runtime/agent/node_modules node_modules
COPY agent/package.json agent/
COPY agent/src agent/src
COPY agent/bin agent/bin
# The build id is a hash of the sources and of build.ts, so the launcher finds the build only
# beside the very same files (and never runs a stale one).
COPY agent/scripts agent/scripts
COPY --from=build-agent /app/agent/dist agent/dist
USER 65532:65532
ENTRYPOINT ["node", "agent/bin/wasmfleet-agent.js"]
