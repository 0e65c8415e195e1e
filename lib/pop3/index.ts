/** The sans-I/O POP3 protocol core: limits, errors, reply decoding, commands, parsers, SASL and APOP. */
export * from './apop.ts';
export * from './body-lines.ts';
export * from './commands.ts';
export * from './dot-unstuffer.ts';
export * from './errors.ts';
export * from './limits.ts';
export * from './parsers.ts';
export * from './reply-decoder.ts';
export * from './response-codes.ts';
export * from './sasl.ts';
export * from './session-state.ts';
