/**
 * The login mechanism that worked last, per server and user, for as long as the process lives (a warm
 * Lambda container, a long CLI run). `auth: "auto"` tries it first (LoginPlan's preferredMechanism), so a
 * server whose best-ranked offer is not configured (an APOP timestamp without an APOP secret, SASL
 * CRAM-MD5 without a plaintext password) costs its refusal once per process, not once per run: fewer
 * failed logins on the server's counter and one round trip less.
 *
 * Only a name is kept ('USER', 'PLAIN', ...), never a secret. The key is host, port and user name, the
 * three that decide which password check the server runs. The size is bounded: one process polls at most
 * the mailboxes of its configuration, and the oldest entry goes when a new one would exceed the bound.
 * A record that lives longer (a health record across containers) passes its own value through
 * `preferredMechanism` and reads the result back from `Pop3Client.mechanismUsed`.
 */

/**
 * Entries kept. Our own bound: a poll Lambda handles one mailbox per job and a CLI run its configuration;
 * 1,000 names of ~100 octets each cost ~100 KB at most.
 */
export const MAX_REMEMBERED_MECHANISMS = 1000;

export class MechanismMemory {
  readonly #byKey = new Map<string, string>();
  readonly #max: number;

  constructor(max = MAX_REMEMBERED_MECHANISMS) {
    this.#max = Math.max(1, max);
  }

  get size(): number {
    return this.#byKey.size;
  }

  recall(host: string, port: number, username: string): string | undefined {
    return this.#byKey.get(keyOf(host, port, username));
  }

  remember(host: string, port: number, username: string, mechanism: string): void {
    const key = keyOf(host, port, username);
    // Re-inserting moves the entry to the end of the Map's order: the first key is the least recent.
    this.#byKey.delete(key);
    this.#byKey.set(key, mechanism);
    if (this.#byKey.size > this.#max) {
      const oldest = this.#byKey.keys().next().value;
      if (oldest !== undefined) this.#byKey.delete(oldest);
    }
  }

  forget(host: string, port: number, username: string): void {
    this.#byKey.delete(keyOf(host, port, username));
  }
}

/** Host names are case-insensitive (RFC 4343); user names are left as typed (servers differ). */
function keyOf(host: string, port: number, username: string): string {
  return `${host.toLowerCase()}\0${port}\0${username}`;
}

/** The process-wide memory Pop3Client.connectAndLogin uses. */
export const rememberedMechanisms = new MechanismMemory();
