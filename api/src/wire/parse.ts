// SPDX-License-Identifier: Apache-2.0
// Decoding wire documents: JSON text → a typed document, or errors that name the field.
// One compiled validator per schema; the same schemas are published as JSON Schema.
import { Compile } from 'typebox/compile';
import type { TSchema, Static } from 'typebox';
import { DesiredState } from './desired.ts';
import { JoinRequest, JoinResult, SealedJoinResponse } from './join.ts';
import { AgentTarget } from './agent-target.ts';
import { LogLine } from './log-line.ts';
import { NodeStatus } from './status.ts';

export type Parsed<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly errors: readonly string[] };

/**
 * One decoder for every message: `decode` without `stream` keeps no state between calls, and a
 * decoder made per message was garbage on every device report the operator reads (issue 18).
 */
const utf8 = new TextDecoder('utf-8', { fatal: true });

function parser<S extends TSchema>(
  schema: S,
  what: string,
): (payload: Uint8Array | string) => Parsed<Static<S>> {
  const check = Compile(schema);
  return (payload) => {
    let value: unknown;
    try {
      const text = typeof payload === 'string' ? payload : utf8.decode(payload);
      value = JSON.parse(text);
    } catch (error) {
      return { ok: false, errors: [`${what} is not valid UTF-8 JSON: ${(error as Error).message}`] };
    }
    if (check.Check(value)) return { ok: true, value };
    const errors = [...check.Errors(value)]
      .slice(0, 10)
      .map((e) => `${what}${e.instancePath || ''}: ${e.message}`);
    return { ok: false, errors };
  };
}

export const parseDesiredState = parser(DesiredState, 'desired state');
export const parseNodeStatus = parser(NodeStatus, 'node status');
export const parseLogLine = parser(LogLine, 'log line');
/** A parser compiled on its first use: a running agent never joins, and validators cost memory. */
function lazyParser<S extends TSchema>(
  schema: S,
  what: string,
): (payload: Uint8Array | string) => Parsed<Static<S>> {
  let parse: ((payload: Uint8Array | string) => Parsed<Static<S>>) | undefined;
  return (payload) => (parse ??= parser(schema, what))(payload);
}
export const parseJoinRequest = lazyParser(JoinRequest, 'join request');
export const parseAgentTarget = lazyParser(AgentTarget, 'agent target');
export const parseSealedJoinResponse = lazyParser(SealedJoinResponse, 'join response');
/** A JoinResult from the JSON openJoinResult gives (it arrives sealed). */
export const parseJoinResult = lazyParser(JoinResult, 'join result');
