// SPDX-License-Identifier: Apache-2.0
// Colours that respect NO_COLOR, FORCE_COLOR and whether stdout is a terminal — node's
// util.styleText checks all three when it is given the stream. A non-empty NO_COLOR wins even
// over FORCE_COLOR (no-color.org), where node would let FORCE_COLOR win.
import { styleText } from 'node:util';

type Style = Parameters<typeof styleText>[0];

export function noColor(env: NodeJS.ProcessEnv = process.env): boolean {
  return (env.NO_COLOR ?? '') !== '';
}

function paint(format: Style, text: string, stream: NodeJS.WriteStream = process.stdout): string {
  if (noColor()) return text;
  return styleText(format, text, { stream, validateStream: true });
}

export const style = {
  bold: (text: string) => paint('bold', text),
  dim: (text: string) => paint('dim', text),
  ok: (text: string) => paint('green', text),
  warn: (text: string) => paint('yellow', text),
  bad: (text: string) => paint('red', text),
  errorLabel: (text: string) => paint(['bold', 'red'], text, process.stderr),
  hint: (text: string) => paint('cyan', text, process.stderr),
};

/** Colours a phase/status word by what it means to an operator. */
export function phaseColour(phase: string): string {
  if (/^(Ready|Running|Online|Healthy|True|Complete|Succeeded)$/i.test(phase)) return style.ok(phase);
  if (/^(Failed|Offline|Degraded|CrashLoopBackOff|Error|False)$/i.test(phase)) return style.bad(phase);
  if (/^(Progressing|Pending|Paused|Unknown|Fetching|Starting|Backoff)$/i.test(phase))
    return style.warn(phase);
  return phase;
}
