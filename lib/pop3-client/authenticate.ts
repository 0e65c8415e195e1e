/**
 * Logging in on one connection: runs the mechanisms LoginPlan (lib/pop3/login-plan.ts) picks, each as
 * its sans-I/O LoginExchange (lib/pop3/login-mechanisms.ts), until one succeeds or the plan ends. A
 * refusal in AUTHORIZATION state moves on to the next mechanism on the same connection; a connection the
 * server closed after a refusal ends with Pop3LoginInterruptedError, and `loginOnNewConnections`
 * (Pop3Client.connectAndLogin) goes on with the same plan on a new connection.
 *
 * A refused token login ends with the token's decoded claims in the message (never the token): they are
 * what shows a wrong audience, scope or tenant.
 */

import type { Pop3Command } from '../pop3/commands.ts';
import type { AuthMethod, Credentials } from '../pop3/credentials.ts';
import { Pop3AuthenticationError, Pop3ConnectionError, Pop3ServerError } from '../pop3/errors.ts';
import type { LoginExchange, LoginOffer } from '../pop3/login-mechanisms.ts';
import { LoginPlan } from '../pop3/login-plan.ts';
import type { Capabilities } from '../pop3/parsers.ts';
import type { Conversation } from './conversation.ts';
import { rememberedMechanisms } from './mechanism-memory.ts';

/** The server closed the connection after refusing a mechanism; the plan goes on on a new connection. */
export class Pop3LoginInterruptedError extends Pop3ConnectionError {}

/** What logging in across connections needs of a client (Pop3Client has it). */
export interface LoginTarget {
  readonly mechanism: string | undefined;
  readonly capabilities: Capabilities;
  login(credentials: Credentials, method: AuthMethod, plan: LoginPlan): Promise<void>;
  abort(error?: Error): void;
}

/**
 * Pop3Client.connectAndLogin (its comment says what a user sees): connects and logs in with one plan,
 * on a new connection each time the server closed after a refusal; remembers the mechanism that worked
 * for this host, port and user, and recalls it unless `preferredMechanism` names another.
 */
export async function loginOnNewConnections<C extends LoginTarget>(
  connect: () => Promise<C>,
  where: { readonly host: string; readonly port: number; readonly preferredMechanism?: string | undefined },
  credentials: Credentials,
  method: AuthMethod,
): Promise<C> {
  const { host, port } = where;
  const preferredMechanism =
    where.preferredMechanism ?? rememberedMechanisms.recall(host, port, credentials.username);
  const plan = new LoginPlan(credentials, method, { preferredMechanism });
  for (;;) {
    const client = await connect();
    try {
      await client.login(credentials, method, plan);
      if (method === 'auto' && client.mechanism !== undefined) {
        rememberedMechanisms.remember(host, port, credentials.username, client.mechanism);
      }
      return client;
    } catch (error) {
      client.abort(error instanceof Error ? error : undefined);
      if (
        error instanceof Pop3ServerError &&
        error.hasCode('LOGIN-DELAY') &&
        error.retryAfterSeconds === undefined
      ) {
        error.retryAfterSeconds = client.capabilities.loginDelay;
      }
      if (!(error instanceof Pop3LoginInterruptedError)) throw error;
    }
  }
}

/** Returns the mechanism used ('USER', 'APOP', 'PLAIN', ...). */
export async function authenticate(
  conversation: Conversation,
  offer: LoginOffer,
  credentials: Credentials,
  plan: LoginPlan,
): Promise<string> {
  try {
    return await runPlan(conversation, offer, credentials, plan);
  } catch (error) {
    if (
      error instanceof Pop3AuthenticationError &&
      credentials.kind === 'oauth2' &&
      credentials.tokenDescription !== undefined
    ) {
      error.message = `${error.message}; ${credentials.tokenDescription}`;
    }
    throw error;
  }
}

async function runPlan(
  conversation: Conversation,
  offer: LoginOffer,
  credentials: Credentials,
  plan: LoginPlan,
): Promise<string> {
  for (;;) {
    const entry = plan.next(offer);
    let exchange: LoginExchange | undefined = entry.exchange(credentials, offer);
    while (exchange !== undefined) {
      try {
        await run(conversation, exchange, offer.pipelining === true);
        return entry.name;
      } catch (error) {
        if (error instanceof Pop3AuthenticationError) {
          // The same mechanism once more in its other form on this connection, or on to the next one.
          exchange = plan.refused(error, exchange);
        } else if (error instanceof Pop3ConnectionError) {
          plan.closed(error);
          throw new Pop3LoginInterruptedError(
            `${conversation.server} closed the connection after refusing a login mechanism`,
            { server: conversation.server, cause: error },
          );
        } else {
          throw error;
        }
      }
    }
  }
}

async function run(conversation: Conversation, exchange: LoginExchange, pipelining: boolean): Promise<void> {
  const batch = pipelining ? exchange.pipelined?.() : undefined;
  if (batch !== undefined) return runTogether(conversation, exchange, batch);
  let reply = await conversation.send(exchange.start());
  for (;;) {
    let next: ReturnType<LoginExchange['onReply']>;
    try {
      next = exchange.onReply(reply.status);
    } catch (error) {
      // '*' cancels a SASL exchange (RFC 5034 §4); the server answers -ERR, which we do not need.
      const cancel = exchange.cancel();
      if (cancel) await conversation.send(cancel).catch(() => undefined);
      throw error;
    }
    if (next === 'done') return;
    reply = await conversation.send(next);
  }
}

/**
 * USER and PASS in one write to a server that pipelines: one round trip instead of two. Every reply is
 * read (they come in order); the first -ERR is the answer. A PASS after a refused USER is refused by the
 * server without a check (no user was given), and the exchange knows the password was not checked.
 */
async function runTogether(
  conversation: Conversation,
  exchange: LoginExchange,
  batch: readonly Pop3Command<unknown>[],
): Promise<void> {
  const replies = batch.map((command) => conversation.send(command));
  for (const reply of replies) reply.catch(() => undefined); // awaited below; a later one may fail unread
  for (const reply of replies) {
    if (exchange.onReply((await reply).status) === 'done') return;
  }
}
