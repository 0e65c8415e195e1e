/**
 * An in-process fauxqs (S3 + SQS emulator) on a free port, with SDK clients pointed at it and a few
 * helpers to set up buckets/queues and read back what the code under test wrote.
 */
import {
  CreateBucketCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import {
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { type FauxqsServer, startFauxqs as startFauxqsServer } from 'fauxqs';

export interface QueueOptions {
  readonly fifo?: boolean;
  /** Raw queue attributes, e.g. `{ MaximumMessageSize: '1024' }`. */
  readonly attributes?: Record<string, string>;
}

export interface Fauxqs {
  readonly endpoint: string;
  readonly region: string;
  /** AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL_SQS, AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY. */
  readonly env: Record<string, string>;
  readonly s3: S3Client;
  readonly sqs: SQSClient;
  /** The emulator itself (spy, inspection), for tests that need more than the helpers below. */
  readonly server: FauxqsServer;
  createBucket(name: string): Promise<void>;
  /** Creates the queue (a `.fifo` name is added when `fifo` is set) and resolves with its URL. */
  createQueue(name: string, options?: QueueOptions): Promise<string>;
  /** Receives and deletes every message currently in the queue, with all attributes. */
  receiveAll(queueUrl: string): Promise<Message[]>;
  listKeys(bucket: string, prefix?: string): Promise<string[]>;
  getObject(bucket: string, key: string): Promise<Buffer>;
  /**
   * Makes `client` see S3's conditional writes, which the emulator ignores: a PutObject or CopyObject with
   * `If-None-Match: *` onto an existing key fails with 412 Precondition Failed.
   */
  emulateConditionalWrites(client: S3Client): void;
  stop(): Promise<void>;
}

const REGION = 'us-east-1';
const CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };

export async function startFauxqs(): Promise<Fauxqs> {
  const server = await startFauxqsServer({ port: 0, host: '127.0.0.1', logger: false, messageSpies: true });
  const endpoint = `http://127.0.0.1:${server.port}`;
  const s3 = new S3Client({ endpoint, region: REGION, credentials: CREDENTIALS, forcePathStyle: true });
  const sqs = new SQSClient({ endpoint, region: REGION, credentials: CREDENTIALS });

  return {
    endpoint,
    region: REGION,
    env: {
      AWS_ENDPOINT_URL_S3: endpoint,
      AWS_ENDPOINT_URL_SQS: endpoint,
      AWS_REGION: REGION,
      AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
    },
    s3,
    sqs,
    server,

    async createBucket(name) {
      await s3.send(new CreateBucketCommand({ Bucket: name }));
    },

    async createQueue(name, options = {}) {
      const fifo = options.fifo === true;
      const queueName = fifo && !name.endsWith('.fifo') ? `${name}.fifo` : name;
      const attributes = { ...(fifo ? { FifoQueue: 'true' } : {}), ...options.attributes };
      return server.createQueue(queueName, { attributes }).queueUrl;
    },

    async receiveAll(queueUrl) {
      const received: Message[] = [];
      for (;;) {
        const reply = await sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: queueUrl,
            MaxNumberOfMessages: 10,
            WaitTimeSeconds: 0,
            MessageAttributeNames: ['All'],
            MessageSystemAttributeNames: ['All'],
          }),
        );
        const messages = reply.Messages ?? [];
        if (messages.length === 0) return received;
        received.push(...messages);
        // Deleting releases the FIFO group lock, so the next receive sees the following messages.
        await sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: messages.map((message, index) => ({
              Id: String(index),
              ReceiptHandle: message.ReceiptHandle,
            })),
          }),
        );
      }
    },

    async listKeys(bucket, prefix) {
      const keys: string[] = [];
      let token: string | undefined;
      do {
        const page = await s3.send(
          new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
        );
        for (const object of page.Contents ?? []) if (object.Key !== undefined) keys.push(object.Key);
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token !== undefined);
      return keys.sort();
    },

    async getObject(bucket, key) {
      const reply = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      if (reply.Body === undefined) return Buffer.alloc(0);
      return Buffer.from(await reply.Body.transformToByteArray());
    },

    emulateConditionalWrites(client) {
      client.middlewareStack.add(
        (next, context) => async (args) => {
          const input = args.input as { Bucket?: string; Key?: string; IfNoneMatch?: string };
          const isWrite =
            context.commandName === 'PutObjectCommand' || context.commandName === 'CopyObjectCommand';
          if (isWrite && input.IfNoneMatch === '*' && (await exists(s3, input.Bucket, input.Key))) {
            throw Object.assign(new Error('At least one of the pre-conditions you specified did not hold'), {
              name: 'PreconditionFailed',
              $metadata: { httpStatusCode: 412 },
            });
          }
          return next(args);
        },
        { step: 'initialize', name: 'emulateIfNoneMatch' },
      );
    },

    async stop() {
      s3.destroy();
      sqs.destroy();
      await server.stop();
    },
  };
}

async function exists(s3: S3Client, bucket: string | undefined, key: string | undefined): Promise<boolean> {
  try {
    await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return true;
  } catch {
    return false;
  }
}
