// SPDX-License-Identifier: Apache-2.0
// Markdown tables of a fleet benchmark run, one per fleet size, with the CPU model named.
import { cpus } from 'node:os';
import type { CliView } from './measure/cli-view.ts';
import type { ScenarioResult } from './scenario.ts';

const MiB = 1024 * 1024;
const mib = (bytes: number | undefined) => ((bytes ?? 0) / MiB).toFixed(0);
const short: Record<string, string> = {
  'edgenodes/status': 'EN status',
  edgenodes: 'EN',
  'wasmfunctions/status': 'WF status',
  wasmfunctions: 'WF',
  controllerrevisions: 'revisions',
};

export function machine(): string {
  return `${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, Node ${process.version}`;
}

export function table(r: ScenarioResult): string {
  const lines = [
    `\n${r.devices.toLocaleString('en')} devices (${r.perLink === 1 ? 'one MQTT connection each' : `${r.perLink} per MQTT connection`}); ${machine()}\n`,
    '| phase | s | API writes | by resource | operator CPU-s | operator peak RSS MiB | operator heap used / live MiB | broker peak RSS MiB | apiserver+etcd peak RSS MiB | MQTT msgs in / out |',
    '|---|---:|---:|---|---:|---:|---:|---:|---:|---:|',
  ];
  for (const p of r.phases) {
    const by = [...p.writesByResource].map(([k, v]) => `${short[k] ?? k} ${v}`).join(', ');
    lines.push(
      `| ${p.name} | ${(p.ms / 1000).toFixed(2)} | ${p.writes}${p.stillWriting ? '+' : ''} | ${by} | ${(p.cpuSeconds.get('operator') ?? 0).toFixed(1)} | ${mib(p.peakRss.get('operator'))} | ${mib(p.operatorHeapUsed)} / ${mib(p.operatorHeapLive)} | ${mib(p.peakRss.get('broker'))} | ${mib(p.peakRss.get('kube-apiserver+etcd'))} | ${p.mqttReceived} / ${p.mqttSent} |`,
    );
  }
  if (r.cli) lines.push(cliLine(r.cli));
  lines.push(
    `\nRetained on the broker under wasmfleet/: ${r.retained.messages.toLocaleString('en')} messages, ${(r.retained.bytes / MiB).toFixed(1)} MiB.`,
  );
  return lines.join('\n');
}

function cliLine(v: CliView): string {
  const cost = v.commands
    .map(
      (c) =>
        `\`${c.args}\` ${c.seconds.toFixed(1)} s, ${c.cpuSeconds.toFixed(1)} CPU-s, ${mib(c.peakRssBytes)} MiB${c.exitCode === 0 ? '' : ` (exit ${c.exitCode})`}`,
    )
    .join('; ');
  return [
    `\nCLI: \`get nodes --broker\` printed ${v.rows.toLocaleString('en')} rows, ${v.rowsWithDetail.toLocaleString('en')} with FUNCTIONS and LAST-SEEN${v.note ? ` (it said: ${v.note})` : ''};`,
    `\`describe node --broker\` shows the function: ${v.nodeShowsFunction ? 'yes' : 'NO'}; \`describe function\` lists devices: ${v.functionListsDevices ? 'yes' : 'NO'}. ${cost}.`,
  ].join(' ');
}
