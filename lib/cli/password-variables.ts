/**
 * Mistakes in how a password reaches a mailbox from the environment, found before any connection.
 *
 * - `{ "env": "X" }` with X not set, or set to nothing: a configuration error (exit 2), one line per
 *   mailbox. "Set but empty" is told apart from "not set": the fixes differ (`export X=…` was run with
 *   nothing after the `=`, against a missing `export`).
 * - `"password": "$X"`: the configuration is JSON, not a shell, so this is the six characters `$X`, sent
 *   as the password. It is a warning, not an error (a password may begin with `$`), naming the mailbox
 *   and the form that reads the variable.
 */
import type { MailboxConfig } from '../config/types.ts';

/** `$NAME` or `${NAME}` and nothing else: how a shell or a .env file names a variable. */
const LOOKS_LIKE_VARIABLE = /^\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))$/;

/** One "  mailbox …" line per mailbox whose variable is not set or empty. */
export function unsetPasswordVariables(
  mailboxes: readonly MailboxConfig[],
  env: NodeJS.ProcessEnv,
): string[] {
  return mailboxes.flatMap(({ id, credential, credentialKind }) => {
    if (!('env' in credential)) return [];
    const value = env[credential.env];
    if (value !== undefined && value !== '') return [];
    const what = credentialKind === 'oauth2' ? 'access token' : 'password';
    const state = value === undefined ? 'which is not set' : 'which is set but empty';
    return [`  mailbox "${id}": its ${what} comes from the environment variable ${credential.env}, ${state}`];
  });
}

/** Warning lines (stderr) for passwords that are a variable's name written as text; '' when none. */
export function literalVariableWarnings(mailboxes: readonly MailboxConfig[]): string {
  return mailboxes
    .flatMap(({ id, credential }) => {
      if (!('literal' in credential)) return [];
      const match = LOOKS_LIKE_VARIABLE.exec(credential.literal);
      if (match === null) return [];
      const name = match[1] ?? match[2];
      return [
        `mailbox-poller: warning: mailbox "${id}": its password is the text "${credential.literal}", sent as is;` +
          ` the configuration does not expand variables. To read the environment variable, write` +
          ` "password": { "env": "${name}" }\n`,
      ];
    })
    .join('');
}
