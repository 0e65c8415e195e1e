/**
 * A Contributor Insights rule of a synthesized template, and the contributors it would count among log
 * events, as the rule syntax defines them ("Contributor Insights rule syntax", CloudWatch user guide):
 * keys and filters are JSON paths (`$.a.b`), every filter must hold, In and NotIn compare a present field
 * with a list of strings. Only the operators the construct uses are modelled; any other one throws.
 */
import type { Template } from 'aws-cdk-lib/assertions';

export interface RuleFilter {
  readonly Match: string;
  readonly In?: readonly unknown[];
  readonly NotIn?: readonly unknown[];
}

export interface RuleBody {
  readonly Schema: unknown;
  readonly LogGroupNames: readonly string[];
  readonly LogFormat: string;
  readonly Contribution: { readonly Keys: readonly string[]; readonly Filters: readonly RuleFilter[] };
  readonly AggregateOn: string;
}

/** The only InsightRule of the template: its properties, and its body with each `{ Ref }` as `<ref:Id>`. */
export function insightRuleOf(template: Template) {
  const rules = Object.values(template.findResources('AWS::CloudWatch::InsightRule'));
  if (rules.length !== 1) throw new Error(`expected one InsightRule, found ${rules.length}`);
  const properties = rules[0]!['Properties'];
  const parts = properties.RuleBody['Fn::Join'][1] as (string | { Ref: string })[];
  const text = parts.map((part) => (typeof part === 'string' ? part : `<ref:${part.Ref}>`)).join('');
  return { properties, body: JSON.parse(text) as RuleBody };
}

/** A JSON path of the rule syntax read from one log event. */
export function valueAt(event: Record<string, unknown>, path: string): unknown {
  if (!path.startsWith('$.')) throw new Error(`not a JSON path of the rule syntax: ${path}`);
  return path
    .slice(2)
    .split('.')
    .reduce<unknown>((value, key) => (value as Record<string, unknown> | undefined)?.[key], event);
}

function matches(event: Record<string, unknown>, filters: readonly RuleFilter[]): boolean {
  return filters.every((filter) => {
    const value = valueAt(event, filter.Match);
    if (filter.In) return filter.In.includes(value);
    if (filter.NotIn) return value !== undefined && !filter.NotIn.includes(value);
    throw new Error(`operator not modelled here: ${JSON.stringify(filter)}`);
  });
}

/** The key values of every event the rule counts, sorted: one entry per counted event. */
export function contributorsOf(body: RuleBody, events: readonly Record<string, unknown>[]): unknown[][] {
  return events
    .filter((event) => matches(event, body.Contribution.Filters))
    .map((event) => body.Contribution.Keys.map((key) => valueAt(event, key)))
    .sort();
}
