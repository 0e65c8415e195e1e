/**
 * The BUILT dispatch and poll bundles run as one synthesized stack would run them: the bucket and queues
 * of the template are created in fauxqs under the names the deployment would give them, the config
 * parameter is served by the SSM stand-in under its deployed name, and each handler is invoked with the
 * environment the template gives its function (every Ref resolved). All their AWS calls go through the
 * request recorder, attributed to the function that made them.
 */
import { pathToFileURL } from 'node:url';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { DeleteMessageCommand, type Message, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { AwsRequestRecorder } from './aws-request-recorder.ts';
import { DeployedTemplate, type TemplateJson } from './deployed-template.ts';
import type { Fauxqs } from './fauxqs.ts';
import { lambdaContext, sqsRecordOf } from './lambda-harness.ts';
import type { SsmEndpoint } from './ssm-endpoint.ts';

interface Handler {
  handler(event: unknown, context: Context): Promise<unknown>;
}

export interface FunctionIds {
  readonly dispatch: string;
  readonly poll: string;
  readonly jobQueue: string;
  /** The inline config's SSM parameter; absent when the config lives in S3 (`configDocument`). */
  readonly configParameter?: string;
}

type ConfigDocument = { mailboxes: Record<string, unknown>[] };

export interface DeployedFunctionsOptions {
  readonly template: TemplateJson;
  readonly target: { account: string; region: string; stackName: string };
  /** Logical ids in the template. */
  readonly ids: FunctionIds;
  readonly bundles: { poll: string; dispatch: string };
  readonly aws: Fauxqs;
  readonly ssm: SsmEndpoint;
  readonly recorder: AwsRequestRecorder;
  /** For a config in S3 (ConfigLocation.fromBucket): the document, put where the functions read it. */
  readonly configDocument?: ConfigDocument;
  /** The config as deployed, changed for the test's servers (host, port, CA, user names). */
  readonly adaptConfig: (document: ConfigDocument) => object;
}

/** Queue properties of the template that fauxqs needs to behave like the deployed queue. */
const QUEUE_ATTRIBUTES = [
  'FifoQueue',
  'ContentBasedDeduplication',
  'DeduplicationScope',
  'FifoThroughputLimit',
];

/** The config where the template's functions read it: the inline parameter's value, or the S3 object. */
async function deployConfig(deployment: DeployedTemplate, options: DeployedFunctionsOptions): Promise<void> {
  const { ids, adaptConfig } = options;
  if (ids.configParameter !== undefined) {
    const parameter = deployment.resources[ids.configParameter]?.Properties ?? {};
    const deployed = JSON.parse(String(deployment.resolve(parameter['Value']))) as ConfigDocument;
    options.ssm.putParameter(deployment.ref(ids.configParameter), JSON.stringify(adaptConfig(deployed)));
    return;
  }
  const environment = deployment.environmentOf(ids.dispatch);
  const { CONFIG_BUCKET: bucket, CONFIG_KEY: key } = environment;
  if (bucket === undefined || key === undefined || options.configDocument === undefined) {
    throw new Error(`no config parameter and no S3 config to deploy: ${JSON.stringify(environment)}`);
  }
  const body = JSON.stringify(adaptConfig(options.configDocument));
  await options.aws.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
}

export async function deployFunctions(options: DeployedFunctionsOptions) {
  const { aws, ids, recorder } = options;
  const queueUrls = new Map<string, string>();
  const deployment = new DeployedTemplate(options.template, {
    ...options.target,
    queueUrlOf: (name) => queueUrls.get(name) ?? `unknown-queue:${name}`,
  });
  for (const id of deployment.logicalIdsOf('AWS::SQS::Queue')) {
    const props = deployment.resources[id]?.Properties ?? {};
    const attributes = Object.fromEntries(
      QUEUE_ATTRIBUTES.filter((name) => props[name] !== undefined).map((name) => [name, String(props[name])]),
    );
    const name = deployment.physicalName(id);
    queueUrls.set(name, await aws.createQueue(name, { attributes }));
  }
  for (const id of deployment.logicalIdsOf('AWS::S3::Bucket')) await aws.createBucket(deployment.ref(id));
  await deployConfig(deployment, options);

  // A module instance of its own per deployment, as each function has its own container.
  const instance = `?deployment=${encodeURIComponent(options.target.stackName)}`;
  const poll = (await import(pathToFileURL(options.bundles.poll).href + instance)) as Handler;
  const dispatch = (await import(pathToFileURL(options.bundles.dispatch).href + instance)) as Handler;
  const jobQueueUrl = deployment.ref(ids.jobQueue);
  const jobQueueArn = deployment.getAtt(ids.jobQueue, 'Arn');

  /** Runs `work` as the function runs: its template environment, its calls recorded under its name. */
  async function asFunction<T>(name: 'poll' | 'dispatch', work: () => Promise<T>): Promise<T> {
    const saved = process.env;
    const { NODE_OPTIONS: _, ...environment } = deployment.environmentOf(ids[name]);
    process.env = { ...saved, ...environment };
    try {
      return await recorder.during(name, work);
    } finally {
      process.env = saved;
    }
  }

  async function receiveJobs(): Promise<Message[]> {
    const received: Message[] = [];
    for (;;) {
      const reply = await aws.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: jobQueueUrl,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 0,
          MessageSystemAttributeNames: ['All'],
        }),
      );
      if ((reply.Messages ?? []).length === 0) return received;
      received.push(...reply.Messages!);
    }
  }

  return {
    deployment,
    /** The scheduler's invocation of dispatch for a slot, then the poll function on every job queued. */
    async runSlot(scheduledTime: string): Promise<SQSBatchResponse> {
      await asFunction('dispatch', () =>
        dispatch.handler({ scheduledTime }, lambdaContext('dispatch', 60_000)),
      );
      const jobs = await receiveJobs();
      const records = jobs.map((job) => sqsRecordOf(job, jobQueueArn));
      const response = (await asFunction('poll', () =>
        poll.handler({ Records: records } as SQSEvent, lambdaContext('poll', 300_000)),
      )) as SQSBatchResponse;
      // The event source mapping deletes the jobs not reported failed. The failed ones are deleted too:
      // their retry would hold the next slot's job of the same group (FIFO) back, and that job polls
      // the mailbox again anyway.
      for (const job of jobs) {
        await aws.sqs.send(
          new DeleteMessageCommand({ QueueUrl: jobQueueUrl, ReceiptHandle: job.ReceiptHandle }),
        );
      }
      return response;
    },
  };
}
