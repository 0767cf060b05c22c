// SPDX-License-Identifier: Apache-2.0
// The sensors a device reports in its status: the ones configured with --sensors plus the ones
// learned from the topics its functions receive (the last topic level names the sensor). A
// wildcard input over an open topic space could otherwise teach the agent any number of names
// of any length, and one name the wire schema refuses makes every status document invalid — the
// operator would then see a healthy device go stale (found by fuzzing, seed 265485342). So only
// names and topics that fit the status schema are learned, and at most MAX_SENSORS in total.

/** The status schema's bounds (api/src/wire/status.ts, SensorReport and NodeStatus.sensors). */
export const MAX_SENSORS = 128;
export const MAX_SENSOR_NAME_LENGTH = 63;
export const MAX_SENSOR_TOPIC_LENGTH = 1024;

export interface SensorEntry {
  readonly name: string;
  readonly topic?: string;
  readonly lastSeen?: string;
}

/** The sensor a topic names: its last level. */
export function sensorName(topic: string): string {
  return topic.slice(topic.lastIndexOf('/') + 1);
}

/** Why a configured sensor name cannot be reported, or undefined when it can. */
export function sensorNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'a sensor name must not be empty';
  if (name.length > MAX_SENSOR_NAME_LENGTH)
    return `sensor name "${name.slice(0, 20)}…" has ${name.length} characters; the most is ${MAX_SENSOR_NAME_LENGTH}`;
  return undefined;
}

export class SensorRegistry {
  readonly #configured: readonly string[];
  readonly #learned = new Map<string, { topic: string; lastSeen: number }>();
  /** Names not learned because they do not fit, or because the registry is full. */
  #skipped = 0;
  readonly #warned = new Set<'misfit' | 'full'>();

  constructor(configured: readonly string[] = []) {
    this.#configured = configured.slice(0, MAX_SENSORS);
  }

  /**
   * Records that `topic` delivered a message at `now` (ms). Cheap on the hot path: one map lookup
   * (the agent passes the name it derived once per topic). Returns a line to log the first time
   * a sensor of each kind cannot be learned (never again).
   */
  seen(topic: string, now: number, name = sensorName(topic)): string | undefined {
    const known = this.#learned.get(name);
    if (known) {
      known.topic = topic;
      known.lastSeen = now;
      return undefined;
    }
    const problem =
      name.length === 0 || name.length > MAX_SENSOR_NAME_LENGTH || topic.length > MAX_SENSOR_TOPIC_LENGTH
        ? 'misfit'
        : // First come, first kept: a stable list is worth more than the newest stranger.
          this.#learned.size + this.#configured.length >= MAX_SENSORS
          ? 'full'
          : undefined;
    if (!problem) {
      this.#learned.set(name, { topic, lastSeen: now });
      return undefined;
    }
    this.#skipped++;
    if (this.#warned.has(problem)) return undefined;
    this.#warned.add(problem);
    const shown = topic.length > 80 ? `${topic.slice(0, 80)}…` : topic;
    return problem === 'full'
      ? `not reporting the sensor of ${shown}: the status lists at most ${MAX_SENSORS} sensors (its messages are still processed; this is said once)`
      : `not reporting the sensor of ${shown}: a sensor is named by the last topic level, which must have 1 to ${MAX_SENSOR_NAME_LENGTH} characters in a topic of at most ${MAX_SENSOR_TOPIC_LENGTH} (its messages are still processed; this is said once)`;
  }

  /** Messages whose sensor could not be learned (too long, or the list full). */
  get skipped(): number {
    return this.#skipped;
  }

  report(): SensorEntry[] {
    const sensors = new Map<string, SensorEntry>();
    for (const name of this.#configured) sensors.set(name, { name });
    for (const [name, s] of this.#learned)
      sensors.set(name, { name, topic: s.topic, lastSeen: new Date(s.lastSeen).toISOString() });
    return [...sensors.values()].slice(0, MAX_SENSORS);
  }
}
