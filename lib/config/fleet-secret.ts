/**
 * The fleet layout for password mailboxes: one Secrets Manager secret holds the passwords of many mailboxes
 * as a JSON object, one field per mailbox (named by its id), and each mailbox names its field:
 * `"password": { "secretId": "pop3-fleet-1", "field": "support" }`. One secret costs the same as one
 * mailbox's own ($0.40 a month), so 10,000 mailboxes need a few fleet secrets instead of 10,000
 * (docs/deploy.md, "Secrets for many mailboxes").
 *
 * Built from `mailbox-id<TAB>password` lines (lib/cli/secrets-build.ts), never from the command line, where
 * every user of the machine can read them. No error here quotes a password: problems name the line.
 */
import { SECRETS_MANAGER_MAX_SECRET_BYTES } from '../aws-limits.ts';

/** What a mailbox id may be (schema/config.schema.json, `id`): the field names of the layout. */
const MAILBOX_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** The input cannot become a fleet secret; `problems` has one line per mistake, naming the line. */
export class FleetSecretInputError extends Error {
  override readonly name = 'FleetSecretInputError';
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super(`the mailbox list cannot be used:\n  ${problems.join('\n  ')}`);
    this.problems = problems;
  }
}

/**
 * The secret would not fit in one Secrets Manager secret value. Tells the caller what to do next: split the
 * list into `parts` lists of at most `mailboxesPerPart` lines, each of which is sure to fit.
 */
export class FleetSecretTooLargeError extends Error {
  override readonly name = 'FleetSecretTooLargeError';
  readonly bytes: number;
  readonly parts: number;
  readonly mailboxesPerPart: number;

  constructor(mailboxes: number, bytes: number, mailboxesPerPart: number) {
    const parts = Math.ceil(mailboxes / mailboxesPerPart);
    super(
      `a secret with these ${mailboxes} mailboxes would be ${bytes} bytes, over the ${SECRETS_MANAGER_MAX_SECRET_BYTES}` +
        ` bytes one Secrets Manager secret holds: split the list into ${parts} lists of at most` +
        ` ${mailboxesPerPart} lines (e.g. split -l ${mailboxesPerPart} LIST part-) and build one secret from each`,
    );
    this.bytes = bytes;
    this.parts = parts;
    this.mailboxesPerPart = mailboxesPerPart;
  }
}

/** A mailbox id and its password, in input order. */
export interface FleetEntry {
  readonly mailboxId: string;
  readonly password: string;
}

/**
 * `mailbox-id<TAB>password` lines: the password is everything after the first tab, kept exactly (spaces
 * included) up to the line break (LF or CRLF). Empty lines and lines starting with `#` are skipped.
 */
export function parseFleetList(text: string): FleetEntry[] {
  const entries: FleetEntry[] = [];
  const problems: string[] = [];
  const lineOf = new Map<string, number>();
  text.split('\n').forEach((raw, index) => {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    const number = index + 1;
    if (line === '' || line.startsWith('#')) return;
    const tab = line.indexOf('\t');
    if (tab === -1) {
      problems.push(`line ${number}: no tab between the mailbox id and the password`);
      return;
    }
    const mailboxId = line.slice(0, tab);
    const password = line.slice(tab + 1);
    // The id is not quoted either: a line written the wrong way round would show its password.
    if (!MAILBOX_ID.test(mailboxId)) {
      problems.push(
        `line ${number}: the text before the tab is not a mailbox id (A-Z a-z 0-9 . _ -, 1 to 64)`,
      );
    } else if (lineOf.has(mailboxId)) {
      problems.push(`line ${number}: mailbox "${mailboxId}" again (first on line ${lineOf.get(mailboxId)})`);
    } else if (password === '') {
      problems.push(`line ${number}: mailbox "${mailboxId}" has an empty password`);
    } else {
      lineOf.set(mailboxId, number);
      entries.push({ mailboxId, password });
    }
  });
  if (problems.length > 0) throw new FleetSecretInputError(problems);
  if (entries.length === 0) throw new FleetSecretInputError(['no mailbox-id<TAB>password line']);
  return entries;
}

const utf8Bytes = (text: string) => Buffer.byteLength(text, 'utf8');

/**
 * The SecretString of a fleet secret: `{"<mailbox id>":"<password>",...}`. Throws FleetSecretTooLargeError
 * when it exceeds what one secret holds (`maxBytes`, Secrets Manager's limit unless a test says otherwise).
 */
export function buildFleetSecret(
  entries: readonly FleetEntry[],
  maxBytes: number = SECRETS_MANAGER_MAX_SECRET_BYTES,
): string {
  const secret = JSON.stringify(Object.fromEntries(entries.map((e) => [e.mailboxId, e.password])));
  const bytes = utf8Bytes(secret);
  if (bytes <= maxBytes) return secret;
  // `{` `}` plus, per entry, its `"id":"password"` and a comma: a part of this many of the longest fits.
  const sizes = entries.map((e) => utf8Bytes(JSON.stringify({ [e.mailboxId]: e.password })) - 2);
  const longest = Math.max(...sizes);
  if (longest + 2 > maxBytes) {
    const line = sizes.indexOf(longest);
    throw new FleetSecretInputError([
      `mailbox "${entries[line]!.mailboxId}": its password alone does not fit in one secret (${maxBytes} bytes)`,
    ]);
  }
  throw new FleetSecretTooLargeError(entries.length, bytes, Math.floor((maxBytes - 2) / (longest + 1)));
}
