// SPDX-License-Identifier: Apache-2.0
// The README's first hour, walked the way a new user walks it (issue 14): `scripts/dev-up
// --detach`, then every command of the Quick start, then every example of every command's
// --help, each typed into bash against that one stack, with the shape of what it prints checked,
// not only its exit code. Each part was tested on its own before, and `describe` still crashed on
// the first Event a real operator wrote; here a command that crashes, prints nothing useful or
// has an example that does not work fails the suite.
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ensureBuilt } from '@wasmfleet/workloads';
import {
  HELP_EXAMPLES,
  stopExampleServices,
  type JourneyContext,
  type RunnableExample,
} from './help-examples.ts';
import { README_CHECKS, readmeCommands } from './readme-checks.ts';
import { REPO_ROOT, sh, shown } from './helpers/shell.ts';
import { coolDown, hotReadings, stackStatus, userEnv, waitForStack } from './helpers/stack.ts';

/** 3 climate devices and a camera: what the README's `scripts/dev-up` starts. */
const DEVICES = 4;

describe('the README, walked by a new user against scripts/dev-up', { timeout: 30 * 60_000 }, () => {
  let ctx: JourneyContext;

  before(async () => {
    const devDir = await mkdtemp(path.join(tmpdir(), 'wasmfleet-journey-dev-'));
    const work = await mkdtemp(path.join(tmpdir(), 'wasmfleet-journey-work-'));
    const env = userEnv(devDir);
    // The README's first command, in the background, on a free broker port (tests run side by side).
    const up = await sh('scripts/dev-up --detach --broker-port 0', { env, timeoutMs: 25 * 60_000 });
    assert.equal(up.code, 0, shown(up));
    await waitForStack(env, DEVICES);
    const { broker, kubeconfig } = await stackStatus(env);
    ctx = {
      env,
      work,
      devDir,
      broker,
      kubeconfig,
      run: (line, options = {}) => sh(line, { env, cwd: work, ...options }),
    };
    await filesAUserHas(work);
  });

  after(async () => {
    await stopExampleServices();
    const started = ctx as JourneyContext | undefined; // unset when before() failed
    if (!started) return;
    await sh('wasmfleet dev down', { env: started.env });
    await rm(started.work, { recursive: true, force: true });
    await rm(started.devDir, { recursive: true, force: true });
  });

  it('every command of the Quick start works and prints what it promises (describe shows Events)', async () => {
    const lines = readmeCommands(await readFile(path.join(REPO_ROOT, 'README.md'), 'utf8'));
    assert.ok(lines.length >= 10, `the Quick start shows only ${lines.length} commands`);
    const state: string[] = []; // export/eval lines carry over, as in one shell
    for (const line of lines) {
      if (/^scripts\/(dev-up|test)\b/.test(line)) continue; // dev-up: before(); test: this suite
      const check = README_CHECKS.find((c) => c.match.test(line));
      assert.ok(
        check,
        `no check for the README command \`${line}\`: add one to test/journey/readme-checks.ts`,
      );
      const stop = check.hot ? await hotReadings(ctx.broker, 'dev-sensor-1') : undefined;
      if (check.cool) await coolDown(ctx.broker, 'dev-sensor-1');
      const r = await sh([...state, line].join('\n'), {
        env: ctx.env,
        cwd: REPO_ROOT,
        interruptWhen: check.interruptWhen,
        timeoutMs: 10 * 60_000,
      }).finally(() => stop?.());
      check.check(r);
      if (/^(export|eval) /.test(line)) state.push(line);
    }
  });

  it('a second dev up in the same directory is refused, naming how to run one beside it, and the first stack keeps running', async () => {
    const second = await sh('scripts/dev-up --detach --broker-port 0', { env: ctx.env, cwd: REPO_ROOT });
    assert.equal(second.code, 1, shown(second));
    assert.match(
      second.stderr,
      /^error: a dev stack is already running from .*state\.json \(pid \d+, broker mqtt:/m,
    );
    assert.match(second.stderr, /WASMFLEET_DEV_DIR=~\/\.wasmfleet\/dev-2 wasmfleet dev up --broker-port 0/);
    const status = await ctx.run('wasmfleet dev status -o json');
    assert.equal(status.code, 0, shown(status));
    assert.equal((JSON.parse(status.stdout) as { kubeconfig: string }).kubeconfig, ctx.kubeconfig);
  });

  it('every example in every command’s --help is accounted for here', async () => {
    const shownExamples = await examplesInHelp(ctx);
    const known = Object.keys(HELP_EXAMPLES);
    assert.deepEqual(
      shownExamples.filter((e) => !known.includes(e)),
      [],
      'examples in --help that the journey does not run: add them to test/journey/help-examples.ts',
    );
    assert.deepEqual(
      known.filter((e) => !shownExamples.includes(e)),
      [],
      'examples the journey runs that no --help shows any more: remove them',
    );
  });

  it('every --help example runs against the stack and prints what it promises', async () => {
    const failures: string[] = [];
    for (const [example, run] of Object.entries(HELP_EXAMPLES)) {
      if ('coveredBy' in run) continue;
      const error = await runExample(ctx, example, run).then(
        () => undefined,
        (e: unknown) => (e instanceof Error ? e.message : String(e)),
      );
      if (error) failures.push(`${example}\n${error}`);
    }
    assert.deepEqual(failures, []);
  });
});

async function runExample(ctx: JourneyContext, example: string, run: RunnableExample): Promise<void> {
  await run.before?.(ctx);
  if (run.cool) await coolDown(ctx.broker, run.cool);
  const stop = run.hot ? await hotReadings(ctx.broker, run.hot) : undefined;
  try {
    const line = typeof run.line === 'function' ? run.line(ctx) : (run.line ?? example);
    const r = await ctx.run(line, {
      ...(run.stdin === undefined ? {} : { stdin: run.stdin }),
      ...(run.interruptWhen === undefined ? {} : { interruptWhen: run.interruptWhen }),
      ...(run.interruptAfterMs === undefined ? {} : { interruptAfterMs: run.interruptAfterMs }),
      timeoutMs: 10 * 60_000,
    });
    run.check(r, ctx);
  } finally {
    await stop?.();
  }
}

/** Each command's examples, as its --help prints them (`$ wasmfleet …` lines). */
async function examplesInHelp(ctx: JourneyContext): Promise<string[]> {
  const root = await ctx.run('wasmfleet --help');
  assert.equal(root.code, 0, shown(root));
  const latest = JSON.parse(await readFile(path.join(REPO_ROOT, 'cli/dist/latest.json'), 'utf8')) as {
    id: string;
  };
  const manifest = JSON.parse(
    await readFile(path.join(REPO_ROOT, 'cli/dist', latest.id, 'oclif.manifest.json'), 'utf8'),
  ) as { commands: Record<string, { hidden?: boolean }> };
  const examples: string[] = [];
  for (const [id, command] of Object.entries(manifest.commands)) {
    if (command.hidden) continue;
    const help = await ctx.run(`wasmfleet ${id.replaceAll(':', ' ')} --help`);
    assert.equal(help.code, 0, shown(help));
    assert.match(help.stdout, /^USAGE$/m, `wasmfleet ${id} --help has no USAGE`);
    // oclif shows an example that starts with the command as `$ wasmfleet …`, any other as it is.
    const section = help.stdout.split(/^EXAMPLES$/m)[1]?.split(/^\S/m)[0] ?? '';
    for (const m of section.matchAll(/^ {2}(?:\$ )?(\S.*)$/gm)) if (m[1]) examples.push(m[1].trimEnd());
  }
  return examples;
}

/** What the examples take for granted in the user's folder: manifests, a module, a key. */
async function filesAUserHas(work: string): Promise<void> {
  const examples = path.join(REPO_ROOT, 'workloads/examples');
  await copyFile(path.join(examples, 'temp-alert/function.yaml'), path.join(work, 'temp-alert.yaml'));
  await copyFile(path.join(examples, 'grayscale/function.yaml'), path.join(work, 'f.yaml'));
  await mkdir(path.join(work, 'functions'));
  for (const name of ['temp-alert', 'anomaly-zscore', 'grayscale'])
    await copyFile(path.join(examples, name, 'function.yaml'), path.join(work, 'functions', `${name}.yaml`));
  await copyFile(await ensureBuilt('temp-alert'), path.join(work, 'temp-alert.wasm'));
  const key = await sh('openssl genpkey -algorithm ed25519 -out ci.pem', { env: process.env, cwd: work });
  assert.equal(key.code, 0, shown(key));
}
