/**
 * The Scheduler target for the dispatch function. The stock LambdaInvoke grants invoke on the function
 * and on every version and alias (`arn:*`); the schedule calls the unqualified function only, so this
 * target grants exactly that.
 */
import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as targets from 'aws-cdk-lib/aws-scheduler-targets';
import type { Construct } from 'constructs';

export class InvokeFunctionOnly extends targets.LambdaInvoke {
  readonly #target: lambda.IFunction;

  constructor(func: lambda.IFunction, props: targets.ScheduleTargetBaseProps) {
    super(func, props);
    this.#target = func;
  }

  protected override addTargetActionToRole(role: iam.IRole): void {
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [this.#target.functionArn] }),
    );
  }
}

/** A role only EventBridge Scheduler of this account can assume (confused-deputy guard). */
export function schedulerRole(scope: Construct, id: string): iam.Role {
  return new iam.Role(scope, id, {
    description: 'Lets EventBridge Scheduler invoke the dispatch function',
    assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
      conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(scope).account } },
    }),
  });
}
