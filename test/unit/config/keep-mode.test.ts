/**
 * Keep mode through the configuration: the schema takes `keep`, `deleteAfterDays` and `initial`, refuses
 * the latter two without `keep: true`, and the construct's inline mailboxes (validated by the same schema
 * at synth) carry them into the deployed parameter unchanged.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../../lib/config/load-config.ts';
import { validateDeployedConfig } from '../../../lib/lambda/deployed-mailboxes.ts';
import { synth } from '../../infra/synth-helpers.ts';

const base = { id: 'archive', host: 'pop.example.com', tls: 'implicit', username: 'a', password: 'pw' };
const parse = (mailbox: object) => parseConfig({ mailboxes: [{ ...base, ...mailbox }] }).mailboxes[0]!;
const problems = (mailbox: object) => {
  try {
    parse(mailbox);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
};

describe('keep mode in the config', () => {
  it('is off unless asked for, and defaults initial to "all"', () => {
    expect(parse({}).keep).toBeUndefined();
    expect(parse({ keep: false }).keep).toBeUndefined();
    expect(parse({ keep: true }).keep).toEqual({ deleteAfterDays: undefined, initial: 'all' });
  });

  it('takes deleteAfterDays and each form of initial', () => {
    expect(parse({ keep: true, deleteAfterDays: 30, initial: 'none' }).keep).toEqual({
      deleteAfterDays: 30,
      initial: 'none',
    });
    expect(parse({ keep: true, initial: { newest: 50 } }).keep?.initial).toEqual({ newest: 50 });
  });

  it('refuses deleteAfterDays or initial without keep: true, and malformed values', () => {
    expect(problems({ deleteAfterDays: 3 }).join('\n')).toMatch(/need "keep": true/);
    expect(problems({ keep: false, initial: 'none' }).join('\n')).toMatch(/need "keep": true/);
    expect(problems({ keep: true, initial: 'some' }).join('\n')).toMatch(/"all", "none" or \{"newest": N\}/);
    expect(problems({ keep: true, initial: { newest: -1 } })).not.toEqual([]);
    expect(problems({ keep: true, deleteAfterDays: 1.5 })).not.toEqual([]);
  });

  it('passes through the deployed-config validation and the construct inline config', () => {
    const mailbox = {
      ...base,
      password: { secretId: 'mail/archive' },
      keep: true,
      deleteAfterDays: 90,
      initial: { newest: 10 },
    };
    expect(validateDeployedConfig({ mailboxes: [mailbox] }).mailboxes[0]!.keep).toEqual({
      deleteAfterDays: 90,
      initial: { newest: 10 },
    });
    const { template } = synth({ mailboxes: [mailbox] });
    const [parameter] = Object.values(template.findResources('AWS::SSM::Parameter'));
    const deployed = JSON.parse(parameter!['Properties'].Value);
    expect(deployed.mailboxes[0]).toMatchObject({ keep: true, deleteAfterDays: 90, initial: { newest: 10 } });
  });
});
