/**
 * What `status` and `reset` share: where the health records are (the CLI's local folder, or an S3 bucket
 * as the deployed poll function and `poll --bucket` write them) and, optionally, the configuration whose
 * mailboxes to show. The same flags and environment variables as `poll`.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { LocalHealthStore } from '../adapters/local-health-store.ts';
import { createS3Client } from '../adapters/s3-client.ts';
import { S3HealthStore } from '../adapters/s3-health-store.ts';
import type { MailboxOutcome } from '../pipeline/outcome.ts';
import type { PollLogger } from '../pipeline/poll-mailbox.ts';
import type { MailboxHealthStore } from '../ports.ts';

export interface HealthCommand {
  readonly configPath: string | undefined;
  readonly json: boolean;
  readonly positionals: readonly string[];
  readonly store: MailboxHealthStore;
  /** Where the records are, for messages: a folder or s3://bucket/prefix. */
  readonly where: string;
}

/** Throws (with a message for the person) on a flag that is not one of these. */
export function parseHealthCommand(argv: readonly string[], env: NodeJS.ProcessEnv): HealthCommand {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      config: { type: 'string' },
      out: { type: 'string' },
      bucket: { type: 'string' },
      prefix: { type: 'string' },
      'key-prefix': { type: 'string' },
      json: { type: 'boolean' },
    },
  });
  const keyPrefix = values.prefix ?? values['key-prefix'] ?? env.KEY_PREFIX ?? '';
  const bucket = values.bucket ?? (env.BUCKET_NAME || undefined);
  const common = { configPath: values.config, json: values.json ?? false, positionals };
  if (bucket !== undefined) {
    const store = new S3HealthStore({ client: createS3Client(), bucket, keyPrefix });
    return { ...common, store, where: `s3://${bucket}/${keyPrefix}.health/` };
  }
  const outDir = path.resolve(values.out ?? './mailbox-data');
  return {
    ...common,
    store: new LocalHealthStore({ outDir, keyPrefix }),
    where: path.join(outDir, `${keyPrefix}.health`),
  };
}

/**
 * The poll's logger in the CLI: only warnings (a health record that cannot be read or written), kept
 * until the run ends; failures are already in the outcome and its summary line. A mailbox whose run ended
 * `store` gets none: its destination is unusable, which its own grouped error line already says.
 */
export class HealthWarnings {
  readonly #lines: { mailboxId: string; text: string }[] = [];

  readonly logger: PollLogger = {
    info: () => undefined,
    error: () => undefined,
    warn: (message, data) => {
      const { mailboxId = 'run', error } = (data ?? {}) as { mailboxId?: string; error?: unknown };
      const why = error instanceof Error ? `: ${error.message}` : '';
      this.#lines.push({ mailboxId, text: `mailbox-poller: warning: ${mailboxId}: ${message}${why}\n` });
    },
  };

  /** The warnings to print after the run, given how each mailbox ended. */
  text(outcomes: readonly MailboxOutcome[]): string {
    const storeDown = new Set(outcomes.filter((o) => o.reason === 'store').map((o) => o.mailboxId));
    return this.#lines
      .filter((line) => !storeDown.has(line.mailboxId))
      .map((line) => line.text)
      .join('');
  }
}
