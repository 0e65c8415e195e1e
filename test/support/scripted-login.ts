/**
 * The opening the scripted pipeline sessions share (test/support/script-server.ts): a server with no
 * capabilities beyond USER and UIDL, where alice logs in with USER/PASS and password 'secret', the
 * defaults of testMailbox (test/support/mailbox.ts). The client asks CAPA again once logged in, because
 * capabilities may change after login (RFC 2449).
 */
export const USER_PASS_LOGIN = [
  { send: '+OK scripted server ready\r\n' },
  { expect: 'CAPA' },
  { send: '+OK\r\nUSER\r\nUIDL\r\n.\r\n' },
  { expect: 'USER alice' },
  { send: '+OK\r\n' },
  { expect: 'PASS secret' },
  { send: '+OK logged in\r\n' },
  { expect: 'CAPA' },
  { send: '+OK\r\nUSER\r\nUIDL\r\n.\r\n' },
];

/** A short message with the given subject (and body). */
export const testMessage = (subject: string, body = 'Hello.\r\n') =>
  Buffer.from(`From: a@example.com\r\nTo: b@example.com\r\nSubject: ${subject}\r\n\r\n${body}`);

/** A message as a RETR reply carries it (no line starting with '.'), with its terminating line. */
export const stuffed = (bytes: Buffer) => Buffer.concat([bytes, Buffer.from('.\r\n')]);
