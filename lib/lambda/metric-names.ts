/**
 * The names of the poll metrics and their dimensions: shared by the functions that publish them
 * (lib/lambda/metrics.ts) and the construct's alarms, dashboard and metric helpers (infra/). Kept free of
 * any import, so the compiled construct does not load the Lambda-side Powertools packages.
 */

export const METRIC_NAMES = {
  messagesRetrieved: 'MessagesRetrieved',
  bytesRetrieved: 'BytesRetrieved',
  messagesLeft: 'MessagesLeft',
  messagesSkipped: 'MessagesSkipped',
  pollFailures: 'PollFailures',
  authFailures: 'AuthFailures',
  /** OAuth2 grants refused for good (reason auth-revoked): a person must consent again or renew a secret. */
  authRevoked: 'AuthRevoked',
  pollDuration: 'PollDuration',
  /** Retrieved messages whose store or notification failed: still on the server, to be taken next run. */
  uncommittedMessages: 'UncommittedMessages',
  droppedJobs: 'DroppedJobs',
  /** Keep mode only: listed messages already ingested earlier, left on the server. */
  messagesKept: 'MessagesKept',
  /** Keep mode only: new messages ingested this run. */
  messagesIngested: 'MessagesIngested',
  /** Keep mode only: messages deleted by deleteAfterDays. */
  messagesDeletedAfterDays: 'MessagesDeletedAfterDays',
  /** Keep mode only: messages due for deleteAfterDays left on the server, unproven (KeepCounts.deletionWithheld). */
  messagesDeletionWithheld: 'MessagesDeletionWithheld',
  /** Keep mode only: due messages whose content differs from the stored one: ingested as new (KeepCounts.reusedUidl). */
  reusedUidls: 'ReusedUidls',
  /**
   * 1 per mailbox run, dimension State (lib/health/states.ts): the Sum over one schedule period counts the
   * mailboxes in each state without a metric per mailbox. A mailbox held back by its circuit breaker still
   * counts (as needs-attention) each time its job comes round.
   */
  mailboxHealth: 'MailboxHealth',
  /** The parse stage: stored messages parsed into a document (status parsed). */
  messagesParsed: 'MessagesParsed',
  /** The parse stage: messages the parser gave up on (document status failed, with the reason). */
  parseFailures: 'ParseFailures',
} as const;

/** The dimension names of every metric set, as the alarms and the dashboard query them. */
export const METRIC_DIMENSIONS = {
  service: 'Service',
  mailboxId: 'MailboxId',
  reason: 'Reason',
  /** Of MailboxHealth: one of HEALTH_STATES. */
  state: 'State',
} as const;

/** Why a job was deleted without polling anything (the Reason of DroppedJobs; docs/deploy.md lists them). */
export const DROP_REASONS = ['bad-job', 'unknown-mailbox'] as const;

export type DropReason = (typeof DROP_REASONS)[number];

export const DEFAULT_METRICS_NAMESPACE = 'MailboxPoller';

/**
 * Poll metrics per MailboxId as well as per Service: off unless asked for. Each mailbox adds 7 custom
 * metrics at $0.30 each a month (docs/deploy.md, "Scale and cost"); the fleet's health comes from
 * MailboxHealth by State and the poll log lines instead. Read by the construct's default and by the poll
 * function when PER_MAILBOX_METRICS is not set, so the two cannot disagree.
 */
export const PER_MAILBOX_METRICS_DEFAULT = false;
