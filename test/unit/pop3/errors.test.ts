import { describe, expect, it } from 'vitest';
import { Pop3Commands } from '../../../lib/pop3/commands.ts';
import {
  Pop3AuthenticationError,
  Pop3Error,
  Pop3MessageTooLargeError,
  Pop3ServerError,
  Pop3TimeoutError,
  Pop3UsageError,
} from '../../../lib/pop3/errors.ts';
import { SessionStateMachine } from '../../../lib/pop3/session-state.ts';

describe('Pop3ServerError: the server said -ERR', () => {
  it('says who answered what, with the code, and what to do about it', () => {
    const error = new Pop3ServerError('[SYS/TEMP] backend unavailable', {
      server: 'pop.example.com:995',
      command: 'RETR',
    });
    expect(error.message).toBe(
      'server pop.example.com:995 answered RETR with -ERR [SYS/TEMP]: "backend unavailable" ' +
        '(temporary server problem; retry later)',
    );
    expect(error).toMatchObject({
      serverText: 'backend unavailable',
      server: 'pop.example.com:995',
      command: 'RETR',
    });
    expect(error.responseCode).toEqual({ raw: 'SYS/TEMP', parts: ['SYS', 'TEMP'] });
    expect(error.name).toBe('Pop3ServerError');
  });

  it('matches codes along the hierarchy', () => {
    const error = new Pop3ServerError('[SYS/PERM] disk gone');
    expect(error.hasCode('SYS')).toBe(true);
    expect(error.hasCode('SYS/PERM')).toBe(true);
    expect(error.hasCode('SYS/TEMP')).toBe(false);
    expect(new Pop3ServerError('no code').hasCode('SYS')).toBe(false);
  });

  it('keeps only the command keyword, so a password never reaches a message or property', () => {
    const error = new Pop3AuthenticationError('[AUTH] invalid login', { command: 'PASS hunter2' });
    expect(error.command).toBe('PASS');
    expect(`${error.message} ${error.stack} ${JSON.stringify(error)}`).not.toContain('hunter2');
    expect(error).toBeInstanceOf(Pop3ServerError);
    expect(error.message).toContain('check username and secret');
  });

  it('escapes control characters so a server cannot forge log lines', () => {
    const error = new Pop3ServerError('bad\r\nINFO all good');
    expect(error.message).not.toMatch(/[\r\n]/);
    expect(error.message).toContain('"bad\\r\\nINFO all good"');
  });
});

describe('the other errors carry what the caller needs', () => {
  it('a timeout says in which phase', () => {
    const error = new Pop3TimeoutError('no greeting within 10000 ms', { phase: 'greeting', server: 'h:110' });
    expect(error).toMatchObject({ phase: 'greeting', server: 'h:110' });
    expect(error).toBeInstanceOf(Pop3Error);
  });

  it('a size limit says the limit and what was seen', () => {
    const error = new Pop3MessageTooLargeError('too big', { limit: 10, seen: 11 });
    expect(error).toMatchObject({ limit: 10, seen: 11, name: 'Pop3MessageTooLargeError' });
  });

  it('keeps the cause', () => {
    const cause = new Error('ECONNRESET');
    expect(new Pop3UsageError('wrapped', { cause }).cause).toBe(cause);
  });
});

describe('SessionStateMachine: which command may be sent when (RFC 1939 §3)', () => {
  const OK = { kind: '+OK' } as const;

  it('walks AUTHORIZATION, TRANSACTION, UPDATE', () => {
    const session = new SessionStateMachine();
    expect(session.state).toBe('AUTHORIZATION');
    session.onCommand(Pop3Commands.user('u'));
    expect(() => session.assertAllowed(Pop3Commands.retr(1))).toThrow(
      'RETR is not allowed in the AUTHORIZATION state (allowed in TRANSACTION)',
    );

    session.onReply(Pop3Commands.pass('p'), OK);
    expect(session.state).toBe('TRANSACTION');
    session.assertAllowed(Pop3Commands.retr(1));
    expect(() => session.assertAllowed(Pop3Commands.pass('p'))).toThrow(Pop3UsageError);

    session.onCommand(Pop3Commands.quit());
    expect(session.state).toBe('UPDATE');
    expect(() => session.assertAllowed(Pop3Commands.noop())).toThrow('NOOP cannot be sent after QUIT');
  });

  it('QUIT before login closes without UPDATE', () => {
    const session = new SessionStateMachine();
    session.onCommand(Pop3Commands.quit());
    expect(session.state).toBe('AUTHORIZATION');
    expect(session.quitSent).toBe(true);
    expect(() => session.assertAllowed(Pop3Commands.user('u'))).toThrow(Pop3UsageError);
  });

  it('refuses a second STLS and a second login', () => {
    const session = new SessionStateMachine();
    session.onCommand(Pop3Commands.stls());
    session.onReply(Pop3Commands.stls(), OK);
    expect(() => session.assertAllowed(Pop3Commands.stls())).toThrow(/TLS is already active/);
    session.onReply(Pop3Commands.pass('p'), OK);
    expect(() => session.onCommand(Pop3Commands.pass('p'))).toThrow(Pop3UsageError);
  });
});
