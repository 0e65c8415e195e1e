/**
 * The sans-I/O POP3 protocol core: limits, errors, reply decoding, commands, parsers, the session
 * (Pop3Connection), login mechanisms and their plan, SASL and APOP.
 */
export * from './apop.ts';
export * from './body-lines.ts';
export * from './commands.ts';
export * from './connection.ts';
export * from './credentials.ts';
export * from './dot-unstuffer.ts';
export * from './errors.ts';
export * from './limits.ts';
export * from './login-mechanisms.ts';
export * from './login-plan.ts';
export * from './parsers.ts';
export * from './reply-decoder.ts';
export * from './response-codes.ts';
export * from './sasl.ts';
export * from './session-state.ts';
