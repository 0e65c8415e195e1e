/**
 * The poll function's view of the deployed config: read from the same place as the dispatcher reads it,
 * checked by the same validator (validateDeployedConfig), and cached for the life of the container.
 *
 * A job names the config version the dispatcher read. While it matches the cached one no read is made;
 * when it differs the document is read again, so an edited config applies from the first job dispatched
 * with it. A job only ever selects a mailbox by id: host, port, TLS and secret all come from here, never
 * from the job, so whoever can put a job on the queue can at most ask for a deployed mailbox to be polled.
 */
import type { MailboxConfig } from '../config/types.ts';
import {
  type ConfigLocation,
  type ConfigReaders,
  describeConfigLocation,
  readConfigDocument,
} from './config-source.ts';
import { validateDeployedConfig } from './deployed-config.ts';

export interface DeployedMailboxes {
  /** The version of the document these mailboxes come from (SHA-256 of its text). */
  readonly version: string;
  readonly byId: ReadonlyMap<string, MailboxConfig>;
  /** Whether this lookup read the document (false: served from the container's cache). */
  readonly read: boolean;
}

interface CachedConfig {
  readonly location: string;
  readonly version: string;
  readonly byId: ReadonlyMap<string, MailboxConfig>;
}

export class DeployedConfigCache {
  readonly #readers: ConfigReaders;
  #cached: CachedConfig | undefined;

  constructor(readers: ConfigReaders) {
    this.#readers = readers;
  }

  /**
   * The deployed mailboxes for a job dispatched from config version `version`. Throws what reading or
   * validating throws (the caller retries the job later); a failed read leaves the cache as it was.
   */
  async mailboxesFor(location: ConfigLocation, version: string): Promise<DeployedMailboxes> {
    const where = describeConfigLocation(location);
    const cached = this.#cached;
    if (cached !== undefined && cached.location === where && cached.version === version) {
      return { version: cached.version, byId: cached.byId, read: false };
    }
    const { document, version: readVersion } = await readConfigDocument(location, this.#readers);
    const config = validateDeployedConfig(document);
    const byId = new Map(config.mailboxes.map((mailbox) => [mailbox.id, mailbox]));
    this.#cached = { location: where, version: readVersion, byId };
    return { version: readVersion, byId, read: true };
  }
}
