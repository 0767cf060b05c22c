// SPDX-License-Identifier: Apache-2.0
// Types of compiled.js (plain JavaScript so that the agent's launcher loads no TypeScript).
export declare const REPO_ROOT: string;
export declare const DIST_ROOT: string;
export declare const SOURCE_DIRS: readonly string[];
export declare const BUILD_SCRIPT: string;
/** The main thread's program as one bundle, relative to a build's directory. */
export declare const BUNDLE_ENTRY: string;
export declare const COPIED_FILES: readonly string[];
export declare function sourceFiles(): string[];
export declare function buildId(files?: readonly string[]): string;
export declare function compiledDir(id?: string): string;
export declare function ensureCompiled(): string | undefined;
