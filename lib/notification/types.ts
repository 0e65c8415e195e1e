/**
 * The SQS message body: an Amazon SES email-receiving notification (`notificationType: "Received"`, as
 * SES publishes for an S3 receipt action), plus a `pop3` object of our own. Field names and shapes follow
 * the SES documentation ("Contents of notifications for Amazon SES email receiving") so that code written
 * for SES notifications reads these unchanged. schema/notification.schema.json describes the same shape.
 */
import type { HeaderField } from './header-fields.ts';

/**
 * SES's verdict statuses. DISABLED: not checked (always for virusVerdict; for the others when the
 * provider left nothing the mailbox trusts). See lib/notification/verdicts.ts and docs/notification.md.
 */
export type SesVerdictStatus = 'PASS' | 'FAIL' | 'GRAY' | 'PROCESSING_FAILED' | 'DISABLED';

export interface SesVerdict {
  readonly status: SesVerdictStatus;
}

/** The sending domain's DMARC policy, as SES reports it when a message fails DMARC. */
export type SesDmarcPolicy = 'none' | 'quarantine' | 'reject';

/**
 * The commonly used headers, as SES reports them: present only when the message has the header.
 * Address fields are display strings (`Name <addr>`); `subject` is RFC 2047 decoded; `messageId` and
 * `date` are the header values as written; `returnPath` is the bare address.
 */
export interface SesCommonHeaders {
  returnPath?: string;
  from?: string[];
  sender?: string[];
  replyTo?: string[];
  date?: string;
  to?: string[];
  cc?: string[];
  bcc?: string[];
  messageId?: string;
  subject?: string;
}

export interface SesMail {
  /** When the message was retrieved from the POP3 server (ISO 8601). */
  timestamp: string;
  /** Return-Path address, or the first From address when there is none; '' when neither exists. */
  source: string;
  /** Message-ID without angle brackets, or the SHA-256 of the message when it has none. */
  messageId: string;
  /** Addresses from To, Cc and Bcc, in that order. */
  destination: string[];
  /** True when `headers` does not list every header field of the message. */
  headersTruncated: boolean;
  headers: HeaderField[];
  commonHeaders: SesCommonHeaders;
}

export interface SesS3Action {
  type: 'S3';
  bucketName: string;
  objectKey: string;
}

export interface SesReceipt {
  /** When the notification was built: retrieval time plus processing time (ISO 8601). */
  timestamp: string;
  processingTimeMillis: number;
  /** POP3 has no envelope: the header recipients (same as `mail.destination`). */
  recipients: string[];
  spamVerdict: SesVerdict;
  virusVerdict: SesVerdict;
  spfVerdict: SesVerdict;
  dkimVerdict: SesVerdict;
  dmarcVerdict: SesVerdict;
  /** Present only when dmarcVerdict is FAIL and the provider recorded the sender's policy (as SES). */
  dmarcPolicy?: SesDmarcPolicy;
  action: SesS3Action;
}

/** Where the message came from: what SES cannot say about a POP3 mailbox. */
export interface Pop3Origin {
  mailboxId: string;
  host: string;
  username: string;
  /** RFC 1939 unique-id, or null when the server offers no UIDL. */
  uidl: string | null;
  /** Size in octets of the stored message. */
  size: number;
  /** SHA-256 of the stored message, lowercase hex. */
  sha256: string;
  retrievedAt: string;
}

export interface ReceivedNotification {
  notificationType: 'Received';
  mail: SesMail;
  receipt: SesReceipt;
  pop3: Pop3Origin;
}

export type { HeaderField };
