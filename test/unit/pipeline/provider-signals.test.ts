/**
 * What servers say when they want to be left alone, and what the run makes of it: [LOGIN-DELAY n] (with
 * the wait carried to the CLI and the Lambda job), [IN-USE], and quota or rate texts ("Download
 * exceeded", "too many ...") that are retried later as `rate-limited`, not reported as failures.
 */
import { describe, expect, it } from 'vitest';
import { formatProblems } from '../../../lib/cli/report.ts';
import { decideDisposition } from '../../../lib/lambda/disposition.ts';
import { classifyFailure } from '../../../lib/pipeline/classify-failure.ts';
import { RunRecord } from '../../../lib/pipeline/run-record.ts';
import { Pop3AuthenticationError, Pop3ConnectionError, Pop3ServerError } from '../../../lib/pop3/errors.ts';
import { isRateOrQuotaText, parseResponseCode } from '../../../lib/pop3/response-codes.ts';

const policy = { maxReceiveCount: 5 };

describe('[LOGIN-DELAY n]', () => {
  it('parses the seconds some servers put in the code, and keeps the RFC 2449 form', () => {
    expect(parseResponseCode('[LOGIN-DELAY 900] wait').code).toEqual({
      raw: 'LOGIN-DELAY',
      parts: ['LOGIN-DELAY'],
      seconds: 900,
    });
    expect(parseResponseCode('[LOGIN-DELAY] wait').code?.seconds).toBeUndefined();
  });

  it('is retry-later with retryAfterSeconds, and the Lambda job waits that long', () => {
    const error = new Pop3AuthenticationError('[LOGIN-DELAY 900] minimum time between logins not elapsed', {
      command: 'PASS',
    });
    const classified = classifyFailure(error);
    expect(classified).toMatchObject({
      status: 'retry-later',
      reason: 'LOGIN-DELAY',
      retryAfterSeconds: 900,
    });
    const outcome = new RunRecord('box').fail(error);
    expect(outcome.retryAfterSeconds).toBe(900);
    expect(decideDisposition(outcome, 1, policy)).toEqual({ action: 'retry', visibilityTimeoutSeconds: 900 });
    expect(formatProblems([outcome])).toMatch(
      /box: the server allows the next poll in 900 s \(\d{4}-\d\d-\d\dT/,
    );
  });

  it('a wait beyond the 12 h SQS allows falls back to the usual backoff', () => {
    const outcome = new RunRecord('box').fail(new Pop3AuthenticationError('[LOGIN-DELAY 86400] tomorrow'));
    expect(decideDisposition(outcome, 1, policy)).toEqual({ action: 'retry', visibilityTimeoutSeconds: 30 });
  });

  it('without a number, no retryAfterSeconds (unless CAPA gave one, see client-provider-gmail)', () => {
    const outcome = new RunRecord('box').fail(new Pop3AuthenticationError('[LOGIN-DELAY] too soon'));
    expect(outcome).toMatchObject({ status: 'retry-later', reason: 'LOGIN-DELAY' });
    expect(outcome.retryAfterSeconds).toBeUndefined();
  });
});

describe('[IN-USE]', () => {
  it('is retry-later, on login or on any command', () => {
    for (const error of [
      new Pop3AuthenticationError('[IN-USE] Do you have another POP session running?', { command: 'PASS' }),
      new Pop3ServerError('[IN-USE] mailbox locked', { command: 'UIDL' }),
    ]) {
      expect(classifyFailure(error)).toMatchObject({ status: 'retry-later', reason: 'IN-USE' });
    }
  });
});

describe('quota and rate texts', () => {
  const texts = [
    'Download exceeded; try again later', // Gmail's bandwidth limit
    '[SYS/TEMP] Too many simultaneous connections',
    'too many login attempts, slow down',
    'Rate limit exceeded',
    'Daily quota exceeded',
    'Request throttled',
  ];

  it.each(texts)('%s → rate-limited (retry-later)', (text) => {
    expect(isRateOrQuotaText(text.replace(/^\[[^\]]+\] /, ''))).toBe(true);
    const classified = classifyFailure(new Pop3ServerError(text, { command: 'RETR' }));
    expect(classified.status).toBe('retry-later');
    if (!text.startsWith('[SYS/TEMP]')) expect(classified.reason).toBe('rate-limited');
  });

  it('other refusals are not taken for one', () => {
    for (const text of ['no such message', '[AUTH] invalid password', 'Web login required']) {
      expect(isRateOrQuotaText(text)).toBe(false);
    }
    expect(classifyFailure(new Pop3AuthenticationError('[AUTH] invalid password')).reason).toBe('auth');
  });

  it('a rate stop is kept when the server then drops the connection', () => {
    const run = new RunRecord('box');
    run.stop({ reason: 'rate-limited', message: 'Download exceeded' });
    const outcome = run.fail(new Pop3ConnectionError('closed'));
    expect(outcome).toMatchObject({ status: 'retry-later', reason: 'rate-limited' });
  });
});
