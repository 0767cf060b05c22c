// SPDX-License-Identifier: Apache-2.0
// What `wasmfleet invoke` publishes and listens to, worked out from the function's spec: the
// input topic (with {node} expanded), the output topics, and a payload the function will accept.
// Pure.
import { expandNode, topicMatches, type Input, type Output } from '@wasmfleet/api';
import { UserError } from '../errors.ts';

export interface InvokePlan {
  readonly inputTopic: string;
  readonly qos: 0 | 1;
  readonly outputTopics: readonly string[];
}

export function planInvoke(
  fn: { readonly name: string; readonly inputs: readonly Input[]; readonly outputs: readonly Output[] },
  node: string,
  inputTopic: string | undefined,
): InvokePlan {
  if (fn.outputs.length === 0) {
    throw new UserError(`"${fn.name}" declares no outputs, so there is nothing to wait for`, {
      hint: `see what it does with \`wasmfleet logs ${fn.name} --node ${node} -f\``,
    });
  }
  const filters = fn.inputs.map((i) => ({ input: i, filter: expandNode(i.topic, node) }));
  const outputTopics = fn.outputs.map((o) => expandNode(o.topic, node));
  if (inputTopic !== undefined) {
    if (/[+#]/.test(inputTopic)) {
      throw new UserError(
        `--input-topic ${inputTopic} has a wildcard; a message is published to one concrete topic`,
        {
          hint: 'replace + and # with real topic levels',
        },
      );
    }
    const match = filters.find((f) => topicMatches(f.filter, inputTopic));
    if (!match) {
      throw new UserError(
        `--input-topic ${inputTopic} matches none of the inputs of "${fn.name}" on ${node}`,
        {
          hint: `its inputs: ${filters.map((f) => f.filter).join(', ')}`,
        },
      );
    }
    return { inputTopic, qos: match.input.qos ?? 1, outputTopics };
  }
  const first = filters[0];
  if (!first)
    throw new UserError(`"${fn.name}" declares no inputs`, { hint: 'add spec.inputs to the function' });
  if (/[+#]/.test(first.filter)) {
    throw new UserError(
      `the input filter ${first.filter} has wildcards, so it names no single topic to publish to`,
      {
        hint: `pass --input-topic with a topic it matches, e.g. --input-topic ${example(first.filter)}`,
      },
    );
  }
  return { inputTopic: first.filter, qos: first.input.qos ?? 1, outputTopics };
}

/** The payload format of the input a topic goes to. */
export function formatFor(inputs: readonly Input[], node: string, topic: string): Input['format'] {
  return inputs.find((i) => topicMatches(expandNode(i.topic, node), topic))?.format ?? 'raw';
}

/** Refuses payloads the agent would count as malformed and never pass to the function. */
export function checkPayload(payload: string, format: Input['format']): void {
  if (format !== 'json' && format !== 'senml') return;
  let value: unknown;
  try {
    value = JSON.parse(payload);
  } catch (error) {
    throw new UserError(`the input takes ${format} but --payload is not JSON: ${(error as Error).message}`, {
      hint:
        format === 'senml'
          ? `write a SenML array, e.g. --payload '[{"n":"temperature","u":"Cel","v":31.5}]'`
          : `write JSON, e.g. --payload '{"value": 31.5}'`,
    });
  }
  if (format === 'senml' && !Array.isArray(value)) {
    throw new UserError('the input takes SenML, which is a JSON array of records', {
      hint: `e.g. --payload '[{"n":"temperature","u":"Cel","v":31.5}]'`,
    });
  }
}

function example(filter: string): string {
  return filter
    .split('/')
    .map((level) => (level === '+' ? 'x' : level === '#' ? 'x' : level))
    .join('/');
}
