/**
 * Pop3Connection owns the session state (lib/pop3/session-state.ts): it advances it on the replies that
 * end a login, on +OK to STLS and on QUIT, and refuses, before anything is queued or written, a command
 * the state forbids. Byte by byte, without a socket.
 */
import { describe, expect, it } from 'vitest';
import { type Pop3Command, Pop3Commands } from '../../../lib/pop3/commands.ts';
import { Pop3Connection } from '../../../lib/pop3/connection.ts';
import { Pop3UsageError } from '../../../lib/pop3/errors.ts';

/** A connection past its greeting, with every line it wrote recorded. */
function session(options: { tlsActive?: boolean } = {}) {
  const connection = new Pop3Connection<string>({ server: 'test:110', window: 8, ...options });
  const written: string[] = [];
  const take = () => written.push(...connection.takeWrites().map((line) => line.toString('latin1')));
  return {
    connection,
    written,
    send(command: Pop3Command<unknown>) {
      connection.submit(command, command.keyword);
      take();
    },
    server(text: string) {
      const events = connection.receive(Buffer.from(text, 'latin1'));
      take();
      return events;
    },
  };
}

/** The error `action` throws; fails the test when it returns. */
function refusal(action: () => void): Error {
  try {
    action();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a refusal, but the command was accepted');
}

describe('Pop3Connection: the session state follows the conversation', () => {
  it('refuses a TRANSACTION command before login by itself: nothing queued, nothing written', () => {
    const s = session();
    const error = refusal(() => s.send(Pop3Commands.retr(1)));
    expect(error).toBeInstanceOf(Pop3UsageError);
    expect(error.message).toBe('RETR is not allowed in the AUTHORIZATION state (allowed in TRANSACTION)');
    expect(s.written).toEqual([]);
    expect(s.connection.pending).toBeUndefined();
    expect(s.connection.state).toBe('AUTHORIZATION');
  });

  it('enters TRANSACTION on +OK to PASS, not on +OK to USER nor on -ERR to PASS', () => {
    const s = session();
    s.send(Pop3Commands.user('alice'));
    s.server('+OK\r\n');
    expect(s.connection.state).toBe('AUTHORIZATION');
    s.send(Pop3Commands.pass('wrong'));
    s.server('-ERR [AUTH] no\r\n');
    expect(s.connection.state).toBe('AUTHORIZATION');
    s.send(Pop3Commands.pass('secret'));
    expect(s.connection.state).toBe('AUTHORIZATION'); // sent is not answered
    s.server('+OK maildrop locked\r\n');
    expect(s.connection.state).toBe('TRANSACTION');
    s.send(Pop3Commands.stat());
    expect(s.written.at(-1)).toBe('STAT\r\n');
    expect(() => s.send(Pop3Commands.user('alice'))).toThrow(Pop3UsageError);
  });

  it('USER and PASS pipelined: TRANSACTION once the PASS reply is in', () => {
    const s = session();
    s.connection.pipelining = true;
    s.send(Pop3Commands.user('alice'));
    s.send(Pop3Commands.pass('secret'));
    expect(s.written).toEqual(['USER alice\r\n', 'PASS secret\r\n']);
    s.server('+OK\r\n');
    expect(s.connection.state).toBe('AUTHORIZATION');
    s.server('+OK\r\n');
    expect(s.connection.state).toBe('TRANSACTION');
  });

  it('AUTH: a "+" challenge goes on in AUTHORIZATION; the final +OK enters TRANSACTION', () => {
    const s = session();
    s.send(Pop3Commands.auth('CRAM-MD5'));
    s.server(`+ ${Buffer.from('<1.2@host>').toString('base64')}\r\n`);
    expect(s.connection.state).toBe('AUTHORIZATION');
    s.send(Pop3Commands.saslResponse(Buffer.from('alice 0123')));
    s.server('+OK\r\n');
    expect(s.connection.state).toBe('TRANSACTION');
  });

  it('APOP +OK enters TRANSACTION', () => {
    const s = session();
    s.send(Pop3Commands.apop('alice', 'c4c9334bac560ecc979e58001b3e22fb'));
    s.server('+OK\r\n');
    expect(s.connection.state).toBe('TRANSACTION');
  });

  it('after +OK to STLS, a second STLS is refused before any byte is written', () => {
    const s = session();
    s.send(Pop3Commands.stls());
    s.server('+OK Begin TLS negotiation\r\n');
    s.connection.resumeAfterTls();
    expect(s.connection.tlsActive).toBe(true);
    const error = refusal(() => s.send(Pop3Commands.stls()));
    expect(error).toBeInstanceOf(Pop3UsageError);
    expect(error.message).toMatch(/STLS cannot be sent twice/);
    expect(s.written).toEqual(['STLS\r\n']);
  });

  it('-ERR to STLS leaves TLS off: STLS may be asked again', () => {
    const s = session();
    s.send(Pop3Commands.stls());
    s.server('-ERR [SYS/TEMP] not now\r\n');
    expect(s.connection.tlsActive).toBe(false);
    s.send(Pop3Commands.stls());
    expect(s.written).toEqual(['STLS\r\n', 'STLS\r\n']);
  });

  it('on an implicit TLS connection STLS is refused from the start', () => {
    const s = session({ tlsActive: true });
    expect(() => s.send(Pop3Commands.stls())).toThrow(/TLS is already active/);
    expect(s.written).toEqual([]);
  });

  it('QUIT in TRANSACTION enters UPDATE as it is accepted; what follows is refused even while QUIT waits', () => {
    const s = session();
    s.send(Pop3Commands.pass('secret'));
    s.server('+OK\r\n');
    s.connection.pipelining = true;
    s.send(Pop3Commands.dele(1));
    s.send(Pop3Commands.quit()); // waits for the DELE reply: QUIT never joins a pipeline
    expect(s.connection.state).toBe('UPDATE');
    expect(s.connection.quitSent).toBe(true);
    expect(() => s.send(Pop3Commands.dele(2))).toThrow('DELE cannot be sent after QUIT');
    s.server('+OK\r\n');
    expect(s.written).toEqual(['PASS secret\r\n', 'DELE 1\r\n', 'QUIT\r\n']);
  });

  it('QUIT before login ends the session without UPDATE', () => {
    const s = session();
    s.send(Pop3Commands.quit());
    expect(s.connection.state).toBe('AUTHORIZATION');
    expect(s.connection.quitSent).toBe(true);
    expect(() => s.send(Pop3Commands.user('alice'))).toThrow(/after QUIT/);
  });
});
