// SPDX-License-Identifier: Apache-2.0
// For the deliberately broken runtimes the kit's tests run: the real agent, with one behaviour
// changed from outside by intercepting how it hands mqtt.js its message handler. Test fixtures
// only; nothing here is used by the kit or the agent.
import { MqttClient, type IPublishPacket } from 'mqtt';

export type MessageHandler = (packet: IPublishPacket, callback: (error?: Error) => void) => void;

/**
 * Every MqttClient's `handleMessage`, as the agent assigns it, goes through `wrap` first. An
 * accessor on the prototype catches the assignment the agent makes on each new client.
 */
export function interceptHandleMessage(
  wrap: (client: MqttClient, handler: MessageHandler) => MessageHandler,
): void {
  const wrapped = new WeakMap<MqttClient, MessageHandler>();
  const original = Object.getOwnPropertyDescriptor(MqttClient.prototype, 'handleMessage')
    ?.value as MessageHandler;
  Object.defineProperty(MqttClient.prototype, 'handleMessage', {
    configurable: true,
    get(this: MqttClient): MessageHandler {
      return wrapped.get(this) ?? original;
    },
    set(this: MqttClient, handler: MessageHandler) {
      wrapped.set(this, wrap(this, handler));
    },
  });
}

/** Runs the agent's own program (its TypeScript entry) with the process's arguments. */
export async function runAgent(): Promise<void> {
  await import('../../../agent/bin/wasmfleet-agent.ts');
}
