// SPDX-License-Identifier: Apache-2.0
// Kubernetes label-selector semantics: matchLabels and matchExpressions are ANDed; an empty
// selector matches every node; NotIn and DoesNotExist also match nodes that lack the label.
import type { LabelSelector, SelectorRequirement } from './types.ts';

type Labels = Readonly<Record<string, string>>;

function has(labels: Labels, key: string): boolean {
  return Object.hasOwn(labels, key);
}

function requirementHolds(req: SelectorRequirement, labels: Labels): boolean {
  const values = req.values ?? [];
  switch (req.operator) {
    case 'In':
      return has(labels, req.key) && values.includes(labels[req.key] ?? '');
    case 'NotIn':
      return !has(labels, req.key) || !values.includes(labels[req.key] ?? '');
    case 'Exists':
      return has(labels, req.key);
    case 'DoesNotExist':
      return !has(labels, req.key);
  }
}

export type LabelMatcher = (labels: Labels) => boolean;

/** A matcher with the selector's entries unpacked once: it runs millions of times per full run. */
export function compileSelector(selector: LabelSelector): LabelMatcher {
  const pairs = Object.entries(selector.matchLabels ?? {});
  const expressions = selector.matchExpressions ?? [];
  return (labels) => {
    for (const [key, value] of pairs) if (labels[key] !== value || !has(labels, key)) return false;
    for (const req of expressions) if (!requirementHolds(req, labels)) return false;
    return true;
  };
}

export function matchesSelector(selector: LabelSelector, labels: Labels): boolean {
  return compileSelector(selector)(labels);
}

/** The API server would reject these; the scheduler reports them instead of guessing. */
export function selectorError(selector: LabelSelector): string | undefined {
  for (const req of selector.matchExpressions ?? []) {
    const count = req.values?.length ?? 0;
    if ((req.operator === 'In' || req.operator === 'NotIn') && count === 0) {
      return `selector expression on "${req.key}": ${req.operator} needs at least one value`;
    }
    if ((req.operator === 'Exists' || req.operator === 'DoesNotExist') && count > 0) {
      return `selector expression on "${req.key}": ${req.operator} takes no values`;
    }
  }
  return undefined;
}

function describeRequirement(req: SelectorRequirement): string {
  const values = (req.values ?? []).join(',');
  switch (req.operator) {
    case 'In':
      return `${req.key} in (${values})`;
    case 'NotIn':
      return `${req.key} notin (${values})`;
    case 'Exists':
      return req.key;
    case 'DoesNotExist':
      return `!${req.key}`;
  }
}

/** kubectl's selector syntax, e.g. `site=plant-1,tier in (a,b),!gpu`; empty when it selects all. */
export function describeSelector(selector: LabelSelector): string {
  const parts = Object.entries(selector.matchLabels ?? {})
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`);
  for (const req of selector.matchExpressions ?? []) parts.push(describeRequirement(req));
  return parts.join(',');
}
