/** A MailboxConfig for tests, as parseConfig would produce it, with the fields a test cares about overridden. */
import type { MailboxConfig, MailboxLimits } from '../../lib/config/types.ts';

export function testMailbox(
  overrides: Partial<Omit<MailboxConfig, 'limits'>> & { limits?: Partial<MailboxLimits> } = {},
): MailboxConfig {
  const { limits, ...rest } = overrides;
  return {
    id: 'test',
    host: '127.0.0.1',
    port: 110,
    tls: 'none',
    username: 'alice',
    credential: { literal: 'secret' },
    credentialKind: 'password',
    auth: 'auto',
    ca: undefined,
    servername: undefined,
    allowInsecureAuth: true,
    pipelining: true,
    ...rest,
    limits: {
      maxMessagesPerRun: 10_000,
      maxBytesPerRun: 1024 ** 3,
      maxMessageBytes: 100 * 1024 ** 2,
      ...limits,
    },
  };
}
