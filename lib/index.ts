/**
 * The library API of the `mailbox-poller` package (`import { pollMailbox } from 'mailbox-poller'`): the
 * ingestion pipeline, the POP3 client and the ports the pipeline is written against. Everything exported
 * here is covered by semver; the modules behind it are not. The CDK construct is `mailbox-poller/cdk`,
 * the notification types `mailbox-poller/notification`, the JSON Schemas `mailbox-poller/schema/*.json`.
 *
 * What is here: the pipeline (pollMailbox, pollMailboxes, Deadline, the outcome), the ports (MessageStore,
 * Notifier, CredentialsProvider, Clock), the mailbox configuration (parseConfig, loadConfigFile; validated
 * against schema/config.schema.json), the POP3 client with its errors (each says what to do next), and
 * the notification body's types (SES "Received" shape).
 *
 * Nothing here imports an AWS SDK: bring your own MessageStore and Notifier (lib/ports.ts), or use the
 * CLI and the construct, which ship the S3 and SQS ones.
 */

export { ConfigError, loadConfigFile, parseConfig } from './config/load-config.ts';
export type { AuthMethod, MailboxConfig, MailboxLimits, PollerConfig, TlsMode } from './config/types.ts';
export { Deadline, type MonotonicClock } from './deadline.ts';
export type * from './notification/types.ts';
export type {
  MailboxOutcome,
  OutcomeCounts,
  OutcomeStatus,
  SkippedMessage,
} from './pipeline/outcome.ts';
export {
  type PollLogger,
  type PollOptions,
  type PollPorts,
  pollMailbox,
  pollMailboxes,
} from './pipeline/poll-mailbox.ts';
export {
  Pop3AuthenticationError,
  Pop3ConnectionError,
  Pop3Error,
  type Pop3ErrorOptions,
  Pop3MessageTooLargeError,
  Pop3ProtocolError,
  Pop3SecurityError,
  Pop3ServerError,
  Pop3TimeoutError,
  Pop3UsageError,
  type TimeoutPhase,
} from './pop3/errors.ts';
export { Pop3Client, type QuitResult } from './pop3-client/client.ts';
export type { Pop3ClientOptions, Pop3Timeouts } from './pop3-client/options.ts';
export {
  type Clock,
  type Credentials,
  type CredentialsProvider,
  type KeptMessage,
  type MailboxState,
  type MailboxStateStore,
  type MessageStore,
  type MessageToStore,
  type NotificationResult,
  type NotificationTimes,
  type Notifier,
  type OutgoingNotification,
  type SecretRef,
  StateConflictError,
  StateTooLargeError,
  type StoredMessage,
  systemClock,
  type VersionedState,
} from './ports.ts';
