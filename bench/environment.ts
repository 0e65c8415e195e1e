/**
 * Everything the contenders run against, started once per benchmark: one Dovecot 2.3 (a user per
 * contender and one per mailbox of the many-mailboxes scenario), the S3/SQS emulator behind the counting
 * proxy, and on demand the delaying TCP proxy, in a process of its own (bench/children/delay-proxy.ts) so
 * the emulator's work in this process never delays its timers. stop() ends all of it.
 */
import { type DovecotServer, type DovecotUser, startDovecot } from '../test/support/dovecot.ts';
import { type Fauxqs, startFauxqs } from '../test/support/fauxqs.ts';
import type { AwsTarget, Pop3Account, Pop3Endpoint } from './contenders.ts';
import { type CountingProxy, startCountingProxy } from './counting-proxy.ts';
import { type BackgroundProcess, startBackground } from './process-runner.ts';

export const BUCKET = 'bench-mail';
export const QUEUE = 'bench-notifications';

export interface BenchEnvironment {
  readonly dovecot: DovecotServer;
  readonly fauxqs: Fauxqs;
  readonly requests: CountingProxy;
  readonly aws: AwsTarget;
  /** Dovecot's plain POP3 port on loopback. */
  readonly direct: Pop3Endpoint;
  account(name: string): Pop3Account;
  /** The delaying proxy in front of Dovecot: `oneWayMs` each way (RTT = twice that). */
  delayed(oneWayMs: number): Promise<Pop3Endpoint>;
  /** Empties the bucket and the queue and zeroes the request counts, before each S3 run. */
  resetAws(): void;
  stop(): Promise<void>;
}

export async function startBenchEnvironment(
  userNames: readonly string[],
  delayProxyBundle: string,
): Promise<BenchEnvironment> {
  const users: DovecotUser[] = userNames.map((name) => ({ name, password: `${name}-pop3-password` }));
  const dovecot = await startDovecot({ users });
  const started: { stop(): Promise<void> }[] = [dovecot];
  try {
    const fauxqs = await startFauxqs();
    started.push(fauxqs);
    const requests = await startCountingProxy({ host: '127.0.0.1', port: fauxqs.server.port });
    started.push({ stop: () => requests.close() });
    await fauxqs.createBucket(BUCKET);
    const queueUrl = await fauxqs.createQueue(QUEUE);
    const aws: AwsTarget = {
      env: { ...fauxqs.env, AWS_ENDPOINT_URL_S3: requests.endpoint, AWS_ENDPOINT_URL_SQS: requests.endpoint },
      bucket: BUCKET,
      queueUrl,
    };
    const proxies: BackgroundProcess[] = [];
    return {
      dovecot,
      fauxqs,
      requests,
      aws,
      direct: { host: dovecot.host, port: dovecot.pop3Port },
      account(name) {
        const user = users.find((candidate) => candidate.name === name);
        if (!user) throw new Error(`no Dovecot user ${name}`);
        return { user: user.name, password: user.password };
      },
      async delayed(oneWayMs) {
        const proxy = await startBackground(process.execPath, [
          delayProxyBundle,
          dovecot.host,
          `${dovecot.pop3Port}`,
          `${oneWayMs}`,
        ]);
        proxies.push(proxy);
        return { host: dovecot.host, port: Number(proxy.firstLine) };
      },
      resetAws() {
        fauxqs.server.reset();
        requests.reset();
      },
      async stop() {
        for (const proxy of proxies) proxy.stop();
        await stopAll(started);
      },
    };
  } catch (error) {
    await stopAll(started);
    throw error;
  }
}

async function stopAll(started: readonly { stop(): Promise<void> }[]): Promise<void> {
  for (const service of [...started].reverse()) await service.stop().catch(() => undefined);
}
