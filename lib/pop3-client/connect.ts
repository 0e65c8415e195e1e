/**
 * Everything before the session's first command: the connection, the greeting (a silent plain port is
 * probed for TLS, tls-probe.ts), and STLS (RFC 2595 §4) when TLS is required on a plain port, which
 * never falls back to plaintext. Pop3Client.connect runs these in order, with CAPA in between.
 */
import { Pop3Commands } from '../pop3/commands.ts';
import { Pop3SecurityError, Pop3ServerError } from '../pop3/errors.ts';
import { type Capabilities, type Greeting, parseGreeting } from '../pop3/parsers.ts';
import { Conversation } from './conversation.ts';
import type { ResolvedClientOptions } from './options.ts';
import { greetingUnlessTlsPort } from './tls-probe.ts';
import { answersWithTls, Transport } from './transport.ts';

export interface Greeted {
  readonly transport: Transport;
  readonly conversation: Conversation;
  readonly greeting: Greeting;
}

/** Connects and reads the greeting; on any failure the connection is closed before the error is thrown. */
export async function connectAndGreet(options: ResolvedClientOptions): Promise<Greeted> {
  const { deadline, timeouts } = options;
  const transport = await Transport.connect({
    host: options.host,
    port: options.port,
    implicitTls: options.tls === 'implicit',
    tls: { ca: options.ca, servername: options.servername },
    connectTimeoutMs: deadline.cap(timeouts.connectMs),
    tlsTimeoutMs: deadline.cap(timeouts.tlsMs),
  });
  const conversation = new Conversation(transport, {
    idleTimeoutMs: timeouts.idleMs,
    deadline,
    window: options.pipelineWindow,
    maxListingOctets: options.maxListingOctets,
    maxListingEntries: options.maxListingEntries,
    pace: { replyMs: timeouts.replyMs, minBytesPerSecond: timeouts.minBytesPerSecond },
    onTrace: options.onTrace,
  });
  try {
    const greeted = conversation.greeting(deadline.cap(timeouts.greetingMs));
    const greeting = parseGreeting(
      await (options.tls === 'implicit'
        ? greeted
        : greetingUnlessTlsPort(
            greeted,
            () => answersWithTls(options.host, options.port, deadline.cap(timeouts.tlsMs)),
            timeouts.tlsProbeMs,
            transport.label,
          )),
    );
    return { transport, conversation, greeting };
  } catch (error) {
    conversation.fail(error instanceof Error ? error : new Error(String(error)));
    throw error;
  }
}

/**
 * STLS, then the handshake in place. A server that does not offer STLS, or refuses it, ends the connect
 * with Pop3SecurityError. Returns the octets that arrived before the handshake and were thrown away (a
 * hostile or broken server). The caller re-reads CAPA: what was learnt before TLS is forgotten.
 */
export async function startTls(
  { conversation, transport }: Omit<Greeted, 'greeting'>,
  options: ResolvedClientOptions,
  capabilities: Capabilities,
): Promise<number> {
  const server = conversation.server;
  if (!capabilities.stls) {
    throw new Pop3SecurityError(
      `${server} does not advertise STLS, and TLS is required; not falling back to plaintext`,
      { server },
    );
  }
  try {
    await conversation.send(Pop3Commands.stls());
  } catch (error) {
    if (!(error instanceof Pop3ServerError)) throw error;
    throw new Pop3SecurityError(
      `${server} refused STLS (${error.serverText}); not falling back to plaintext`,
      {
        server,
        cause: error,
      },
    );
  }
  return conversation.upgradeToTls(() =>
    transport.upgradeToTls(
      { ca: options.ca, servername: options.servername },
      options.host,
      options.deadline.cap(options.timeouts.tlsMs),
    ),
  );
}
