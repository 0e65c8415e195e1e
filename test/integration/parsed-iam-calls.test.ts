/**
 * Every AWS call the BUILT parse bundle makes is allowed by the template that deploys it, as
 * test/integration/iam-calls.test.ts shows for the dispatch and poll bundles: the stage's bucket and
 * queues are created in fauxqs under their deployed names, the handler runs with the environment the
 * template gives the parse function, behind the recording proxy, and each recorded request is evaluated
 * with the IAM simulator against the parse role. The message carries a part larger than one S3 part, so
 * the multipart path is taken too. Without the role's PutObject grant, the writes are what is listed.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { App, type CfnElement, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { IConstruct } from 'constructs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { MailboxIngestion } from '../../infra/mailbox-ingestion.ts';
import { MAILBOXES } from '../infra/synth-helpers.ts';
import { type AwsRequestRecorder, startAwsRequestRecorder } from '../support/aws-request-recorder.ts';
import { DeployedTemplate, type TemplateJson } from '../support/deployed-template.ts';
import { type Fauxqs, startFauxqs } from '../support/fauxqs.ts';
import { checkRecordedCalls, functionCaller } from '../support/iam-check.ts';
import { TARGET } from '../support/iam-deployments.ts';
import { iamRequestsFor } from '../support/iam-request-map.ts';
import { buildFunctionBundles, captureOutput, lambdaContext } from '../support/lambda-harness.ts';
import { withoutIdentityAction } from '../support/template-edits.ts';

const RAW_KEY = 'mail/support/uidl/1/0f1e2d.eml';
/** A base64 attachment of 6 MiB decoded: more than one 5 MiB part, so it goes up in a multipart upload. */
function messageWithLargePart(): Buffer {
  const raw = Buffer.alloc(6 * 1024 * 1024, 7);
  const lines = raw
    .toString('base64')
    .match(/.{1,76}/g)!
    .join('\r\n');
  return Buffer.from(
    'Subject: invoice\r\nTo: invoices@example.com\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n' +
      '--b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n--b\r\nContent-Type: application/pdf\r\n' +
      `Content-Disposition: attachment; filename=a.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n${lines}\r\n--b--\r\n`,
  );
}

describe('every AWS call of the built parse bundle is allowed by the synthesized policies', () => {
  let aws: Fauxqs;
  let recorder: AwsRequestRecorder;
  let outDir: string;
  let template: TemplateJson;
  let parseId: string;
  let deployment: DeployedTemplate;
  const savedEnv = { ...process.env };

  beforeAll(async () => {
    outDir = await mkdtemp(path.join(tmpdir(), 'parsed-iam-'));
    const app = new App({
      builtinCloudFormationValidation: false,
      context: { 'aws:cdk:bundling-stacks': [] },
    });
    const stack = new Stack(app, 'Parsed', { env: TARGET });
    const ingestion = new MailboxIngestion(stack, 'Mail', { mailboxes: MAILBOXES, parsedMail: true });
    template = Template.fromStack(stack).toJSON() as TemplateJson;
    const parseFunction = ingestion.parseStage!.parseFunction as IConstruct;
    parseId = stack.getLogicalId(parseFunction.node.defaultChild as CfnElement);

    let bundles: Awaited<ReturnType<typeof buildFunctionBundles>>;
    [bundles, aws] = await Promise.all([buildFunctionBundles(outDir), startFauxqs()]);
    recorder = await startAwsRequestRecorder({ s3: aws.endpoint, sqs: aws.endpoint });
    const queueUrls = new Map<string, string>();
    deployment = new DeployedTemplate(template, {
      ...TARGET,
      stackName: stack.stackName,
      queueUrlOf: (name) => queueUrls.get(name) ?? `unknown-queue:${name}`,
    });
    for (const id of deployment.logicalIdsOf('AWS::SQS::Queue')) {
      const name = deployment.physicalName(id);
      queueUrls.set(name, await aws.createQueue(name));
    }
    const { NODE_OPTIONS: _, ...environment } = deployment.environmentOf(parseId);
    const bucket = environment['MESSAGE_BUCKET']!;
    await aws.createBucket(bucket);
    await aws.s3.send(new PutObjectCommand({ Bucket: bucket, Key: RAW_KEY, Body: messageWithLargePart() }));
    for (const name of Object.keys(process.env)) {
      if (name.startsWith('AWS_ENDPOINT_URL')) delete process.env[name];
    }
    Object.assign(process.env, environment, {
      AWS_ENDPOINT_URL: recorder.endpoint,
      AWS_REGION: TARGET.region,
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
    });
    const parse = (await import(pathToFileURL(bundles.parse).href)) as {
      handler(event: SQSEvent, context: Context): Promise<SQSBatchResponse>;
    };
    const body = JSON.stringify({
      Records: [
        { eventName: 'ObjectCreated:Put', s3: { bucket: { name: bucket }, object: { key: RAW_KEY } } },
      ],
    });
    const output = captureOutput();
    try {
      const response = await recorder.during('parse', () =>
        parse.handler(
          { Records: [{ messageId: '1', receiptHandle: 'r', body } as SQSEvent['Records'][number]] },
          lambdaContext('parse', 60_000),
        ),
      );
      expect(response.batchItemFailures).toEqual([]);
    } finally {
      output.stop();
    }
  }, 180_000);

  afterAll(async () => {
    process.env = savedEnv;
    await Promise.all([aws?.stop(), recorder?.close()]);
    if (outDir) await rm(outDir, { recursive: true, force: true });
  });

  const operations = () =>
    [
      ...new Set(
        recorder.requests.flatMap((request) => {
          const mapped = iamRequestsFor(request, TARGET.account);
          return mapped.kind === 'mapped' ? mapped.authorizations.map((call) => call.operation) : [];
        }),
      ),
    ].sort();

  test('every recorded call is allowed, the multipart path included', async () => {
    const callers = { parse: functionCaller(deployment, 'parse', parseId) };
    const { problems } = await checkRecordedCalls(deployment, callers, recorder.requests);
    expect(problems).toEqual([]);
    expect(operations()).toEqual(
      expect.arrayContaining([
        'GetObject',
        'PutObject',
        'CreateMultipartUpload',
        'UploadPart',
        'CompleteMultipartUpload',
        'SendMessageBatch',
      ]),
    );
  });

  test('without the PutObject grant, the writes are listed with the statement they lack', async () => {
    const edited = new DeployedTemplate(withoutIdentityAction(template, 's3:PutObject'), deployment.target);
    const callers = { parse: functionCaller(edited, 'parse', parseId) };
    const { problems } = await checkRecordedCalls(edited, callers, recorder.requests);
    const refused = new Set(problems.map((line) => line.split(' = ')[0]));
    expect([...refused].sort()).toEqual([
      'parse: CompleteMultipartUpload',
      'parse: CreateMultipartUpload',
      'parse: PutObject',
      'parse: UploadPart',
    ]);
  });
});
