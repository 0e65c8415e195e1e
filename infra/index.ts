/**
 * The CDK entry point of the `mailbox-poller` package:
 *
 *   import { MailboxIngestion } from 'mailbox-poller/cdk';
 *
 * Everything exported here is covered by semver. aws-cdk-lib and constructs are peer dependencies: the
 * app's own copies are used.
 */
export type { IngestionAlarms } from './alarms.ts';
export type { FleetHealth } from './fleet-health.ts';
export { FUNCTION_CODE_CONTEXT } from './function-code.ts';
export * from './mailbox-ingestion.ts';
export type { ParseStage } from './parse-stage.ts';
