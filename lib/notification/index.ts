/** The SQS notification for a stored message: SES "Received" shape, built from the message's header section. */
export { formatAddress, type MailAddress, parseAddressList } from './addresses.ts';
export {
  type BuiltNotification,
  buildNotification,
  NOTIFICATION_MAX_BYTES,
  type NotificationInput,
} from './build.ts';
export { type HeaderField, parseHeaderFields } from './header-fields.ts';
export { DEFAULT_MAX_HEADER_BYTES, extractHeaderSection, HeaderCollector } from './header-section.ts';
export type * from './types.ts';
