// SPDX-License-Identifier: Apache-2.0
// Graceful shutdown: on SIGTERM/SIGINT run ordered steps, each with a time limit, then exit.
// The usual order for the operator (standardShutdownSteps): stop informers (no new work),
// drain the work queues (let in-flight reconciles finish), release the leader Lease (the next
// replica takes over at once instead of after leaseDuration), close the HTTP server last so
// probes and metrics answer until the end. A second signal exits immediately.

export interface ShutdownStep {
  readonly name: string;
  run(): Promise<void> | void;
  /** Overrides the default per-step limit. */
  readonly timeoutMs?: number;
}

/** The part of `process` this needs, so tests can drive it without real signals. */
export interface SignalSource {
  once(signal: NodeJS.Signals, listener: () => void): unknown;
  removeListener(signal: NodeJS.Signals, listener: () => void): unknown;
}

export interface GracefulShutdownOptions {
  readonly signals?: readonly NodeJS.Signals[];
  /** Default limit per step. Default 10 s (Kubernetes gives 30 s before SIGKILL). */
  readonly stepTimeoutMs?: number;
  /** Called with 0 when every step succeeded, 1 otherwise, 130 on a second signal. */
  readonly exit?: (code: number) => void;
  readonly log?: (line: string) => void;
  readonly process?: SignalSource;
}

export interface GracefulShutdown {
  /** Runs the steps once (later calls get the same promise); resolves with the exit code. */
  shutdown(reason: string): Promise<number>;
  /** Aborts when shutdown begins, for loops that should stop taking work. */
  readonly signal: AbortSignal;
  /** Removes the signal handlers. */
  dispose(): void;
}

async function runStep(step: ShutdownStep, defaultTimeoutMs: number): Promise<void> {
  const limit = step.timeoutMs ?? defaultTimeoutMs;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`shutdown step "${step.name}" took longer than ${limit} ms`)),
      limit,
    );
  });
  try {
    await Promise.race([Promise.resolve().then(() => step.run()), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export function installGracefulShutdown(
  steps: readonly ShutdownStep[],
  options: GracefulShutdownOptions = {},
): GracefulShutdown {
  const signals = options.signals ?? ['SIGTERM', 'SIGINT'];
  const stepTimeoutMs = options.stepTimeoutMs ?? 10_000;
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const log = options.log ?? ((line: string) => console.error(line));
  const source: SignalSource = options.process ?? process;
  const started = new AbortController();
  let running: Promise<number> | undefined;

  const shutdown = (reason: string): Promise<number> => {
    running ??= (async () => {
      started.abort(new Error(`shutting down: ${reason}`));
      log(`shutting down (${reason})`);
      let failed = false;
      for (const step of steps) {
        try {
          await runStep(step, stepTimeoutMs);
          log(`shutdown: ${step.name} done`);
        } catch (error) {
          // Keep going: a stuck informer must not keep the Lease from being released.
          failed = true;
          log(`shutdown: ${step.name} failed: ${error instanceof Error ? error.message : String(error)}`);
        }
      }
      return failed ? 1 : 0;
    })();
    return running;
  };

  const handlers = signals.map((signal) => {
    const handler = (): void => {
      if (running) {
        log(`second ${signal}: exiting now`);
        exit(130);
        return;
      }
      // Listen for a second signal while the steps run.
      source.once(signal, handler);
      void shutdown(signal).then(exit);
    };
    source.once(signal, handler);
    return { signal, handler };
  });

  return {
    shutdown,
    signal: started.signal,
    dispose: () => {
      for (const { signal, handler } of handlers) source.removeListener(signal, handler);
    },
  };
}

export interface StandardShutdownParts {
  readonly informers?: readonly { stop(): Promise<void> }[];
  readonly queues?: readonly { shutdown(options?: { drain?: boolean }): Promise<void> }[];
  /** Reconcile loops whose workers should have exited after the queues drained. */
  readonly loops?: readonly { stopped: Promise<void> }[];
  readonly elector?: { stop(): Promise<void> };
  readonly server?: { close(): Promise<void> };
  /** Run after draining and before releasing the Lease (e.g. flush Events, close MQTT). */
  readonly extra?: readonly ShutdownStep[];
}

/** The operator's order: informers, queues, extras, lease, server. */
export function standardShutdownSteps(parts: StandardShutdownParts): ShutdownStep[] {
  const steps: ShutdownStep[] = [];
  const { informers, queues, loops, elector, server, extra } = parts;
  if (informers?.length) {
    steps.push({
      name: 'stop informers',
      run: async () => {
        await Promise.all(informers.map((i) => i.stop()));
      },
    });
  }
  if (queues?.length || loops?.length) {
    steps.push({
      name: 'drain work queues',
      run: async () => {
        await Promise.all((queues ?? []).map((q) => q.shutdown({ drain: true })));
        await Promise.all((loops ?? []).map((l) => l.stopped));
      },
    });
  }
  steps.push(...(extra ?? []));
  if (elector) steps.push({ name: 'release leader lease', run: () => elector.stop() });
  if (server) steps.push({ name: 'close HTTP server', run: () => server.close() });
  return steps;
}
