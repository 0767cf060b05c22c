// SPDX-License-Identifier: Apache-2.0
// Types of bundle.js (plain JavaScript so that the CLI's launcher loads no TypeScript).
export declare const CLI_ROOT: string;
export declare const REPO_ROOT: string;
export declare const DIST_ROOT: string;
export declare const LATEST: string;
export declare const BUILD_SCRIPT: string;
export declare const MAIN: string;
export declare function currentBundle(): string | undefined;
export declare function ensureBundle(): string | undefined;
export declare function cacheDirs(dir: string): [beside: string, user: string];
export declare function writable(dir: string): boolean;
export declare const SNAPSHOT_BLOB: string;
export declare const SNAPSHOT_SCRIPT: string;
export declare function snapshotBlob(dir: string): string | undefined;
export declare function buildSnapshotBlob(script: string, buildId: string, blob: string): boolean;
