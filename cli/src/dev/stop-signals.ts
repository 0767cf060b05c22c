// SPDX-License-Identifier: Apache-2.0
// How `dev up` takes Ctrl-C and `dev down` (SIGTERM): the first signal asks for a clean stop
// (the returned promise resolves, `onFirst` runs); a second one is told the stop is under way;
// a third kills at once (children die with us, see @wasmfleet/local-stack's processes).
export function onStopSignals(onFirst: () => void, onSecond: () => void): Promise<void> {
  let count = 0;
  return new Promise((resolve) => {
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
      process.on(signal, () => {
        count++;
        if (count === 1) {
          onFirst();
          resolve();
        } else if (count === 2) onSecond();
        else process.exit(130);
      });
    }
  });
}
