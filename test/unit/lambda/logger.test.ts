/**
 * What reaches CloudWatch when a handler logs an error: the Error itself, formatted by Powertools Logger
 * with its name, message, stack and cause chain, never a string made of it.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { asRunLogger, createLogger, logEscapingError } from '../../../lib/lambda/logger.ts';

let lines: string[];
beforeEach(() => {
  lines = [];
  // Powertools writes INFO and WARN lines to stdout, ERROR lines to stderr; Lambda sends both to CloudWatch.
  for (const stream of [process.stdout, process.stderr]) {
    vi.spyOn(stream, 'write').mockImplementation((chunk) => {
      lines.push(String(chunk));
      return true;
    });
  }
});
afterEach(() => {
  vi.restoreAllMocks();
});

function logged(): Record<string, unknown>[] {
  return lines.map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** An SDK-like failure: a wrapper whose cause is the socket error that made it. */
function layeredError(): Error {
  const socket = Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:443'), { code: 'ECONNREFUSED' });
  return new Error('could not read the config', { cause: socket });
}

describe('logging an Error', () => {
  it('keeps name, message, stack and the cause chain of an Error passed in the data', () => {
    asRunLogger(createLogger()).error('deployed config unavailable', {
      jobMessageId: 'm1',
      error: layeredError(),
    });
    const [line] = logged();
    expect(line).toMatchObject({
      level: 'ERROR',
      message: 'deployed config unavailable',
      jobMessageId: 'm1',
      error: {
        name: 'Error',
        message: 'could not read the config',
        stack: expect.stringContaining('layeredError'),
        cause: { name: 'Error', message: 'connect ECONNREFUSED 10.0.0.1:443', code: 'ECONNREFUSED' },
      },
    });
  });

  it('logs an error escaping a handler with its cause, then rethrows that same error', async () => {
    const error = layeredError();
    await expect(
      logEscapingError(createLogger(), async () => {
        throw error;
      }),
    ).rejects.toBe(error);
    const [line] = logged();
    expect(line).toMatchObject({
      level: 'ERROR',
      message: 'invocation failed',
      error: { message: 'could not read the config', cause: { code: 'ECONNREFUSED' } },
    });
  });

  it('logs nothing and returns the result when the handler succeeds', async () => {
    await expect(logEscapingError(createLogger(), async () => 42)).resolves.toBe(42);
    expect(lines).toEqual([]);
  });
});
