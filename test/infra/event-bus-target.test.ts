/**
 * The `eventBus` prop on the synthesized template: the poll function is pointed at the bus (by ARN) and
 * may put events on it and on nothing else; the dispatch function may not; without a bus nothing of it
 * appears. With `notificationQueueEnabled: false` the bus is the only target: no notification queue, no
 * SQS send grant, no queue outputs.
 */
import type { Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import { describe, expect, it } from 'vitest';
import { synth } from './synth-helpers.ts';

type Statement = { Action: string | string[]; Resource: unknown; Effect: string };

const actionsOf = (statements: readonly Statement[]) => statements.flatMap((s) => [s.Action].flat());

function policyStatements(template: ReturnType<typeof synth>['template']): Statement[] {
  return Object.values(template.findResources('AWS::IAM::Policy')).flatMap(
    (policy) => policy['Properties'].PolicyDocument.Statement as Statement[],
  );
}

function pollEnvironment(template: ReturnType<typeof synth>['template']): Record<string, unknown> {
  const [poll] = Object.entries(template.findResources('AWS::Lambda::Function')).filter(([id]) =>
    id.startsWith('MailPollFunction'),
  );
  return poll![1]['Properties'].Environment.Variables;
}

/** The statements of one function's role policy, by the role's logical id prefix. */
function roleStatements(template: ReturnType<typeof synth>['template'], rolePrefix: string): Statement[] {
  return Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((policy) =>
      (policy['Properties'].Roles as { Ref: string }[]).some((role) => role.Ref.startsWith(rolePrefix)),
    )
    .flatMap((policy) => policy['Properties'].PolicyDocument.Statement as Statement[]);
}

const newBus = (stack: Stack) => new events.EventBus(stack, 'Bus', { eventBusName: 'mail-events' });
const busArn = (stack: Stack, bus: events.IEventBus) => stack.resolve(bus.eventBusArn);

/** A synth with a new bus in the stack, returned beside the construct. */
function synthWithBus(props: Parameters<typeof synth>[0] = {}) {
  let bus: events.EventBus | undefined;
  const result = synth(props, (stack) => {
    bus = newBus(stack);
    return { eventBus: bus };
  });
  return { ...result, bus: bus! };
}

describe('MailboxIngestion with an event bus', () => {
  it('points the poll function at the bus by ARN and keeps the queue', () => {
    const { template, stack, ingestion, bus } = synthWithBus({});

    const environment = pollEnvironment(template);
    expect(environment['EVENT_BUS_NAME']).toEqual(busArn(stack, bus));
    expect(environment['NOTIFICATION_QUEUE_URL']).toEqual(
      stack.resolve(ingestion.notificationQueue.queueUrl),
    );
    expect(ingestion.eventBus).toBe(bus);
  });

  it('grants events:PutEvents on that bus only, to the poll function only', () => {
    const { template, stack, bus } = synthWithBus({});

    const putEvents = policyStatements(template).filter((s) =>
      actionsOf([s]).some((a) => a.startsWith('events:')),
    );
    expect(putEvents).toEqual([
      { Action: 'events:PutEvents', Effect: 'Allow', Resource: busArn(stack, bus) },
    ]);
    expect(roleStatements(template, 'MailPollRole')).toContainEqual(putEvents[0]);
    expect(
      actionsOf(roleStatements(template, 'MailDispatchRole')).filter((a) => a.startsWith('events:')),
    ).toEqual([]);
  });

  it('with the parse stage: its function puts the Email Parsed events on the same bus, and on no other', () => {
    const { template, stack, bus } = synthWithBus({ parsedMail: true });

    const [parse] = Object.entries(template.findResources('AWS::Lambda::Function')).filter(([id]) =>
      id.startsWith('MailParseStageParseFunction'),
    );
    expect(parse![1]['Properties'].Environment.Variables['EVENT_BUS_NAME']).toEqual(busArn(stack, bus));
    const putEvents = policyStatements(template).filter((s) =>
      actionsOf([s]).some((a) => a.startsWith('events:')),
    );
    expect(new Set(putEvents.map((s) => JSON.stringify(s)))).toEqual(
      new Set([
        JSON.stringify({ Action: 'events:PutEvents', Effect: 'Allow', Resource: busArn(stack, bus) }),
      ]),
    );
    expect(roleStatements(template, 'MailParseStageParseRole')).toContainEqual(putEvents[0]);
    const withoutBus = synth({ parsedMail: true }).template;
    expect(actionsOf(policyStatements(withoutBus)).filter((a) => a.startsWith('events:'))).toEqual([]);
  });

  it('an imported bus of another account: the environment and the grant name its ARN', () => {
    const arn = 'arn:aws:events:eu-west-1:210987654321:event-bus/central-mail';
    const { template } = synth({}, (s) => ({ eventBus: events.EventBus.fromEventBusArn(s, 'Central', arn) }));

    expect(pollEnvironment(template)['EVENT_BUS_NAME']).toBe(arn);
    expect(roleStatements(template, 'MailPollRole')).toContainEqual({
      Action: 'events:PutEvents',
      Effect: 'Allow',
      Resource: arn,
    });
  });

  it('without a bus: no bus variable and no events permission anywhere', () => {
    const { template, ingestion } = synth();

    expect(pollEnvironment(template)['EVENT_BUS_NAME']).toBeUndefined();
    expect(actionsOf(policyStatements(template)).filter((a) => a.startsWith('events:'))).toEqual([]);
    expect(ingestion.eventBus).toBeUndefined();
    expect(() => ingestion.metricEventsMatched()).toThrow(/no eventBus/);
  });

  it('the bus alone: no notification queue, no send grant on one, no queue outputs', () => {
    const withQueue = synth({ outputs: true }, (s) => ({ eventBus: newBus(s) }));
    const { template, stack, ingestion, bus } = synthWithBus({
      notificationQueueEnabled: false,
      outputs: true,
    });

    // The job queue and its DLQ stay; the notification queue and its DLQ are gone.
    expect(Object.keys(withQueue.template.findResources('AWS::SQS::Queue'))).toHaveLength(4);
    expect(Object.keys(template.findResources('AWS::SQS::Queue')).sort()).toEqual([
      expect.stringMatching(/^MailJobDeadLetterQueue/),
      expect.stringMatching(/^MailJobQueue/),
    ]);
    const environment = pollEnvironment(template);
    expect(environment['NOTIFICATION_QUEUE_URL']).toBeUndefined();
    expect(environment['EVENT_BUS_NAME']).toEqual(busArn(stack, bus));
    expect(actionsOf(roleStatements(template, 'MailPollRole'))).not.toContain('sqs:SendMessage');
    expect(
      Object.keys(template.findOutputs('*')).filter((name) => name.includes('NotificationQueue')),
    ).toEqual([]);
    expect(Object.keys(withQueue.template.findOutputs('*'))).toContain('MailNotificationQueueUrl');
    expect(ingestion.notificationDeadLetterQueue).toBeUndefined();
    expect(() => ingestion.notificationQueue).toThrow(/notificationQueueEnabled: false/);
  });

  it('metricEventsMatched: MatchedEvents of the bus in AWS/Events', () => {
    const { stack, ingestion, bus } = synthWithBus({});

    const metric = ingestion.metricEventsMatched();
    expect(metric.namespace).toBe('AWS/Events');
    expect(metric.metricName).toBe('MatchedEvents');
    expect(metric.statistic).toBe('Sum');
    expect(stack.resolve(metric.dimensions)).toEqual({ EventBusName: stack.resolve(bus.eventBusName) });
  });

  it.each<[string, (stack: Stack) => object, RegExp]>([
    ['the queue turned off without a bus', () => ({ notificationQueueEnabled: false }), /needs an eventBus/],
    [
      'the queue turned off and queue props given',
      (s) => ({ notificationQueueEnabled: false, eventBus: newBus(s), notificationQueueProps: {} }),
      /either notificationQueueProps or notificationQueueEnabled: false/,
    ],
  ])('refuses %s', (_, props, message) => {
    expect(() => synth({}, props)).toThrow(message);
  });
});
