#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Builds the package into build/__NAME__.wasm, a WASI reactor.
set -eu
cd "$(dirname "$0")"
mkdir -p build
GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -trimpath -ldflags='-s -w' -o build/__NAME__.wasm .
