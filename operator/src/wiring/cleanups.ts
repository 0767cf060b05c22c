// SPDX-License-Identifier: Apache-2.0
// What stopping the operator undoes, in reverse order of starting: each part pushes its own.
export type Cleanups = (() => Promise<void>)[];

/** Stops a timer on shutdown. */
export function clearOnStop(cleanups: Cleanups, timer: NodeJS.Timeout): void {
  cleanups.push(() => {
    clearInterval(timer);
    return Promise.resolve();
  });
}
