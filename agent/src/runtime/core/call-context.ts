// What one invocation accumulates inside the worker: the input topic, queued outputs, the error
// text a guest set, and its log lines. Reset before every call; all or nothing on failure.

export const MAX_OUTPUTS = 64;
export const MAX_OUTPUT_BYTES = 1024 * 1024;
const MAX_LOG_LINES = 32;
const MAX_LOG_LINE = 1024;

export interface LogLine {
  readonly level: number;
  readonly text: string;
}

export class CallContext {
  topic: Uint8Array = new Uint8Array(0);
  readonly outputs: { index: number; payload: Uint8Array }[] = [];
  outputBytes = 0;
  error: string | undefined;
  readonly logs: LogLine[] = [];
  droppedLogs = 0;

  reset(topic: Uint8Array): void {
    this.topic = topic;
    this.outputs.length = 0;
    this.outputBytes = 0;
    this.error = undefined;
    this.logs.length = 0;
    this.droppedLogs = 0;
  }

  /** Guests are rate-limited per call so a log flood cannot starve the agent. */
  log(level: number, text: string): void {
    if (this.logs.length >= MAX_LOG_LINES) {
      this.droppedLogs++;
      return;
    }
    this.logs.push({ level, text: text.length > MAX_LOG_LINE ? `${text.slice(0, MAX_LOG_LINE)}…` : text });
  }

  /** 0 queued, -2 limit reached (guest-abi.md). */
  emit(index: number, payload: Uint8Array): number {
    if (this.outputs.length >= MAX_OUTPUTS || this.outputBytes + payload.length > MAX_OUTPUT_BYTES) return -2;
    this.outputs.push({ index, payload: payload.slice() });
    this.outputBytes += payload.length;
    return 0;
  }
}
