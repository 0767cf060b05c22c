// SPDX-License-Identifier: Apache-2.0
import { Flags } from '@oclif/core';
import { setTimeout as sleep } from 'node:timers/promises';
import { outputFlag } from '../../base-command.ts';
import { durationFlag } from '../../duration.ts';
import { UserError } from '../../errors.ts';
import type { FunctionObject } from '../../functions/read.ts';
import { ASCII_BAR, UNICODE_BAR } from '../../output/bar.ts';
import { renderLine, renderReport, renderSummary, rolloutReport } from '../../output/rollout-status.ts';
import { RolloutCommand, functionArg } from '../../rollout/command.ts';
import { evaluateRollout, type RolloutVerdict } from '../../rollout/evaluate.ts';

export default class RolloutStatus extends RolloutCommand<typeof RolloutStatus> {
  static override summary = 'Show a rollout’s progress; with --watch, wait until it completes or fails.';
  static override description = `Prints the revisions, the current step with a progress bar per step, device counts and devices by phase.

With --watch it keeps watching (a terminal redraws the summary; a pipe or CI log gets one line per change) and exits like \`kubectl rollout status\`: 0 once the rollout is complete (phase Ready, every selected device updated and ready, the latest generation observed), 1 when it fails (phase Degraded or Failed, Progressing=False with ProgressDeadlineExceeded or RolledBack, or a rollback) or when --timeout passes. Without --watch it prints the state once and exits 1 only if the rollout has failed.`;
  static override examples = [
    '<%= config.bin %> rollout status temp-alert -n plant-1',
    '<%= config.bin %> rollout status temp-alert --watch --timeout 10m',
    '<%= config.bin %> rollout status temp-alert -o json',
  ];
  static override args = functionArg;
  static override flags = {
    watch: Flags.boolean({ char: 'w', description: 'Keep watching until the rollout completes or fails.' }),
    timeout: Flags.string({
      description: 'With --watch: give up after this long, e.g. 5m (default: no limit).',
    }),
    interval: Flags.string({
      description: 'How often to re-read the function.',
      default: '500ms',
      hidden: true,
    }),
    output: outputFlag(['table', 'json', 'yaml']),
  };

  public async run(): Promise<void> {
    const { args } = await this.parse(RolloutStatus);
    const timeoutMs =
      this.flags.timeout === undefined ? undefined : durationFlag('timeout', this.flags.timeout);
    const intervalMs = durationFlag('interval', this.flags.interval);
    const format = this.flags.output as 'table' | 'json' | 'yaml';
    let fn = await this.readTarget(args.fn);
    if (!this.flags.watch) {
      const verdict = evaluateRollout(fn);
      process.stdout.write(
        format === 'table'
          ? renderSummary(fn, verdict, { chars: process.stdout.isTTY ? UNICODE_BAR : ASCII_BAR })
          : renderReport(rolloutReport(fn, verdict), format),
      );
      if (verdict.failed) throw this.failed(args.fn, verdict);
      return;
    }
    const deadline = timeoutMs === undefined ? Infinity : Date.now() + timeoutMs;
    const view = this.view(format);
    for (;;) {
      const verdict = evaluateRollout(fn);
      view(fn, verdict);
      if (verdict.done) return;
      if (verdict.failed) throw this.failed(args.fn, verdict);
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new UserError(
          `timed out after ${this.flags.timeout ?? ''} waiting for the rollout of "${args.fn}": ${verdict.message}`,
          {
            hint: `the rollout may still finish; check again with \`wasmfleet rollout status ${args.fn}${this.nsHint}\`, or raise --timeout`,
          },
        );
      }
      await sleep(Math.min(intervalMs, left));
      fn = await this.readTarget(args.fn);
    }
  }

  /** Draws each new state: a redrawn summary on a terminal, else one line (or document) per change. */
  private view(format: 'table' | 'json' | 'yaml'): (fn: FunctionObject, verdict: RolloutVerdict) => void {
    let last = '';
    let drawn = 0;
    const tty = process.stdout.isTTY && format === 'table';
    return (fn, verdict) => {
      let text: string;
      if (format !== 'table') {
        const report = renderReport(rolloutReport(fn, verdict), format, true);
        text = format === 'yaml' ? `---\n${report}` : report;
      } else if (tty) {
        text = renderSummary(fn, verdict, { chars: UNICODE_BAR });
      } else {
        if (verdict.failed) return; // the error on stderr says it
        text = `${renderLine(fn, verdict)}\n`;
      }
      if (text === last) return;
      last = text;
      // Move to the start of the previous frame and clear to the end of the screen.
      if (tty && drawn > 0) process.stdout.write(`\x1b[${drawn}F\x1b[J`);
      process.stdout.write(text);
      drawn = tty ? text.split('\n').length - 1 : 0;
    };
  }

  private failed(name: string, verdict: RolloutVerdict): UserError {
    return new UserError(verdict.message, {
      hint: `see why with \`wasmfleet describe function ${name}${this.nsHint}\`; go back with \`wasmfleet rollout undo ${name}${this.nsHint}\``,
    });
  }
}
