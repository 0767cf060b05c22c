// SPDX-License-Identifier: Apache-2.0
// Simulated sensors for `wasmfleet dev up`, `wasmfleet sim sensors` and the chart's simulated devices: realistic SenML temperature and humidity readings (a slow
// daily-ish drift, noise and the occasional spike that trips the alert and anomaly examples),
// and small camera frames (PPM) for the grayscale example.
import type { MqttClient } from 'mqtt';

export interface SensorPlan {
  readonly node: string;
  readonly kind: 'climate' | 'camera';
}

export function senml(node: string, name: string, unit: string, value: number, now: number): string {
  return JSON.stringify([
    { bn: `urn:dev:${node}:`, bt: now / 1000, n: name, u: unit, v: Math.round(value * 100) / 100 },
  ]);
}

/** A 16×12 PPM (P6) frame with a moving gradient, so the grayscale output changes over time. */
export function ppmFrame(tick: number): Buffer {
  const width = 16;
  const height = 12;
  const header = Buffer.from(`P6\n${width} ${height}\n255\n`, 'ascii');
  const pixels = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      pixels[i] = (x * 16 + tick * 8) & 255;
      pixels[i + 1] = (y * 20) & 255;
      pixels[i + 2] = (128 + tick * 4) & 255;
    }
  }
  return Buffer.concat([header, pixels]);
}

/** Starts publishing; returns a function that stops it. */
export function startSensors(
  client: MqttClient,
  plans: readonly SensorPlan[],
  intervalMs = 1000,
): () => void {
  let tick = 0;
  const timer = setInterval(() => {
    tick++;
    const now = Date.now();
    for (const [i, plan] of plans.entries()) {
      if (plan.kind === 'camera') {
        if (tick % 2 === 0) client.publish(`cameras/${plan.node}/frame`, ppmFrame(tick), { qos: 1 });
        continue;
      }
      // Around 24 °C, drifting, with a spike above the 30 °C threshold every ~20 s per device.
      const spike = (tick + i * 7) % 20 === 0 ? 9 + Math.random() * 3 : 0;
      const temperature = 24 + 2 * Math.sin((tick + i * 10) / 15) + (Math.random() - 0.5) * 0.6 + spike;
      const humidity = 45 + 5 * Math.cos((tick + i * 5) / 25) + (Math.random() - 0.5);
      client.publish(
        `sensors/${plan.node}/temperature`,
        senml(plan.node, 'temperature', 'Cel', temperature, now),
        { qos: 1 },
      );
      client.publish(`sensors/${plan.node}/humidity`, senml(plan.node, 'humidity', '%RH', humidity, now), {
        qos: 1,
      });
    }
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
