/**
 * The ports the ingestion pipeline depends on. Adapters (S3, SQS, Secrets Manager, local files) live in
 * lib/adapters and are chosen by the edge (CLI, Lambda handlers); the pipeline never imports an SDK.
 */
import type { Readable } from 'node:stream';

/** What the message store needs to know about one retrieved message. */
export interface MessageToStore {
  readonly mailboxId: string;
  /** RFC 1939 unique-id, or undefined when the server has no UIDL. */
  readonly uidl: string | undefined;
  /** Size the server announced in LIST (may be wrong: only a hint). */
  readonly listedSize: number | undefined;
  /** The exact unstuffed RETR bytes. */
  readonly body: Readable;
  readonly retrievedAt: Date;
  /**
   * The run's deadline (Deadline.signal()): the store abandons its requests when it aborts and the put
   * rejects, so the message is not committed (no DELE) and the next run stores it again.
   */
  readonly signal?: AbortSignal;
  /**
   * What the message's notification is built from besides its bytes, for a store that keeps it with the
   * object (S3 metadata, lib/replay/metadata.ts) so that `mailbox-poller replay` can build the same
   * notification again. Undefined: the store keeps none.
   */
  readonly notificationContext?: NotificationContext;
}

/** The inputs of a message's notification (lib/notification/build.ts) that are not in its bytes. */
export interface NotificationContext {
  readonly host: string;
  readonly username: string;
  /** The mailbox's `trustedAuthservId` setting as configured (undefined: the provider default). */
  readonly trustedAuthservId: string | readonly string[] | undefined;
  /** Whether the session ran in UTF-8 mode; undefined when the notification leaves `pop3.utf8` out. */
  readonly utf8: boolean | undefined;
  /**
   * Milliseconds since the retrieval started (the notification's `processingTimeMillis`). The first call
   * fixes the value: a store calls it once, when it issues the write that sets the object's metadata, and
   * the notification then carries that same value.
   */
  readonly processingTimeMillis: () => number;
}

export interface StoredMessage {
  /** Object key (S3) or relative path (local store). */
  readonly key: string;
  /** Bucket name, or the output folder for the local store. */
  readonly location: string;
  /** SHA-256 of the stored bytes, lowercase hex. */
  readonly sha256: string;
  readonly size: number;
  /** False when an identical object was already there (a re-poll after an interrupted session). */
  readonly created: boolean;
  /**
   * When `created` is false: the retrieval and processing time the existing object keeps (those of the
   * run that first stored it), so that the notification sent again says what the first one said and what
   * `replay` rebuilds. Undefined for a new object, an object that keeps no times (stored before they were
   * kept) and a store that keeps none: the notification then takes this run's.
   */
  readonly firstStored?: NotificationTimes;
}

/** The times a notification carries besides the message's own data (`retrievedAt`, `processingTimeMillis`). */
export interface NotificationTimes {
  readonly retrievedAt: Date;
  readonly processingTimeMillis: number;
}

export interface MessageStore {
  /** Resolves only once the object is durable and its checksum was verified by the store. */
  put(message: MessageToStore): Promise<StoredMessage>;
}

/** One queued notification: the body is the SES-shaped JSON document. */
export interface OutgoingNotification {
  /** Unique within one batch. */
  readonly entryId: string;
  readonly body: string;
  readonly mailboxId: string;
  /** Used as FIFO MessageDeduplicationId (hashed to fit); the object key. */
  readonly deduplicationKey: string;
}

export type NotificationResult =
  | { readonly entryId: string; readonly ok: true }
  | { readonly entryId: string; readonly ok: false; readonly reason: string };

export interface Notifier {
  /** Largest batch `send` accepts (10 for SQS). */
  readonly maxBatchSize: number;
  /**
   * Sends a batch; resolves with one result per entry (per-entry success, never all-or-nothing). When
   * `signal` (the run's deadline) aborts, requests in flight are abandoned and their entries fail.
   */
  send(batch: readonly OutgoingNotification[], options?: NotifyOptions): Promise<NotificationResult[]>;
}

export interface NotifyOptions {
  readonly signal?: AbortSignal;
}

/**
 * Defined by the protocol layer (lib/pop3/credentials.ts), which uses them without depending on ports.
 * Re-exported because it is public API: lib/index.ts exports it from here, beside CredentialsProvider.
 */
export type { Credentials } from './pop3/credentials.ts';

import type { Credentials } from './pop3/credentials.ts';

export interface CredentialsProvider {
  /**
   * Resolves the secret reference of one mailbox. Errors must never contain the secret. `signal` is the
   * run's deadline: a token request still running when it aborts is abandoned.
   */
  resolve(
    ref: SecretRef,
    username: string,
    kind?: Credentials['kind'],
    options?: { readonly signal?: AbortSignal },
  ): Promise<Credentials>;
}

/** Where a mailbox's password or token comes from (see lib/config). */
export type SecretRef =
  | { readonly literal: string }
  | { readonly env: string }
  | { readonly secretId: string; readonly field?: string }
  /** An OAuth2 grant (docs/oauth2.md): the access token is requested, and renewed, from a token endpoint. */
  | { readonly oauth2: OAuth2SecretRef };

export type OAuth2Grant = 'client_credentials' | 'refresh_token';
export type OAuth2Provider = 'microsoft' | 'google';

/**
 * Non-secret OAuth2 settings a mailbox config may give (lib/config); lib/oauth/settings.ts completes them
 * from the secret document. Declared here, with the SecretRef that carries them, so the ports import
 * nothing from the adapters' layer.
 */
export interface OAuth2Settings {
  readonly grant: OAuth2Grant;
  readonly provider?: OAuth2Provider | undefined;
  readonly tenant?: string | undefined;
  readonly clientId?: string | undefined;
  readonly scope?: string | undefined;
  readonly tokenUrl?: string | undefined;
}

/** Where an OAuth2 credential document lives (Secrets Manager, or a local file for the CLI) and its settings. */
export interface OAuth2SecretRef extends OAuth2Settings {
  readonly secret: { readonly secretId: string } | { readonly file: string };
}

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/**
 * One UIDL a keep-mode mailbox has already seen (lib/pipeline/keep-state.ts). `size` is the LIST size at
 * the time, so a UIDL the server reuses for a different message is noticed; `ingestedAt` is when its
 * commit (stored + notified) happened, or undefined for a message recorded by `initial` without being
 * ingested (never deleted by `deleteAfterDays`).
 */
export interface KeptMessage {
  /**
   * The state id: the unique-id, or `sha256:` and its hash for one outside RFC 1939 (lib/pipeline/
   * keep-state-id.ts), so that a long unique-id does not make the state long.
   */
  readonly uidl: string;
  readonly size: number;
  /** Milliseconds since the epoch. */
  readonly ingestedAt: number | undefined;
  /**
   * SHA-256 (hex) of the stored bytes, for messages ingested since digests were kept: `deleteAfterDays`
   * DELEs a message only when the server's copy hashes to it. Undefined: never deleted by the days.
   */
  readonly sha256?: string;
}

export interface MailboxState {
  readonly messages: readonly KeptMessage[];
}

/** The state as loaded, with the version a save must name to replace it. */
export interface VersionedState {
  readonly state: MailboxState;
  /** Opaque: the S3 ETag, or the local file's counter. */
  readonly version: string;
}

export interface MailboxStateStore {
  /** Undefined when the mailbox has no state yet (its first keep-mode run). */
  load(mailboxId: string, options?: { signal?: AbortSignal }): Promise<VersionedState | undefined>;
  /**
   * Replaces the state only if it is still at `expectedVersion` (undefined: only if there is none);
   * otherwise rejects with a StateConflictError and changes nothing. Resolves with the new version.
   */
  save(
    mailboxId: string,
    state: MailboxState,
    expectedVersion: string | undefined,
    options?: { signal?: AbortSignal },
  ): Promise<string>;
}

/** Another writer changed the state since it was loaded: this run must not commit anything on its basis. */
export class StateConflictError extends Error {
  override readonly name = 'StateConflictError';
}

import type { MailboxHealth, VersionedHealth } from './health/record.ts';

/**
 * Where each mailbox's health record lives (lib/health/record.ts): an S3 object beside the keep-mode
 * state, or a local file for the CLI. Read once per run, written only when the record changed.
 */
export interface MailboxHealthStore {
  /** Undefined when the mailbox has no record yet. */
  load(mailboxId: string, options?: { signal?: AbortSignal }): Promise<VersionedHealth | undefined>;
  /**
   * Replaces the record only if it is still at `expectedVersion` (undefined: only if there is none);
   * otherwise rejects with a StateConflictError. Resolves with the new version.
   */
  save(
    health: MailboxHealth,
    expectedVersion: string | undefined,
    options?: { signal?: AbortSignal },
  ): Promise<string>;
  /** Every record in the store, for `mailbox-poller status` without a configuration. */
  list(options?: { signal?: AbortSignal }): Promise<MailboxHealth[]>;
}

/**
 * The state expands to more than keep mode writes for the listings it accepts (lib/adapters/
 * mailbox-state-codec.ts): it is refused before it is expanded, and a person must act (`listing-too-long`).
 */
export class StateTooLargeError extends Error {
  override readonly name = 'StateTooLargeError';
}
