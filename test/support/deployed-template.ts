/**
 * A synthesized template as it would be deployed to one fixed account and region: every `Ref`,
 * `Fn::GetAtt`, `Fn::Join`, `Fn::Select`, `Fn::Split` and pseudo parameter the IAM-relevant parts use is
 * resolved to the concrete name or ARN CloudFormation would produce. Physical names are chosen here the
 * way CloudFormation chooses them (stack name, logical id, `.fifo` kept for FIFO queues), so the built
 * functions can be run against emulators with the very environment the template gives them.
 *
 * Only what a policy or a function's environment refers to is modelled; anything else fails with the
 * value it could not resolve rather than being guessed.
 */

export interface DeploymentTarget {
  readonly account: string;
  readonly region: string;
  readonly stackName: string;
  /**
   * The URL a queue of that name answers at; default the SQS URL in the region. Tests point the functions
   * at an emulator by returning its URL for the queue.
   */
  readonly queueUrlOf?: (queueName: string) => string;
}

export type PolicyDocument = { readonly Version?: string; readonly Statement: unknown[] };

interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
}

export interface TemplateJson {
  readonly Resources: Record<string, CfnResource>;
}

/** CloudFormation caps generated names; buckets must be lower case, 3 to 63 characters. */
const MAX_BUCKET_NAME = 63;
const MAX_QUEUE_NAME = 80;
const MAX_ROLE_NAME = 64;

export class DeployedTemplate {
  readonly #template: TemplateJson;
  readonly target: DeploymentTarget;

  constructor(template: TemplateJson, target: DeploymentTarget) {
    this.#template = template;
    this.target = target;
  }

  /** The template as synthesized, intrinsics unresolved. */
  get template(): TemplateJson {
    return this.#template;
  }

  get resources(): Record<string, CfnResource> {
    return this.#template.Resources;
  }

  /** Logical ids of the resources of `type`. */
  logicalIdsOf(type: string): string[] {
    return Object.entries(this.resources)
      .filter(([, resource]) => resource.Type === type)
      .map(([id]) => id);
  }

  #resource(logicalId: string): CfnResource {
    const resource = this.resources[logicalId];
    if (resource === undefined) throw new Error(`no resource ${logicalId} in the template`);
    return resource;
  }

  /** The physical name CloudFormation would give the resource (or its explicit name property). */
  physicalName(logicalId: string): string {
    const resource = this.#resource(logicalId);
    const props = resource.Properties ?? {};
    const base = `${this.target.stackName}-${logicalId}`;
    switch (resource.Type) {
      case 'AWS::S3::Bucket':
        return props['BucketName'] === undefined
          ? base.toLowerCase().slice(0, MAX_BUCKET_NAME)
          : String(this.resolve(props['BucketName']));
      case 'AWS::SQS::Queue': {
        if (props['QueueName'] !== undefined) return String(this.resolve(props['QueueName']));
        const fifo = props['FifoQueue'] === true;
        return fifo ? `${base.slice(0, MAX_QUEUE_NAME - 5)}.fifo` : base.slice(0, MAX_QUEUE_NAME);
      }
      case 'AWS::IAM::Role':
        return base.slice(0, MAX_ROLE_NAME);
      case 'AWS::Events::EventBus':
        return String(this.resolve(props['Name']));
      case 'AWS::SSM::Parameter':
        // Generated parameter names have no leading slash (CFN-<logical id>-<random>).
        return `CFN-${logicalId}`;
      default:
        return base;
    }
  }

  /** What `Ref` of the resource returns. */
  ref(logicalId: string): string {
    const { account, region } = this.target;
    const resource = this.#resource(logicalId);
    const name = this.physicalName(logicalId);
    switch (resource.Type) {
      case 'AWS::SQS::Queue':
        return this.target.queueUrlOf?.(name) ?? `https://sqs.${region}.amazonaws.com/${account}/${name}`;
      case 'AWS::KMS::Key':
        return `key-${logicalId.toLowerCase()}`;
      case 'AWS::SNS::Topic':
        return `arn:aws:sns:${region}:${account}:${name}`;
      default:
        return name;
    }
  }

  /** What `Fn::GetAtt [logicalId, attribute]` returns. */
  getAtt(logicalId: string, attribute: string): string {
    const { account, region } = this.target;
    const type = this.#resource(logicalId).Type;
    const name = this.physicalName(logicalId);
    const arns: Record<string, string> = {
      'AWS::S3::Bucket': `arn:aws:s3:::${name}`,
      'AWS::SQS::Queue': `arn:aws:sqs:${region}:${account}:${name}`,
      'AWS::IAM::Role': `arn:aws:iam::${account}:role/${name}`,
      'AWS::Lambda::Function': `arn:aws:lambda:${region}:${account}:function:${name}`,
      'AWS::Logs::LogGroup': `arn:aws:logs:${region}:${account}:log-group:${name}:*`,
      'AWS::KMS::Key': `arn:aws:kms:${region}:${account}:key/${this.ref(logicalId)}`,
      'AWS::SNS::Topic': `arn:aws:sns:${region}:${account}:${name}`,
      'AWS::Events::EventBus': `arn:aws:events:${region}:${account}:event-bus/${name}`,
    };
    if (attribute === 'Arn' && arns[type] !== undefined) return arns[type];
    if (attribute === 'QueueName' && type === 'AWS::SQS::Queue') return name;
    if (attribute === 'QueueUrl' && type === 'AWS::SQS::Queue') return this.ref(logicalId);
    throw new Error(`cannot resolve Fn::GetAtt ${logicalId}.${attribute} (${type})`);
  }

  /** The value with every intrinsic function resolved; throws on one that is not modelled. */
  resolve(value: unknown): unknown {
    if (Array.isArray(value)) return value.map((item) => this.resolve(item));
    if (value === null || typeof value !== 'object') return value;
    const entries = Object.entries(value);
    const [key, argument] = entries[0] ?? [];
    if (entries.length === 1 && key !== undefined && (key === 'Ref' || key.startsWith('Fn::'))) {
      return this.#intrinsic(key, argument);
    }
    return Object.fromEntries(entries.map(([name, item]) => [name, this.resolve(item)]));
  }

  #intrinsic(name: string, argument: unknown): unknown {
    const pseudo: Record<string, string> = {
      'AWS::AccountId': this.target.account,
      'AWS::Region': this.target.region,
      'AWS::Partition': 'aws',
      'AWS::URLSuffix': 'amazonaws.com',
      'AWS::StackName': this.target.stackName,
    };
    if (name === 'Ref') {
      const id = String(argument);
      return pseudo[id] ?? this.ref(id);
    }
    const args = argument as unknown[];
    switch (name) {
      case 'Fn::GetAtt':
        return this.getAtt(String(args[0]), String(args[1]));
      case 'Fn::Join':
        return (this.resolve(args[1]) as unknown[]).map(String).join(String(args[0]));
      case 'Fn::Select':
        return (this.resolve(args[1]) as unknown[])[Number(this.resolve(args[0]))];
      case 'Fn::Split':
        return String(this.resolve(args[1])).split(String(args[0]));
      default:
        throw new Error(`cannot resolve ${name} ${JSON.stringify(argument)}`);
    }
  }

  /** The resolved environment variables of a function. */
  environmentOf(functionLogicalId: string): Record<string, string> {
    const props = this.#resource(functionLogicalId).Properties ?? {};
    const variables = (props['Environment'] as { Variables?: unknown } | undefined)?.Variables ?? {};
    return this.resolve(variables) as Record<string, string>;
  }

  /** The logical id of the role a function runs as. */
  roleOf(functionLogicalId: string): string {
    const role = this.#resource(functionLogicalId).Properties?.['Role'];
    const getAtt = (role as { 'Fn::GetAtt'?: [string, string] } | undefined)?.['Fn::GetAtt'];
    if (getAtt === undefined) throw new Error(`${functionLogicalId}: Role is not a role of this template`);
    return getAtt[0];
  }

  /**
   * Every identity policy of a role, resolved: its inline policies and the AWS::IAM::Policy and
   * ManagedPolicy resources attached to it. A managed policy by ARN (not in the template) cannot be
   * evaluated here and fails.
   */
  identityPoliciesOf(roleLogicalId: string): { name: string; policy: PolicyDocument }[] {
    const role = this.#resource(roleLogicalId).Properties ?? {};
    if (role['ManagedPolicyArns'] !== undefined) {
      throw new Error(
        `${roleLogicalId} has managed policies by ARN: ${JSON.stringify(role['ManagedPolicyArns'])}`,
      );
    }
    const inline = ((role['Policies'] ?? []) as { PolicyName: string; PolicyDocument: unknown }[]).map(
      (policy) => ({
        name: policy.PolicyName,
        policy: this.resolve(policy.PolicyDocument) as PolicyDocument,
      }),
    );
    const attached = Object.entries(this.resources)
      .filter(([, resource]) => ['AWS::IAM::Policy', 'AWS::IAM::ManagedPolicy'].includes(resource.Type))
      .filter(([, resource]) =>
        ((resource.Properties?.['Roles'] ?? []) as unknown[]).some(
          (role) => (role as { Ref?: string }).Ref === roleLogicalId,
        ),
      )
      .map(([id, resource]) => ({
        name: id,
        policy: this.resolve(resource.Properties?.['PolicyDocument']) as PolicyDocument,
      }));
    return [...inline, ...attached];
  }

  /**
   * The KMS key that encrypts a bucket's objects (SSE-KMS default encryption) or a queue's messages, as
   * an ARN; undefined for S3- or SQS-managed encryption and for resources outside the template.
   */
  encryptionKeyOf(arn: string): string | undefined {
    const [, , service, , , rest = ''] = arn.split(':');
    if (service === 's3') {
      const bucket = rest.split('/')[0];
      const id = this.logicalIdsOf('AWS::S3::Bucket').find((logicalId) => this.ref(logicalId) === bucket);
      const encryption = this.resources[id ?? '']?.Properties?.['BucketEncryption'] as
        | { ServerSideEncryptionConfiguration: { ServerSideEncryptionByDefault?: Record<string, unknown> }[] }
        | undefined;
      const byDefault = encryption?.ServerSideEncryptionConfiguration[0]?.ServerSideEncryptionByDefault;
      if (byDefault?.['SSEAlgorithm'] !== 'aws:kms' || byDefault['KMSMasterKeyID'] === undefined)
        return undefined;
      return String(this.resolve(byDefault['KMSMasterKeyID']));
    }
    if (service === 'sqs') {
      const id = this.logicalIdsOf('AWS::SQS::Queue').find(
        (logicalId) => this.getAtt(logicalId, 'Arn') === arn,
      );
      const key = this.resources[id ?? '']?.Properties?.['KmsMasterKeyId'];
      return key === undefined ? undefined : String(this.resolve(key));
    }
    return undefined;
  }

  /**
   * The resource policy that governs `arn`: the bucket policy of an S3 bucket or object, the queue
   * policy of a queue, the key policy of a KMS key; undefined for resources without one here.
   */
  resourcePolicyFor(arn: string): { name: string; policy: PolicyDocument } | undefined {
    const [, , service, , , rest = ''] = arn.split(':');
    const find = (type: string, matches: (props: Record<string, unknown>) => boolean) => {
      const id = this.logicalIdsOf(type).find((logicalId) =>
        matches(this.resources[logicalId]?.Properties ?? {}),
      );
      return id;
    };
    let id: string | undefined;
    let documentKey = 'PolicyDocument';
    if (service === 's3') {
      const bucket = rest.split('/')[0];
      id = find('AWS::S3::BucketPolicy', (props) => this.resolve(props['Bucket']) === bucket);
    } else if (service === 'sqs') {
      const queueName = arn.split(':')[5];
      id = find('AWS::SQS::QueuePolicy', (props) =>
        (this.resolve(props['Queues']) as string[]).some((url) => url.split('/').at(-1) === queueName),
      );
    } else if (service === 'kms') {
      documentKey = 'KeyPolicy';
      id = this.logicalIdsOf('AWS::KMS::Key').find((logicalId) => this.getAtt(logicalId, 'Arn') === arn);
    }
    if (id === undefined) return undefined;
    const document = this.resources[id]?.Properties?.[documentKey];
    return { name: id, policy: this.resolve(document) as PolicyDocument };
  }
}
