/**
 * Keep mode rewrites each mailbox's state object (`<keyPrefix>.state/<id>.jsonl.gz`) on every run. In a
 * versioned bucket every run leaves the previous version behind, so the construct's bucket expires
 * noncurrent state versions after a day; current versions (the states in use) never expire, and the rule
 * touches nothing outside the state prefix.
 */
import { describe, expect, it } from 'vitest';
import { synth } from './synth-helpers.ts';

interface LifecycleRule {
  readonly Id?: string;
  readonly Prefix?: string;
  readonly ExpirationInDays?: number;
  readonly NoncurrentVersionExpiration?: { readonly NoncurrentDays: number };
  readonly Status: string;
}

function lifecycleRules(template: ReturnType<typeof synth>['template']): LifecycleRule[] {
  const buckets = Object.values(template.findResources('AWS::S3::Bucket'));
  expect(buckets).toHaveLength(1);
  return buckets[0]!['Properties'].LifecycleConfiguration?.Rules ?? [];
}

describe('noncurrent versions of keep-mode state objects', () => {
  it('expire a day after a run replaced them, in the versioned bucket by default', () => {
    const rules = lifecycleRules(synth().template);
    expect(rules.filter((rule) => rule.Prefix === 'mail/.state/')).toEqual([
      {
        Id: 'expire-old-state-versions',
        Prefix: 'mail/.state/',
        NoncurrentVersionExpiration: { NoncurrentDays: 1 },
        Status: 'Enabled',
      },
    ]);
  });

  it('follow the key prefix, never expire the current state, and need no rule without versioning', () => {
    const rules = lifecycleRules(synth({ keyPrefix: 'archive/inbound/' }).template);
    const state = rules.find((rule) => rule.Id === 'expire-old-state-versions');
    expect(state?.Prefix).toBe('archive/inbound/.state/');
    expect(state?.ExpirationInDays).toBeUndefined();
    // An unversioned bucket keeps no old versions: no rule for them.
    const unversioned = lifecycleRules(synth({ versioned: false }).template);
    expect(unversioned.map((rule) => rule.Id)).not.toContain('expire-old-state-versions');
  });
});
