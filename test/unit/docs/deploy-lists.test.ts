/**
 * docs/deploy.md names two closed lists an operator acts on: the reasons of a run (its troubleshooting
 * table) and the alarms the construct creates (its alarm table). Both must be exactly what the code
 * produces: a reason or an alarm missing from the page leaves a person without a next step, and one the
 * code no longer has sends them looking for nothing. (docs/outcomes.md is held to the same reasons by
 * pipeline/outcome-reasons.test.ts.)
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { describe, expect, it } from 'vitest';
import { optionLines, totalUsd, usd } from '../../../bench/fleet-bill.ts';
import { DROP_REASONS, METRIC_NAMES } from '../../../lib/lambda/metric-names.ts';
import { OUTCOME_REASONS, SKIP_REASONS } from '../../../lib/pipeline/reasons.ts';
import { synth } from '../../infra/synth-helpers.ts';
import { codeNames, firstCells, sectionFrom } from '../../support/doc-links.ts';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const DEPLOY = readFileSync(path.join(ROOT, 'docs', 'deploy.md'), 'utf8');
const SKIPPED_PREFIX = 'skipped:';

/** Reasons the poll function reports for a job it could not poll at all (PollFailures without a mailbox). */
function lambdaOnlyFailureReasons(): string[] {
  const folder = path.join(ROOT, 'lib', 'lambda');
  const reasons = new Set<string>();
  for (const name of readdirSync(folder).filter((file) => file.endsWith('.ts'))) {
    const text = readFileSync(path.join(folder, name), 'utf8');
    for (const match of text.matchAll(/pollFailureMetric\([^\n]*?'([^']+)'\)/g)) reasons.add(match[1]!);
  }
  return [...reasons];
}

function troubleshootingRows(): { reasons: string[]; skipped: string[] } {
  const cells = firstCells(sectionFrom(DEPLOY, '## Troubleshooting by failure reason'));
  const skippedCells = cells.filter((cell) => cell.startsWith(SKIPPED_PREFIX));
  const reasonCells = cells.filter((cell) => !cell.startsWith(SKIPPED_PREFIX));
  return { reasons: reasonCells.flatMap(codeNames), skipped: skippedCells.flatMap(codeNames) };
}

function sorted(names: Iterable<string>): string[] {
  return [...names].sort();
}

describe('docs/deploy.md', () => {
  it('the troubleshooting table lists every reason a run or a job can end with, once, and no other', () => {
    const { reasons } = troubleshootingRows();
    const lambdaOnly = lambdaOnlyFailureReasons();
    expect(lambdaOnly).toContain('config-unavailable');
    const expected = [...Object.keys(OUTCOME_REASONS), ...DROP_REASONS, ...lambdaOnly];
    expect(sorted(reasons)).toEqual(sorted(new Set(expected)));
    expect(reasons.length).toBe(new Set(reasons).size);
  });

  it('the troubleshooting table lists every reason a message is skipped for, and no other', () => {
    const { skipped } = troubleshootingRows();
    expect(sorted(skipped)).toEqual(sorted(SKIP_REASONS));
  });

  it('the metrics paragraph names every metric the poll function publishes', () => {
    // The paragraphs before the alarm table, which names alarms (some after metrics) and not metrics.
    const section = sectionFrom(DEPLOY, '## Logs and metrics').split('**Alarms** (')[0]!;
    const missing = Object.values(METRIC_NAMES).filter((name) => !section.includes(`\`${name}\``));
    expect(missing).toEqual([]);
  });

  it('the alarm table lists exactly the alarms the construct creates', () => {
    const { ingestion, template } = synth();
    const members = Object.values(ingestion.alarms).filter(
      (member): member is cloudwatch.Alarm => member instanceof cloudwatch.Alarm,
    );
    // Every alarm of the template is one of the members: none is created elsewhere unseen by this list.
    expect(Object.keys(template.findResources('AWS::CloudWatch::Alarm')).length).toBe(members.length);
    const documented = firstCells(sectionFrom(DEPLOY, '**Alarms** (')).flatMap(codeNames);
    expect(sorted(documented)).toEqual(sorted(members.map((alarm) => alarm.node.id)));
  });

  it('states the fixed monthly cost of a small app as the bill computes it, with and without a dashboard', () => {
    const fixed = /\*\*The fixed part\*\*[\s\S]*?\*\*(\$[\d.,]+) a month\*\*[\s\S]*?\*\*(\$[\d.,]+)\*\*/.exec(
      DEPLOY,
    );
    const dashboard = optionLines().find((line) => line.item.includes('dashboard'))!;
    expect(fixed?.slice(1)).toEqual([usd(totalUsd(0)), usd(totalUsd(0) + dashboard.usd(0))]);
  });
});
