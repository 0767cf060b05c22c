// SPDX-License-Identifier: Apache-2.0
// Structured logs and redaction, shared by the operator, the agent and the CLI (docs/adr/0035).
export {
  createLogger,
  silentLogger,
  type LogFields,
  type LogFormat,
  type Logger,
  type LoggerOptions,
  type LogLevel,
} from './logger.ts';
export { parseLogSettings, type LogSettings } from './log-options.ts';
export { brokerForLogs, redactLine, redactUrl, urlForLogs } from './redact.ts';
