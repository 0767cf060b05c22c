// SPDX-License-Identifier: Apache-2.0
// Reads the kube-apiserver's audit log (JSON lines): the API server's own record of who wrote
// what and when — evidence that does not depend on the operator telling the truth.
import { readFile } from 'node:fs/promises';

export interface AuditEvent {
  readonly verb: string;
  readonly requestURI: string;
  readonly userAgent?: string;
  readonly stage: string;
  readonly requestReceivedTimestamp: string;
  readonly stageTimestamp: string;
  readonly objectRef?: { resource?: string; namespace?: string; name?: string };
  readonly responseStatus?: { code?: number };
}

const WRITE_VERBS = new Set(['create', 'update', 'patch', 'delete', 'deletecollection']);

export async function readAudit(file: string): Promise<AuditEvent[]> {
  const text = await readFile(file, 'utf8');
  const events: AuditEvent[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const event = JSON.parse(line) as AuditEvent;
    if (event.stage === 'ResponseComplete') events.push(event);
  }
  return events;
}

export const isWrite = (e: AuditEvent): boolean => WRITE_VERBS.has(e.verb);

/** Microsecond timestamps as sortable numbers (Date.parse drops the microseconds). */
export function micros(timestamp: string): number {
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?Z$/.exec(timestamp);
  if (!m?.[1]) throw new Error(`not an audit timestamp: ${timestamp}`);
  return Date.parse(`${m[1]}Z`) * 1000 + Number((m[2] ?? '0').padEnd(6, '0').slice(0, 6));
}

export function describeEvent(e: AuditEvent): string {
  return `${e.requestReceivedTimestamp} ${e.verb} ${e.requestURI} → ${e.responseStatus?.code ?? '?'} (${e.userAgent ?? 'no user agent'})`;
}
