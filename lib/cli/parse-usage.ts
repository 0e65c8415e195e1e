/**
 * The usage of `mailbox-poller parse` (lib/cli/parse.ts), apart from the command so that the help can name
 * it without loading the MIME parser: every other command starts without it.
 */
export const PARSE_USAGE = `Usage: mailbox-poller parse FILE.eml [--out DIR]

Parses one stored message as the construct's parse stage does: DIR/message.json (headers, addresses,
subject, date, text and HTML bodies, each part's type, name, size and SHA-256) and DIR/parts/<n>.

  --out DIR   where to write (default: FILE with .parsed in place of .eml)

Exit status: 0 parsed, 1 the message could not be parsed (message.json says why), 2 usage or file error.`;
