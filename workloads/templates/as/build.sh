#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Builds assembly/index.ts into build/__NAME__.wasm (set ASC to use another asc).
set -eu
cd "$(dirname "$0")"
mkdir -p build
${ASC:-npx asc} assembly/index.ts --outFile build/__NAME__.wasm -O3 --path sdk --use abort=~lib/wasmfleet/index/wfAbort
