/**
 * The sans-I/O session core, byte by byte and without a socket: Pop3Connection (one queue of replies in
 * flight, the window rule, the greeting, -ERR mapping) driving LoginPlan and the login exchanges, the
 * UTF8 command, and the order of mechanisms with and without TLS.
 */
import { describe, expect, it } from 'vitest';
import { apopDigest } from '../../../lib/pop3/apop.ts';
import { type Pop3Command, Pop3Commands } from '../../../lib/pop3/commands.ts';
import { type ConnectionEvent, GREETING, Pop3Connection } from '../../../lib/pop3/connection.ts';
import type { AuthMethod, Credentials } from '../../../lib/pop3/credentials.ts';
import {
  Pop3AuthenticationError,
  Pop3LoginRefusedError,
  Pop3SecurityError,
  Pop3ServerError,
} from '../../../lib/pop3/errors.ts';
import { LOGIN_MECHANISMS, type LoginOffer, saslEntry } from '../../../lib/pop3/login-mechanisms.ts';
import { LoginPlan, orderFor } from '../../../lib/pop3/login-plan.ts';
import {
  type Capabilities,
  capabilitiesReader,
  NO_CAPABILITIES,
  parseGreeting,
} from '../../../lib/pop3/parsers.ts';

const alice: Credentials = { kind: 'password', username: 'alice', password: 'secret' };
const TIMESTAMP = '<1896.697170952@dbc.mtview.ca.us>';

/** A connection with the client side recorded: what it wrote, and the events per command. */
function wire(window = 4) {
  const connection = new Pop3Connection<string>({ server: 'test:110', window });
  const written: string[] = [];
  const events: ConnectionEvent<string>[] = [];
  return {
    connection,
    written,
    events,
    send(command: Pop3Command<unknown>, handle = command.keyword) {
      connection.submit(command, handle);
      written.push(...connection.takeWrites().map((line) => line.toString('latin1')));
    },
    server(text: string) {
      events.push(...connection.receive(Buffer.from(text, 'latin1')));
      written.push(...connection.takeWrites().map((line) => line.toString('latin1')));
      return events.at(-1);
    },
  };
}

/** A wire past a successful PASS: the connection is in TRANSACTION, nothing recorded yet. */
function loggedIn(window = 4) {
  const w = wire(window);
  w.send(Pop3Commands.pass('secret'));
  w.server('+OK\r\n');
  w.written.length = 0;
  w.events.length = 0;
  return w;
}

function capabilities(lines: string[]): Capabilities {
  const reader = capabilitiesReader();
  reader.push(Buffer.from(lines.map((line) => `${line}\r\n`).join(''), 'latin1'));
  return reader.end();
}

function offer(over: Partial<LoginOffer> & { readonly greetingText?: string } = {}): LoginOffer {
  const text = over.greetingText ?? 'POP3 ready';
  return {
    server: 'test:110',
    greeting: parseGreeting({ kind: '+OK', text, raw: Buffer.from(`+OK ${text}`) }),
    capabilities: over.capabilities ?? NO_CAPABILITIES,
    encrypted: over.encrypted ?? false,
    allowInsecureAuth: over.allowInsecureAuth ?? true,
  };
}

/**
 * Logs in without I/O: the plan picks, each exchange's commands go through the connection, and
 * `replies` answers them in order. Returns the mechanism and every line the client wrote.
 */
function loginOffline(
  method: AuthMethod,
  on: LoginOffer,
  replies: string[],
): { mechanism?: string; error?: unknown; written: string[] } {
  const w = wire();
  const plan = new LoginPlan(alice, method);
  const next = () => {
    const reply = replies.shift();
    if (reply === undefined) throw new Error('the server script ran out');
    return w.server(`${reply}\r\n`)!;
  };
  try {
    for (;;) {
      const entry = plan.next(on);
      const exchange = entry.exchange(alice, on);
      w.send(exchange.start());
      for (;;) {
        const event = next();
        if (event.type === 'failed') {
          plan.refused(event.error as Pop3ServerError);
          break;
        }
        if (event.type !== 'reply') throw new Error('unexpected data');
        const step = exchange.onReply(event.status);
        if (step === 'done') return { mechanism: entry.name, written: w.written };
        w.send(step);
      }
    }
  } catch (error) {
    return { error, written: w.written };
  }
}

describe('Pop3Connection', () => {
  it('expects the greeting first, and writes nothing for it', () => {
    const w = wire();
    w.send(GREETING, 'greeting');
    expect(w.written).toEqual([]);
    expect(w.server('+OK ready\r\n')).toMatchObject({ type: 'reply', handle: 'greeting' });
  });

  it('keeps at most `window` pipelined commands in flight, and sends the rest as replies come in', () => {
    const w = loggedIn(2);
    w.connection.pipelining = true;
    w.send(Pop3Commands.dele(1), 'd1');
    w.send(Pop3Commands.dele(2), 'd2');
    w.send(Pop3Commands.dele(3), 'd3');
    expect(w.written).toEqual(['DELE 1\r\n', 'DELE 2\r\n']);
    w.server('+OK\r\n');
    expect(w.written).toEqual(['DELE 1\r\n', 'DELE 2\r\n', 'DELE 3\r\n']);
    w.server('+OK\r\n+OK\r\n');
    expect(w.events.map((event) => event.handle)).toEqual(['d1', 'd2', 'd3']);
    expect(w.connection.inFlight).toHaveLength(0);
  });

  it('without PIPELINING, one command at a time; a session command never joins a pipeline', () => {
    const w = loggedIn();
    w.send(Pop3Commands.dele(1));
    w.send(Pop3Commands.dele(2));
    expect(w.written).toEqual(['DELE 1\r\n']);
    w.connection.pipelining = true;
    w.server('+OK\r\n');
    w.send(Pop3Commands.quit());
    expect(w.written).toEqual(['DELE 1\r\n', 'DELE 2\r\n']);
    w.server('+OK\r\n');
    expect(w.written.at(-1)).toBe('QUIT\r\n');
  });

  it('maps -ERR to a login command to Pop3AuthenticationError, to others to Pop3ServerError', () => {
    const w = wire();
    w.send(Pop3Commands.pass('secret'));
    const refused = w.server('-ERR [AUTH] no\r\n');
    w.send(Pop3Commands.pass('secret'));
    w.server('+OK\r\n');
    w.send(Pop3Commands.retr(1));
    const missing = w.server('-ERR no such message\r\n');
    expect(refused).toMatchObject({ type: 'failed' });
    expect(refused?.type === 'failed' && refused.error).toBeInstanceOf(Pop3AuthenticationError);
    expect(missing?.type === 'failed' && missing.error).not.toBeInstanceOf(Pop3AuthenticationError);
    expect(missing?.type === 'failed' && missing.error).toBeInstanceOf(Pop3ServerError);
  });

  it('streams RETR bodies as data events and collects LIST into its value', () => {
    const w = loggedIn();
    w.send(Pop3Commands.retr(1));
    w.server('+OK\r\nline\r\n..dot\r\n.\r\n');
    w.send(Pop3Commands.list());
    w.server('+OK\r\n1 12\r\n.\r\n');
    const data = w.events.filter((event) => event.type === 'data').map((event) => event.chunk);
    expect(Buffer.concat(data).toString()).toBe('line\r\n.dot\r\n');
    const list = w.events.at(-1);
    expect(list?.type === 'reply' && [...(list.value as object[])]).toEqual([{ msg: 1, octets: 12 }]);
  });

  it('a reply nobody asked for breaks the session', () => {
    const w = wire();
    expect(() => w.server('+OK surprise\r\n')).toThrow(/nobody asked for/);
  });

  it('UTF8 is one line, sent alone', () => {
    const w = loggedIn();
    w.connection.pipelining = true;
    w.send(Pop3Commands.utf8());
    w.send(Pop3Commands.list());
    expect(w.written).toEqual(['UTF8\r\n']);
    w.server('+OK UTF8 enabled\r\n');
    expect(w.written).toEqual(['UTF8\r\n', 'LIST\r\n']);
  });
});

describe('LoginPlan with the exchanges, byte by byte', () => {
  it('APOP refused → USER/PASS on the same session', () => {
    const result = loginOffline(
      'auto',
      offer({ greetingText: `ready ${TIMESTAMP}`, capabilities: capabilities(['USER']) }),
      ['-ERR [AUTH] no APOP secret', '+OK', '+OK logged in'],
    );
    expect(result.mechanism).toBe('USER');
    expect(result.written).toEqual([
      `APOP alice ${apopDigest(TIMESTAMP, 'secret')}\r\n`,
      'USER alice\r\n',
      'PASS secret\r\n',
    ]);
  });

  it('a mechanism that sent the password refused → no other: each would check the same password', () => {
    const result = loginOffline(
      'auto',
      offer({
        greetingText: `ready ${TIMESTAMP}`,
        capabilities: capabilities(['USER', 'SASL PLAIN LOGIN CRAM-MD5']),
        encrypted: true,
      }),
      ['-ERR [AUTH] plain no'],
    );
    expect(result.error).toBeInstanceOf(Pop3LoginRefusedError);
    const error = result.error as Pop3LoginRefusedError;
    expect(error.attempts.map((attempt) => attempt.mechanism)).toEqual(['PLAIN']);
    expect(result.written).toHaveLength(1);
    expect(error.message).toMatch(
      /PLAIN: .*no other mechanism was tried.*not tried: USER, LOGIN, CRAM-MD5, APOP/,
    );
  });

  it('an explicit auth is exactly that mechanism: its refusal, nothing else', () => {
    const result = loginOffline('plain', offer({ capabilities: capabilities(['USER', 'SASL PLAIN']) }), [
      '-ERR [AUTH] no',
    ]);
    expect(result.error).toBeInstanceOf(Pop3AuthenticationError);
    expect(result.error).not.toBeInstanceOf(Pop3LoginRefusedError);
    expect(result.written).toHaveLength(1);
  });

  it('a mechanism plugs in as one entry: a name plus its sans-I/O exchange', () => {
    // A made-up challenge-response mechanism: answers the one challenge with the user name reversed.
    const reversed = saslEntry('X-REVERSED', 'password', false, () => ({
      name: 'X-REVERSED',
      initialResponse: () => undefined,
      respond: (challenge) => Buffer.from(`${challenge.toString()}:${[...'alice'].reverse().join('')}`),
    }));
    const plan = new LoginPlan(alice, 'auto', { mechanisms: [reversed, ...LOGIN_MECHANISMS] });
    const on = offer({ capabilities: capabilities(['USER', 'SASL X-REVERSED']) });
    const entry = plan.next(on);
    expect(entry.name).toBe('X-REVERSED');
    const w = wire();
    const exchange = entry.exchange(alice, on);
    w.send(exchange.start());
    const challenge = w.server(`+ ${Buffer.from('c1').toString('base64')}\r\n`);
    if (challenge?.type !== 'reply') throw new Error('expected a continuation');
    const step = exchange.onReply(challenge.status);
    if (step === 'done') throw new Error('expected a response');
    w.send(step);
    const done = w.server('+OK\r\n');
    expect(done?.type === 'reply' && exchange.onReply(done.status)).toBe('done');
    expect(w.written).toEqual(['AUTH X-REVERSED\r\n', `${Buffer.from('c1:ecila').toString('base64')}\r\n`]);
  });

  it('orders by what protects the password on this connection', () => {
    const names = (encrypted: boolean) => orderFor(encrypted).map((entry) => entry.name);
    expect(names(true)).toEqual(['XOAUTH2', 'OAUTHBEARER', 'PLAIN', 'USER', 'LOGIN', 'CRAM-MD5', 'APOP']);
    expect(names(false)).toEqual(['CRAM-MD5', 'APOP', 'XOAUTH2', 'OAUTHBEARER', 'PLAIN', 'USER', 'LOGIN']);
  });

  it('without TLS nor allowInsecureAuth, a plaintext mechanism is refused before anything is sent', () => {
    const result = loginOffline(
      'auto',
      offer({ capabilities: capabilities(['USER']), allowInsecureAuth: false }),
      [],
    );
    expect(result.error).toBeInstanceOf(Pop3SecurityError);
    expect(result.written).toEqual([]);
  });

  it('a close after -ERR [AUTH] ends the attempts; after another -ERR, the next goes on a new connection', () => {
    const closedAfterAuth = new LoginPlan(alice, 'auto');
    closedAfterAuth.next(offer({ greetingText: `x ${TIMESTAMP}`, capabilities: capabilities(['USER']) }));
    closedAfterAuth.refused(new Pop3AuthenticationError('[AUTH] bad password'));
    expect(() => closedAfterAuth.closed(new Error('closed'))).toThrow(Pop3LoginRefusedError);

    const closedOtherwise = new LoginPlan(alice, 'auto');
    const on = offer({ greetingText: `x ${TIMESTAMP}`, capabilities: capabilities(['USER']) });
    expect(closedOtherwise.next(on).name).toBe('APOP');
    closedOtherwise.refused(new Pop3AuthenticationError('APOP not enabled'));
    expect(closedOtherwise.next(on).name).toBe('USER');
    expect(closedOtherwise.closed(new Error('closed'))).toBe(true);
    expect(closedOtherwise.next(on).name).toBe('USER'); // not answered, so not counted: tried again
    // ... once: a server that closes instead of answering again may be checking the password each time.
    const cause = new Error('closed again');
    expect(() => closedOtherwise.closed(cause)).toThrow(cause);
  });
});
