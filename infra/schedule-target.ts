/**
 * The schedule that invokes the dispatch function once per period, and its target. The stock
 * LambdaInvoke grants invoke on the function and on every version and alias (`arn:*`); the schedule calls
 * the unqualified function only, so this target grants exactly that.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
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

/** The schedule: one dispatch per period, with the slot's time as input (the jobs' deduplication id). */
export function buildSchedule(
  scope: Construct,
  dispatchFunction: lambda.IFunction,
  period: Duration,
): scheduler.Schedule {
  return new scheduler.Schedule(scope, 'Schedule', {
    description: `Polls every mailbox every ${period.toHumanString()}`,
    schedule: scheduler.ScheduleExpression.rate(period),
    target: new InvokeFunctionOnly(dispatchFunction, {
      role: schedulerRole(scope, 'ScheduleRole'),
      input: scheduler.ScheduleTargetInput.fromObject({
        scheduledTime: scheduler.ContextAttribute.scheduledTime,
      }),
      retryAttempts: 3,
      // Once the next slot has started, a late dispatch of this one is pointless.
      maxEventAge: Duration.seconds(Math.max(60, period.toSeconds())),
    }),
  });
}
