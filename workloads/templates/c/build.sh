#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Builds function.c into build/__NAME__.wasm, a WASI reactor (set CLANG / WASI_SYSROOT to override).
set -eu
cd "$(dirname "$0")"
mkdir -p build
${CLANG:-clang} --target=wasm32-wasi ${WASI_SYSROOT:+--sysroot=$WASI_SYSROOT} -O2 -mexec-model=reactor -Isdk \
  -o build/__NAME__.wasm function.c -Wl,--strip-all
