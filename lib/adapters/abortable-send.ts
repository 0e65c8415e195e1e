/**
 * `client.send(command, { abortSignal })` without rebuilding the middleware stack on every request.
 *
 * The SDK resolves a command's middleware stack (about 30 middlewares: copied, sorted, wrapped) on each
 * `send`, a measurable share of the S3 path's CPU per message (bench/notes.md, "CPU per message on the S3
 * path"). Its own cache
 * (`cacheMiddleware: true`) holds one handler per command class, but only for sends without options, and
 * every request of a run carries the run's deadline as its abort signal. So this keeps the same cache keyed
 * by client, abort signal and command class: a run has one deadline signal, so a run resolves each command
 * class once. The handler is built exactly as `Client.send` builds it (`command.resolveMiddleware` with the
 * client's stack, config and options) and, as in the SDK's cache, later changes to a middleware stack are
 * not seen; so the cache is used only for clients created with `cacheMiddleware: true` (ours are, see
 * AWS_CLIENT_DEFAULTS); any other client (or a stand-in with only `send`) gets a plain `send`.
 */

/** What a command handler resolves to: the SDK's `{ output, response }`. */
type CommandHandler<Output> = (command: never) => Promise<{ readonly output: Output }>;

/** The public surface of an SDK v3 command used here (`Command.resolveMiddleware`). */
export interface AbortableCommand<Output> {
  resolveMiddleware(stack: never, config: never, options: never): CommandHandler<Output>;
}

/** The public surface of an SDK v3 client used here. */
export interface AbortableClient {
  readonly middlewareStack: unknown;
  readonly config?: { readonly cacheMiddleware?: boolean };
  send(command: never, options?: { abortSignal?: AbortSignal }): Promise<unknown>;
}

type HandlersByClass = Map<unknown, CommandHandler<unknown>>;
const handlers = new WeakMap<AbortableClient, WeakMap<AbortSignal, HandlersByClass>>();

export async function sendAbortable<Output>(
  client: AbortableClient,
  command: AbortableCommand<Output>,
  signal: AbortSignal | undefined,
): Promise<Output> {
  if (client.config?.cacheMiddleware !== true) {
    const send = client.send.bind(client) as (c: unknown, o?: object) => Promise<Output>;
    return send(command, signal === undefined ? undefined : { abortSignal: signal });
  }
  if (signal === undefined) {
    // The SDK's own cache covers sends without options.
    return (client.send.bind(client) as (c: unknown) => Promise<Output>)(command);
  }
  const handler = handlerFor(client, command, signal) as (command: unknown) => Promise<{ output: Output }>;
  return (await handler(command)).output;
}

function handlerFor<Output>(
  client: AbortableClient,
  command: AbortableCommand<Output>,
  signal: AbortSignal,
): CommandHandler<Output> {
  let bySignal = handlers.get(client);
  if (bySignal === undefined) {
    bySignal = new WeakMap();
    handlers.set(client, bySignal);
  }
  let byClass = bySignal.get(signal);
  if (byClass === undefined) {
    byClass = new Map();
    bySignal.set(signal, byClass);
  }
  let handler = byClass.get(command.constructor) as CommandHandler<Output> | undefined;
  if (handler === undefined) {
    const resolve = command.resolveMiddleware.bind(command) as (...args: unknown[]) => CommandHandler<Output>;
    handler = resolve(client.middlewareStack, client.config, { abortSignal: signal });
    byClass.set(command.constructor, handler);
  }
  return handler;
}
