/**
 * The monthly bill of docs/deploy.md ("Scale and cost") is bench/fleet-bill.ts's table, with inputs that
 * match what the construct deploys by default, and meets the targets: 10,000 mailboxes for at most $300 a
 * month, 100 for at most $15.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { billTable, cycleSeconds, FLEET_INPUTS, optionLines, totalUsd } from '../../../bench/fleet-bill.ts';
import { DEFAULTS } from '../../../infra/defaults.ts';
import { synth } from '../../infra/synth-helpers.ts';

const DEPLOY_DOC = new URL('../../../docs/deploy.md', import.meta.url);

describe('the fleet bill', () => {
  it('is the table docs/deploy.md shows', () => {
    expect(readFileSync(DEPLOY_DOC, 'utf8')).toContain(billTable());
  });

  it('meets the targets with the defaults: 10,000 mailboxes ≤ $300 and 100 mailboxes ≤ $15 a month', () => {
    expect(totalUsd(10_000)).toBeLessThanOrEqual(300);
    expect(totalUsd(100)).toBeLessThanOrEqual(15);
  });

  it('fits a cycle of 10,000 mailboxes into the 5-minute period with the default maxConcurrency', () => {
    expect(cycleSeconds(10_000)).toBeLessThan(FLEET_INPUTS.periodSeconds);
  });

  it('prices what the construct deploys by default', () => {
    expect(FLEET_INPUTS.periodSeconds).toBe(DEFAULTS.schedule.toSeconds());
    expect(FLEET_INPUTS.pollMemoryGb * 1024).toBe(DEFAULTS.pollMemorySize);
    expect(FLEET_INPUTS.dispatchMemoryGb * 1024).toBe(DEFAULTS.dispatchMemorySize);
    expect(FLEET_INPUTS.batchSize).toBe(DEFAULTS.pollBatchSize);
    expect(FLEET_INPUTS.maxConcurrency).toBe(DEFAULTS.maxConcurrency);
    expect(DEFAULTS.perMailboxMetrics).toBe(false);
    const { template } = synth();
    expect(Object.keys(template.findResources('AWS::CloudWatch::Alarm'))).toHaveLength(FLEET_INPUTS.alarms);
    expect(Object.keys(template.findResources('AWS::CloudWatch::InsightRule'))).toHaveLength(
      FLEET_INPUTS.insightRules,
    );
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 0);
  });

  it('shows per-mailbox metrics as the option they are: $2.10 a mailbox, $9,000 at 10,000', () => {
    const perMailbox = optionLines().find((line) => line.item.includes('perMailboxMetrics'))!;
    expect(perMailbox.usd(100)).toBeCloseTo(210, 6);
    expect(perMailbox.usd(10_000)).toBeGreaterThan(8_900);
  });
});
