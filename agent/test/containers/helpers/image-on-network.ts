// SPDX-License-Identifier: Apache-2.0
// What both agent images' tests stand on: the image under test built or loaded (never pulled), a
// network of their own, Mosquitto on it as `broker` (the name the agent dials), and an MQTT client
// from this host to publish desired documents and read outputs. close() undoes it in reverse.
import type { MqttClient } from 'mqtt';
import type { StartedNetwork } from 'testcontainers';
import {
  ensureContainerImages,
  MOSQUITTO_IMAGE,
  type ContainerEngine,
  type ImageName,
} from '@wasmfleet/test-support/containers';
import { connect } from '../../helpers/fleet.ts';

export interface ImageOnNetwork {
  /** The tag of the image under test. */
  readonly image: string;
  readonly network: StartedNetwork;
  /** Connected to the broker from this host. */
  readonly control: MqttClient;
  /** Undone by close(), last first: containers a test starts add their stop here. */
  readonly cleanups: (() => Promise<unknown>)[];
  close(): Promise<void>;
}

export async function startImageOnNetwork(engine: ContainerEngine, name: ImageName): Promise<ImageOnNetwork> {
  process.env.TESTCONTAINERS_RYUK_DISABLED = 'true';
  process.env.DOCKER_HOST ??= `unix://${engine.socket}`;
  const [built] = await ensureContainerImages([name, 'mosquitto'], { tag: 'e2e' });
  const cleanups: (() => Promise<unknown>)[] = [];
  const close = async (): Promise<void> => {
    for (const cleanup of cleanups.reverse())
      await cleanup().catch((error: unknown) => console.error('cleanup:', error));
  };
  try {
    const { GenericContainer, Network, Wait } = await import('testcontainers');
    const network = await new Network().start();
    cleanups.push(() => network.stop());
    const broker = await new GenericContainer(MOSQUITTO_IMAGE)
      .withNetwork(network)
      .withNetworkAliases('broker')
      .withExposedPorts(1883)
      .withCopyContentToContainer([
        { content: 'listener 1883\nallow_anonymous true\n', target: '/mosquitto/config/mosquitto.conf' },
      ])
      .withWaitStrategy(Wait.forLogMessage(/mosquitto version .* running/))
      .start();
    cleanups.push(() => broker.stop());
    const control = await connect(`mqtt://localhost:${broker.getMappedPort(1883)}`);
    cleanups.push(() => control.endAsync());
    return { image: built!.tag, network, control, cleanups, close };
  } catch (error) {
    await close();
    throw error;
  }
}
