/** The "How it is measured" section of BENCHMARKS.md: what each contender is and what a run includes. */

export function methodSection(): string[] {
  return [
    '## How it is measured',
    '',
    '- **Server**: one Dovecot 2.3 started by the harness (test/support/dovecot.ts) on loopback: plaintext POP3 with PIPELINING, Maildir, one user per contender. Before every run the mailbox is seeded afresh (untimed) with synthetic messages: CRLF, ordinary headers, a base64 attachment, dot-stuffed lines.',
    '- **A run** is one contender process, timed from spawn to exit (process start included); CPU time and peak RSS come from GNU time. It counts only when verified: the mailbox is empty afterwards and every message arrived exactly once; for mailbox-poller and the raw drain every copy must also be byte-identical to a seeded message (objects read back from S3 in the first repetition, keys and files hashed in every one). A run that fails is tried again on a fresh mailbox, and said so below its table.',
    '- **mailbox-poller → S3+SQS**: the CLI bundled as for release (`node poller.mjs poll --config … --bucket … --queue-url …`), writing to the S3/SQS emulator (fauxqs) in the harness process behind an HTTP proxy that counts requests by operation.',
    '- **mailbox-poller → local default**: the same with `--out DIR`: one fsynced file per message plus notifications.jsonl.',
    '- **fetchmail**: `fetchmail -f rcfile` with `nokeep fetchall`, opportunistic STLS off, delivering through the MDA `cat > Maildir/new/…`: fetchmail has no Maildir delivery of its own, and a shell plus `cat` per message is the cheapest MDA.',
    '- **getmail6**: SimplePOP3Retriever, Maildir destination, `delete = true`; run as `nobody` (it refuses to deliver as root). It forks one delivery child per message.',
    '- **raw pipelined drain** (bench/children/raw-drain.ts): USER, PASS, STAT, then every `RETR n` + `DELE n` and QUIT in one write; unstuffs and writes one file per message, no fsync, no checks. The practical limit of this server and machine.',
    '- **mailbox-poller → discard** (diagnostic, no target): `pollMailbox` with a store that only hashes the bytes and a notifier that accepts everything: the POP3 client and pipeline alone, to tell their cost from the stores’.',
    '- **50 ms RTT**: test/support/tcp-proxy.ts, in a process of its own so the emulator never delays its timers, holds back each direction by 25 ms; S3 and SQS stay local, as for a Lambda function next to S3 and far from the mail server.',
    '- Child processes run without this machine’s `NODE_EXTRA_CA_CERTS` (a Lambda function has none; loading it adds tens of milliseconds to each Node start).',
    '',
  ];
}
