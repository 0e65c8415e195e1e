/**
 * Evaluates AWS calls against a synthesized template's policies with @cloud-copilot/iam-simulate (AWS's
 * policy evaluation logic: identity policies, resource policies, explicit denies, conditions): the
 * caller's role policies, and the bucket, queue or key policy of the resource. Each verdict carries a
 * sentence a person can act on: which statement allowed the call, which one denied it, or, for a call
 * nothing allows, the statement that is missing.
 *
 * Every evaluated call gets the global keys a Lambda function's request carries in AWS: the role as
 * `aws:PrincipalArn`, the account, and `aws:SecureTransport` true (the SDK speaks HTTPS to AWS); a call's
 * own context may override them (a plain-HTTP request, to check the TLS-only statements).
 */
import {
  getDenialReasons,
  getGrantReasons,
  type RequestDenial,
  type RequestGrant,
  runSimulation,
} from '@cloud-copilot/iam-simulate';
import { OUTSIDE_ANY_INVOCATION, type RecordedRequest } from './aws-request-recorder.ts';
import type { DeployedTemplate, PolicyDocument } from './deployed-template.ts';
import { type IamRequest, iamRequestsFor, kmsAuthorizationsFor } from './iam-request-map.ts';

/** Who makes a call: a role and its identity policies. */
export interface Caller {
  readonly name: string;
  readonly roleArn: string;
  readonly identityPolicies: readonly { name: string; policy: PolicyDocument }[];
}

export type Decision = 'Allowed' | 'ExplicitlyDenied' | 'ImplicitlyDenied' | 'Error';

export interface Verdict {
  readonly caller: string;
  readonly call: IamRequest;
  readonly decision: Decision;
  /** Why: the granting or denying statements, the missing statement, or the simulator's errors. */
  readonly because: string;
}

/** The caller a function of the template runs as: its role, with every identity policy attached to it. */
export function functionCaller(
  deployment: DeployedTemplate,
  name: string,
  functionLogicalId: string,
): Caller {
  const role = deployment.roleOf(functionLogicalId);
  return {
    name,
    roleArn: deployment.getAtt(role, 'Arn'),
    identityPolicies: deployment.identityPoliciesOf(role),
  };
}

/** Another role of the same account whose own policy allows everything (an administrator). */
export function administratorOf(account: string): Caller {
  return {
    name: 'an administrator role of the account',
    roleArn: `arn:aws:iam::${account}:role/Administrator`,
    identityPolicies: [
      {
        name: 'AdministratorAccess',
        policy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] },
      },
    ],
  };
}

export function describeCall(caller: string, call: IamRequest): string {
  const keys = Object.entries(call.context).map(([key, value]) => `${key}=${value}`);
  return `${caller}: ${call.operation} = ${call.action} on ${call.resource}${keys.length ? ` [${keys.join(', ')}]` : ''}`;
}

export async function evaluateCall(
  deployment: DeployedTemplate,
  caller: Caller,
  call: IamRequest,
): Promise<Verdict> {
  const { account } = deployment.target;
  const roleName = caller.roleArn.split('/').at(-1);
  const resourcePolicy = deployment.resourcePolicyFor(call.resource);
  const result = await runSimulation(
    {
      request: {
        principal: `arn:aws:sts::${account}:assumed-role/${roleName}/${caller.name}`,
        action: call.action,
        resource: { resource: call.resource, accountId: account },
        contextVariables: {
          'aws:SecureTransport': 'true',
          'aws:PrincipalArn': caller.roleArn,
          'aws:PrincipalAccount': account,
          'aws:PrincipalType': 'AssumedRole',
          ...call.context,
        },
      },
      identityPolicies: caller.identityPolicies.map((policy) => ({ ...policy })),
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      resourcePolicy: resourcePolicy?.policy,
    },
    {},
  );
  const verdict = { caller: caller.name, call };
  if (result.resultType === 'error') {
    return { ...verdict, decision: 'Error', because: JSON.stringify(result.errors) };
  }
  const single = result.resultType === 'single' ? result.result : result.results[0];
  const analysis = single?.analysis;
  // A condition key the simulator drops as not applying to the action would be evaluated as absent.
  const ignored = (single?.ignoredContextKeys ?? []).filter((key) => key in call.context);
  if (ignored.length > 0) {
    return {
      ...verdict,
      decision: 'Error',
      because: `context keys not evaluated for ${call.action}: ${ignored.join(', ')}`,
    };
  }
  if (analysis === undefined) {
    return { ...verdict, decision: 'Error', because: 'no simulation result' };
  }
  const decision = result.overallResult as Decision;
  const grants = getGrantReasons(analysis);
  const resourceName = resourcePolicy?.name ?? 'the resource policy';
  if (decision === 'Allowed') {
    return {
      ...verdict,
      decision,
      because: grants.map((g) => grantText(g, resourceName)).join('; '),
    };
  }
  if (decision === 'ExplicitlyDenied') {
    const denials = getDenialReasons(analysis).filter((denial) => denial.denialType === 'Explicit');
    return {
      ...verdict,
      decision,
      because: denials.map((d) => denialText(d, resourceName)).join('; '),
    };
  }
  const missing = JSON.stringify({ Effect: 'Allow', Action: call.action, Resource: call.resource });
  const policies = caller.identityPolicies.map((policy) => policy.name).join(', ') || '(none)';
  return {
    ...verdict,
    decision,
    because: `no statement allows it; missing in the role's policies (${policies}): ${missing}`,
  };
}

function grantText(grant: RequestGrant, resourcePolicyName: string): string {
  const statement = `statement ${grant.statementId ? `"${grant.statementId}" ` : ''}#${grant.statementIndex}`;
  if (grant.policyType === 'resource') return `allowed by ${resourcePolicyName} ${statement}`;
  const policy = 'policyIdentifier' in grant ? grant.policyIdentifier : '';
  return `allowed by ${grant.policyType} policy ${policy} ${statement}`;
}

function denialText(denial: RequestDenial, resourcePolicyName: string): string {
  if (denial.denialType !== 'Explicit') return `implicitly denied by ${denial.policyType}`;
  const statement = `statement ${denial.statementId ? `"${denial.statementId}" ` : ''}#${denial.statementIndex}`;
  const policy =
    denial.policyType === 'resource'
      ? resourcePolicyName
      : `${denial.policyType} policy ${denial.policyIdentifier ?? ''}`;
  return `denied by ${policy} ${statement}`;
}

/**
 * Every recorded request, mapped and evaluated as its caller. Problems (one line each): a call that is
 * not allowed, a request with no IAM mapping, a request made outside any invocation or by an unknown caller.
 */
export async function checkRecordedCalls(
  deployment: DeployedTemplate,
  callers: Readonly<Record<string, Caller>>,
  requests: readonly RecordedRequest[],
): Promise<{ verdicts: Verdict[]; problems: string[] }> {
  const verdicts: Verdict[] = [];
  const problems: string[] = [];
  for (const request of requests) {
    const where = `${request.caller}: ${request.method} ${request.path} (${request.service})`;
    const caller = callers[request.caller];
    if (caller === undefined) {
      problems.push(
        request.caller === OUTSIDE_ANY_INVOCATION
          ? `${where}: made outside any invocation`
          : `${where}: unknown caller`,
      );
      continue;
    }
    const mapped = iamRequestsFor(request, deployment.target.account);
    if (mapped.kind === 'unmapped') {
      problems.push(`${where}: ${mapped.reason}`);
      continue;
    }
    const withKeys = mapped.authorizations.flatMap((call) => {
      const key = deployment.encryptionKeyOf(call.resource);
      const { account } = deployment.target;
      return [call, ...(key ? kmsAuthorizationsFor(call, key, request.region, account) : [])];
    });
    for (const call of withKeys) {
      const verdict = await evaluateCall(deployment, caller, call);
      verdicts.push(verdict);
      if (verdict.decision !== 'Allowed') {
        problems.push(`${describeCall(caller.name, call)} → ${verdict.decision}: ${verdict.because}`);
      }
    }
  }
  return { verdicts, problems: [...new Set(problems)] };
}

/** Calls that must be allowed; a problem line for each one the template does not allow, with why. */
export async function checkAllowedCalls(
  deployment: DeployedTemplate,
  calls: readonly { caller: Caller; call: IamRequest }[],
): Promise<string[]> {
  const problems: string[] = [];
  for (const { caller, call } of calls) {
    const verdict = await evaluateCall(deployment, caller, call);
    if (verdict.decision !== 'Allowed') {
      problems.push(`${describeCall(caller.name, call)} → ${verdict.decision}: ${verdict.because}`);
    }
  }
  return problems;
}

/** Calls that must be denied; a problem line for each one the template allows, with what allows it. */
export async function checkDeniedCalls(
  deployment: DeployedTemplate,
  calls: readonly { caller: Caller; call: IamRequest }[],
): Promise<string[]> {
  const problems: string[] = [];
  for (const { caller, call } of calls) {
    const verdict = await evaluateCall(deployment, caller, call);
    if (verdict.decision === 'ExplicitlyDenied' || verdict.decision === 'ImplicitlyDenied') continue;
    problems.push(
      `${describeCall(caller.name, call)} → ${verdict.decision}, must be denied: ${verdict.because}`,
    );
  }
  return problems;
}
