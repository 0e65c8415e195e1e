/** Client options and their defaults, in one place. */

import { Deadline } from '../deadline.ts';
import type { TlsMode, XOAuth2Form } from '../pop3/credentials.ts';
import { DEFAULT_MAX_LISTING_ENTRIES, DEFAULT_MAX_LISTING_OCTETS } from '../pop3/limits.ts';
import { TLS_PROBE_AFTER_MS } from './tls-probe.ts';

export interface Pop3Timeouts {
  /** TCP connect. @default 10_000 */
  readonly connectMs?: number;
  /** TLS handshake (implicit or STLS). @default 10_000 */
  readonly tlsMs?: number;
  /** From connect to the greeting. @default 15_000 */
  readonly greetingMs?: number;
  /**
   * A plain (`starttls`/`none`) connection still without a greeting after this long has its port probed
   * for TLS (lib/pop3-client/tls-probe.ts). @default TLS_PROBE_AFTER_MS (1.5 s)
   */
  readonly tlsProbeMs?: number;
  /** Silence while a reply is awaited and we are not the ones holding back. @default 30_000 */
  readonly idleMs?: number;
  /**
   * Time one reply may take on top of what its size earns at `minBytesPerSecond`; time we spend holding
   * the server back (backpressure) does not count. Silence is the idle timeout's job; this one stops a
   * server that sends a byte now and then, which the idle timeout never sees. @default 60_000
   */
  readonly replyMs?: number;
  /**
   * Slowest average rate a reply may arrive at once `replyMs` is used up: 1 KiB/s, ~8 kbit/s, below any
   * real link, so only a trickling server (hostile or broken) falls under it. @default 1024
   */
  readonly minBytesPerSecond?: number;
}

export interface Pop3ClientOptions {
  readonly host: string;
  /** @default 995 for implicit TLS, 110 otherwise */
  readonly port?: number;
  /** @default 'implicit' */
  readonly tls?: TlsMode;
  /** Extra trusted CA certificates (PEM) for this server. */
  readonly ca?: string;
  /** Name the certificate must match, when it differs from `host`. */
  readonly servername?: string;
  /** Allows sending a password or token over a connection without TLS. @default false */
  readonly allowInsecureAuth?: boolean;
  /** Pipeline commands when the server advertises PIPELINING. @default true */
  readonly pipelining?: boolean;
  /**
   * The XOAUTH2 form the provider needs (its profile, lib/config/providers.ts). @default undefined: one-step
   * when it fits the 255-octet AUTH line, else two-step
   */
  readonly xoauth2Form?: XOAuth2Form;
  /**
   * Send UTF8 after login when CAPA lists it (RFC 6856), so messages with 8-bit headers come as the sender
   * sent them instead of rewritten for legacy clients. @default true
   */
  readonly utf8?: boolean;
  /** Most commands in flight at once while pipelining. @default 64 */
  readonly pipelineWindow?: number;
  readonly timeouts?: Pop3Timeouts;
  /** One deadline for everything this client does. @default Deadline.never() */
  readonly deadline?: Deadline;
  /** A RETR/TOP body above this fails with Pop3MessageTooLargeError. @default Infinity */
  readonly maxMessageBytes?: number;
  /** Cap on a LIST/UIDL/CAPA body. @default DEFAULT_MAX_LISTING_OCTETS */
  readonly maxListingOctets?: number;
  /**
   * Entries kept from a LIST or UIDL listing; the lines past them are checked and dropped, and counted in
   * the listing's `omitted`. The pipeline sizes it from the per-run message limit (maxListingEntriesFor).
   * @default DEFAULT_MAX_LISTING_ENTRIES
   */
  readonly maxListingEntries?: number;
  /** Sees the conversation: each command as its redacted display, each status line, each body's size. */
  readonly onTrace?: TraceListener;
  /**
   * `auth: "auto"` tries this mechanism first when the server offers it ('USER', 'PLAIN', 'APOP', ...):
   * what worked last time, from a record kept outside the process. @default what worked last in this
   * process for the same host, port and user (lib/pop3-client/mechanism-memory.ts), else none
   */
  readonly preferredMechanism?: string;
}

/** 'C' for what we sent (secrets redacted), 'S' for what the server answered (bodies only by size). */
export type TraceListener = (direction: 'C' | 'S', line: string) => void;

export interface ResolvedClientOptions {
  readonly host: string;
  readonly port: number;
  readonly tls: TlsMode;
  readonly ca: string | undefined;
  readonly servername: string | undefined;
  readonly allowInsecureAuth: boolean;
  readonly pipelining: boolean;
  readonly xoauth2Form: XOAuth2Form | undefined;
  readonly utf8: boolean;
  readonly pipelineWindow: number;
  readonly timeouts: Required<Pop3Timeouts>;
  readonly deadline: Deadline;
  readonly maxMessageBytes: number;
  readonly maxListingOctets: number;
  readonly maxListingEntries: number;
  readonly onTrace: TraceListener | undefined;
  readonly preferredMechanism: string | undefined;
}

export function resolveClientOptions(options: Pop3ClientOptions): ResolvedClientOptions {
  const tls = options.tls ?? 'implicit';
  return {
    host: options.host,
    port: options.port ?? (tls === 'implicit' ? 995 : 110),
    tls,
    ca: options.ca,
    servername: options.servername,
    allowInsecureAuth: options.allowInsecureAuth ?? false,
    pipelining: options.pipelining ?? true,
    xoauth2Form: options.xoauth2Form,
    utf8: options.utf8 ?? true,
    pipelineWindow: Math.max(1, options.pipelineWindow ?? 64),
    timeouts: {
      connectMs: options.timeouts?.connectMs ?? 10_000,
      tlsMs: options.timeouts?.tlsMs ?? 10_000,
      greetingMs: options.timeouts?.greetingMs ?? 15_000,
      tlsProbeMs: options.timeouts?.tlsProbeMs ?? TLS_PROBE_AFTER_MS,
      idleMs: options.timeouts?.idleMs ?? 30_000,
      replyMs: options.timeouts?.replyMs ?? 60_000,
      minBytesPerSecond: options.timeouts?.minBytesPerSecond ?? 1024,
    },
    deadline: options.deadline ?? Deadline.never(),
    maxMessageBytes: options.maxMessageBytes ?? Number.POSITIVE_INFINITY,
    maxListingOctets: options.maxListingOctets ?? DEFAULT_MAX_LISTING_OCTETS,
    maxListingEntries: Math.max(1, options.maxListingEntries ?? DEFAULT_MAX_LISTING_ENTRIES),
    onTrace: options.onTrace,
    preferredMechanism: options.preferredMechanism,
  };
}
