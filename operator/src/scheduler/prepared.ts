// SPDX-License-Identifier: Apache-2.0
// Per-object facts the scheduler needs over and over (sensor sets, validation, descriptions),
// computed once per input object. The caches are keyed by object identity in WeakMaps, so an
// incremental run reuses them for every node and function that did not change.
import { compileSelector, describeSelector, selectorError, type LabelMatcher } from './selector.ts';
import type { SchedulableFunction, SchedulableNode } from './types.ts';

export interface PreparedNode {
  readonly node: SchedulableNode;
  readonly sensors: ReadonlySet<string>;
}

export interface PreparedFunction {
  readonly fn: SchedulableFunction;
  readonly matches: LabelMatcher;
  /** Number of replicas wanted (Replicas mode); 0 for Every. */
  readonly replicas: number;
  /** Why the spec cannot be scheduled at all; such a function is placed nowhere. */
  readonly error?: string;
  /** "selector site=plant-1 with sensor temperature", for reasons. */
  readonly target: string;
}

const nodeCache = new WeakMap<SchedulableNode, PreparedNode>();
const functionCache = new WeakMap<SchedulableFunction, PreparedFunction>();

export function prepareNode(node: SchedulableNode): PreparedNode {
  let prepared = nodeCache.get(node);
  if (prepared === undefined) {
    prepared = { node, sensors: new Set(node.sensors) };
    nodeCache.set(node, prepared);
  }
  return prepared;
}

function describeTarget(fn: SchedulableFunction): string {
  const selector = describeSelector(fn.selector);
  const sensors = [...new Set(fn.sensors)].sort();
  const sensorText =
    sensors.length === 0 ? '' : `sensor${sensors.length > 1 ? 's' : ''} ${sensors.join(', ')}`;
  if (selector === '' && sensorText === '') return 'any node';
  if (selector === '') return `with ${sensorText}`;
  return sensorText === '' ? `selector ${selector}` : `selector ${selector} with ${sensorText}`;
}

function specError(fn: SchedulableFunction): string | undefined {
  if (!Number.isFinite(fn.memoryBytes) || fn.memoryBytes < 0) return 'memory must be a non-negative number';
  if (fn.mode === 'Replicas') {
    const replicas = fn.replicas ?? 1;
    if (!Number.isInteger(replicas) || replicas < 0) return 'replicas must be a non-negative integer';
  }
  return selectorError(fn.selector);
}

export function prepareFunction(fn: SchedulableFunction): PreparedFunction {
  let prepared = functionCache.get(fn);
  if (prepared === undefined) {
    const error = specError(fn);
    const replicas = fn.mode === 'Replicas' && error === undefined ? (fn.replicas ?? 1) : 0;
    prepared = {
      fn,
      matches: compileSelector(fn.selector),
      replicas,
      target: describeTarget(fn),
      ...(error === undefined ? {} : { error }),
    };
    functionCache.set(fn, prepared);
  }
  return prepared;
}
