import { describe, expect, it } from 'vitest';
import {
  DeployedConfigError,
  nameMailboxInProblem,
  referencedSecretIds,
  validateDeployedConfig,
} from '../../../lib/lambda/deployed-mailboxes.ts';
import {
  type DispatchDeps,
  DispatchError,
  dispatchJobs,
  scheduledTimeOf,
} from '../../../lib/lambda/dispatch.ts';
import type { JobEntry } from '../../../lib/lambda/job.ts';

function mailbox(id: string, extra: Record<string, unknown> = {}) {
  return {
    id,
    host: 'pop.example.com',
    tls: 'implicit',
    username: `${id}@example.com`,
    password: { secretId: `mail/${id}` },
    ...extra,
  };
}

function harness(
  document: unknown,
  failures: (
    batch: readonly JobEntry[],
    call: number,
  ) => { id: string; code: string; senderFault: boolean }[] = () => [],
) {
  const calls: JobEntry[][] = [];
  const logs: { level: string; msg: string; data?: object }[] = [];
  const deps: DispatchDeps = {
    readConfig: async () => ({ document, version: CONFIG_VERSION }),
    sendBatch: async (entries) => {
      calls.push([...entries]);
      return failures(entries, calls.length);
    },
    logger: {
      info: (msg, data) => logs.push({ level: 'info', msg, ...(data ? { data } : {}) }),
      warn: (msg, data) => logs.push({ level: 'warn', msg, ...(data ? { data } : {}) }),
      error: (msg, data) => logs.push({ level: 'error', msg, ...(data ? { data } : {}) }),
    },
  };
  return { deps, calls, logs };
}

const CONFIG_VERSION = 'd'.repeat(64);

const request = { scheduledTime: new Date('2025-03-04T10:05:02Z'), periodSeconds: 300 };

describe('dispatch: one job per mailbox per slot', () => {
  it('queues every mailbox in SendMessageBatch calls of 10', async () => {
    const mailboxes = Array.from({ length: 12 }, (_, i) => mailbox(`box${i}`));
    const h = harness({ mailboxes });
    const result = await dispatchJobs(request, h.deps);
    expect(result).toEqual({
      slot: '2025-03-04T10:05:00.000Z',
      jobsSent: 12,
      batches: 2,
      configVersion: CONFIG_VERSION,
    });
    expect(h.calls.map((call) => call.length)).toEqual([10, 2]);
    const first = h.calls[0]![0]!;
    expect(first.MessageGroupId).toBe('box0');
    expect(first.MessageDeduplicationId).toBe('box0@2025-03-04T10:05:00.000Z');
    // The mailbox id and the config version read: no host, port, TLS mode or secret reference.
    expect(JSON.parse(first.MessageBody)).toEqual({
      version: 2,
      mailboxId: 'box0',
      slot: '2025-03-04T10:05:00.000Z',
      configVersion: CONFIG_VERSION,
    });
  });

  it('gives a retried dispatch of the same scheduled run the same deduplication ids', async () => {
    const first = harness({ mailboxes: [mailbox('support')] });
    const retry = harness({ mailboxes: [mailbox('support')] });
    await dispatchJobs(request, first.deps);
    await dispatchJobs({ ...request, scheduledTime: new Date('2025-03-04T10:06:40Z') }, retry.deps);
    expect(retry.calls[0]![0]!.MessageDeduplicationId).toBe(first.calls[0]![0]!.MessageDeduplicationId);
  });

  it('logs one error per config problem, naming mailbox and field, and queues nothing', async () => {
    const h = harness({ mailboxes: [mailbox('ok'), mailbox('billing', { port: 70000, tls: 'sometimes' })] });
    await expect(dispatchJobs(request, h.deps)).rejects.toThrow(DeployedConfigError);
    expect(h.calls).toEqual([]);
    const problems = h.logs
      .filter((line) => line.level === 'error')
      .map((line) => (line.data as { problem: string }).problem);
    expect(problems.length).toBeGreaterThanOrEqual(2);
    expect(problems.some((p) => p.startsWith("mailbox 'billing' (mailboxes/1): port"))).toBe(true);
    expect(problems.some((p) => p.startsWith("mailbox 'billing' (mailboxes/1): tls"))).toBe(true);
  });

  it('refuses passwords stored in the config itself', async () => {
    const h = harness({ mailboxes: [mailbox('support', { password: 'hunter2' })] });
    const error = await dispatchJobs(request, h.deps).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeployedConfigError);
    expect((error as DeployedConfigError).problems).toEqual([
      `mailbox 'support' (mailboxes/0): password: is a literal; a deployed config must use { "secretId": "..." } so that no secret is stored in the config`,
    ]);
    expect(JSON.stringify(h.logs)).not.toContain('hunter2');
  });

  it('tries a throttled entry once more and succeeds', async () => {
    const h = harness({ mailboxes: [mailbox('a'), mailbox('b')] }, (batch, call) =>
      call === 1 ? [{ id: batch[1]!.Id, code: 'ThrottlingException', senderFault: false }] : [],
    );
    const result = await dispatchJobs(request, h.deps);
    expect(result.jobsSent).toBe(2);
    expect(h.calls.map((call) => call.map((entry) => entry.MessageGroupId))).toEqual([['a', 'b'], ['b']]);
  });

  it('fails the invocation, naming the mailbox, when a job cannot be queued', async () => {
    const h = harness({ mailboxes: [mailbox('a'), mailbox('b')] }, (batch) =>
      batch
        .filter((entry) => entry.MessageGroupId === 'b')
        .map((entry) => ({ id: entry.Id, code: 'InvalidParameterValue', senderFault: true })),
    );
    await expect(dispatchJobs(request, h.deps)).rejects.toThrow(
      new DispatchError('1 job(s) not queued for slot 2025-03-04T10:05:00.000Z: b'),
    );
    expect(h.calls).toHaveLength(1); // a sender fault is not retried
    expect(h.logs).toContainEqual({
      level: 'error',
      msg: 'job not queued',
      data: { mailboxId: 'b', code: 'InvalidParameterValue', senderFault: true },
    });
  });
});

describe('scheduled time of the triggering event', () => {
  it('reads the Scheduler input and the EventBridge event time', () => {
    expect(scheduledTimeOf({ scheduledTime: '2025-03-04T10:05:00Z' })?.toISOString()).toBe(
      '2025-03-04T10:05:00.000Z',
    );
    expect(scheduledTimeOf({ time: '2025-03-04T10:10:00Z' })?.toISOString()).toBe('2025-03-04T10:10:00.000Z');
  });

  it('has none for a hand-made event', () => {
    expect(scheduledTimeOf({})).toBeUndefined();
    expect(scheduledTimeOf(null)).toBeUndefined();
    expect(scheduledTimeOf({ scheduledTime: 'later' })).toBeUndefined();
  });
});

describe('deployed config', () => {
  it('names the mailbox by id in a problem about one of its fields', () => {
    const document = { mailboxes: [{ id: 'a' }, { id: 'billing' }] };
    expect(nameMailboxInProblem('mailboxes[1].port: must be <= 65535', document)).toBe(
      "mailbox 'billing' (mailboxes/1): port: must be <= 65535",
    );
    expect(nameMailboxInProblem('mailboxes[7].host: required', document)).toBe(
      'mailbox #7 (mailboxes/7): host: required',
    );
    expect(nameMailboxInProblem('config: must have mailboxes', document)).toBe('config: must have mailboxes');
  });

  it('names an OAuth token field after what the config calls it', () => {
    const error = (() => {
      try {
        validateDeployedConfig({
          mailboxes: [mailbox('o', { password: undefined, accessToken: { env: 'TOKEN' } })],
        });
      } catch (e) {
        return e as DeployedConfigError;
      }
    })();
    expect(error?.problems[0]).toMatch(
      /^mailbox 'o' \(mailboxes\/0\): accessToken: is an environment variable/,
    );
  });

  it('lists each referenced secret once', () => {
    const config = validateDeployedConfig({
      mailboxes: [mailbox('a'), mailbox('b', { password: { secretId: 'mail/a' } }), mailbox('c')],
    });
    expect(referencedSecretIds(config)).toEqual(['mail/a', 'mail/c']);
  });
});
