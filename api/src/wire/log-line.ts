// SPDX-License-Identifier: Apache-2.0
// A function log line on wasmfleet/v1/logs/<namespace>/<function>/<node> (QoS 0, not retained).
import Type, { type Static } from 'typebox';

export const LogLine = Type.Object(
  {
    version: Type.Literal(1),
    ts: Type.String({ format: 'date-time' }),
    level: Type.Union([
      Type.Literal('debug'),
      Type.Literal('info'),
      Type.Literal('warn'),
      Type.Literal('error'),
    ]),
    namespace: Type.String(),
    name: Type.String(),
    node: Type.String(),
    revision: Type.String(),
    text: Type.String({ maxLength: 4096 }),
  },
  {
    additionalProperties: false,
    $id: 'https://wasmfleet.io/schemas/wire/v1/log-line.json',
    title: 'WasmFleet log line v1',
  },
);
export type LogLine = Static<typeof LogLine>;
