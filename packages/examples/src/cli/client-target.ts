import { randomBytes } from 'node:crypto';
import { DispatcherClient, OlympicClient, OlympicHttpError } from '../service';
import type { ServerAssignment } from '../service';
import { defaultClusterFile, readClusterFile } from './cluster-file';
import { integerFlag } from './service-flags';
import { UserError } from './user-error';

/** Flags shared by the two clients, in `parseArgs` shape. */
export const clientFlags = {
  cluster: { type: 'string', default: defaultClusterFile },
  dispatcher: { type: 'string' },
  'client-id': { type: 'string' },
  interval: { type: 'string', default: '1000' },
  count: { type: 'string', default: '0' },
} as const;

/** Usage lines of {@link clientFlags}. */
export const clientFlagsUsage = `  --cluster <path>         the cluster file of \`medals cluster\` (${defaultClusterFile})
  --dispatcher <url>       the dispatcher, instead of the cluster file's
  --client-id <id>         sent as X-Client-Id (a random one)
  --interval <ms>          time between rounds (1000)
  --count <n>              rounds to run; 0 runs until Ctrl+C (0)
`;

/** Values of {@link clientFlags} as parsed. */
export interface ClientFlagValues {
  cluster?: string;
  dispatcher?: string;
  'client-id'?: string;
  interval?: string;
  count?: string;
}

/** What the client flags ask for. */
export interface ClientSettings {
  dispatcherUrl: string;
  /** The token from the cluster file, when one was read. */
  token: string | undefined;
  clientId: string;
  intervalMs: number;
  /** 0 runs until stopped. */
  count: number;
}

/** `MEDALS_CACOFONIX_TOKEN`, when set and not empty. */
function envToken(): string | undefined {
  const token = process.env.MEDALS_CACOFONIX_TOKEN;
  return token === undefined || token === '' ? undefined : token;
}

/** Reads the client flags, and the cluster file unless `--dispatcher` names the dispatcher. */
export function clientSettings(values: ClientFlagValues, kind: string): ClientSettings {
  const intervalMs = integerFlag('interval', values.interval, 0, 3_600_000);
  const count = integerFlag('count', values.count, 0, 1_000_000_000);
  const clientId = values['client-id'] ?? `${kind}-${randomBytes(3).toString('hex')}`;
  if (values.dispatcher !== undefined) {
    return {
      dispatcherUrl: values.dispatcher,
      token: envToken(),
      clientId,
      intervalMs,
      count,
    };
  }
  const cluster = readClusterFile(values.cluster ?? defaultClusterFile);
  return {
    dispatcherUrl: cluster.dispatcher,
    token: envToken() ?? cluster.cacofonixToken,
    clientId,
    intervalMs,
    count,
  };
}

/**
 * A client's session with the dispatcher: the front-end it was given, and a
 * new one when that one stops answering (the dispatcher has stopped assigning
 * a dead front-end by then, or soon will). Releases its front-end on close.
 */
export class AssignedServer {
  readonly #dispatcher: DispatcherClient;
  readonly #dispatcherUrl: string;
  readonly #clientId: string;
  readonly #token: string | undefined;
  #assignment: ServerAssignment | undefined;
  #connecting: Promise<OlympicClient> | undefined;

  constructor(dispatcherUrl: string, clientId: string, token?: string) {
    this.#dispatcher = new DispatcherClient({ baseUrl: dispatcherUrl, timeoutMs: 2_000 });
    this.#dispatcherUrl = dispatcherUrl;
    this.#clientId = clientId;
    this.#token = token;
  }

  /** The front-end in use, if one was assigned. */
  get server(): string | undefined {
    return this.#assignment?.server;
  }

  /**
   * Runs `call` on the assigned front-end, asking for another and retrying
   * (up to `attempts` times) when the front-end cannot be reached or answers
   * 503. Other HTTP errors are the caller's. A dispatcher that cannot be
   * reached or has no front-end to give, and a front-end that still fails
   * after the last attempt, are a {@link UserError}: the cluster is not
   * there, or not well.
   */
  async call<T>(call: (client: OlympicClient) => Promise<T>, attempts = 5): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const client = await this.#connect();
      try {
        return await call(client);
      } catch (err) {
        const serverSide = !(err instanceof OlympicHttpError) || err.status === 503;
        if (!serverSide) throw err;
        if (attempt >= attempts) {
          throw new UserError(
            `the front-end ${this.server ?? '?'} failed ${attempts} times, the last: ${(err as Error).message}`,
            { cause: err },
          );
        }
        this.#drop();
        await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
      }
    }
  }

  /** Lets the front-end go at the dispatcher. */
  async close(): Promise<void> {
    const assignment = this.#assignment;
    this.#drop();
    if (assignment !== undefined) {
      await this.#dispatcher.releaseServer(assignment).catch(() => undefined);
    }
    this.#dispatcher.close();
  }

  #connect(): Promise<OlympicClient> {
    // Concurrent calls share one assignment instead of each asking the dispatcher.
    this.#connecting ??= this.#dispatcher.getServer().then(
      (assignment) => {
        this.#assignment = assignment;
        return new OlympicClient({
          baseUrl: assignment.server,
          clientId: this.#clientId,
          timeoutMs: 2_000,
          ...(this.#token === undefined ? {} : { token: this.#token }),
        });
      },
      (err: unknown) => {
        this.#connecting = undefined;
        const why =
          err instanceof OlympicHttpError ? 'has no front-end to give' : 'cannot be reached';
        throw new UserError(
          `the dispatcher at ${this.#dispatcherUrl} ${why} (${(err as Error).message}); is the cluster running?`,
          { cause: err },
        );
      },
    );
    return this.#connecting;
  }

  #drop(): void {
    void this.#connecting?.then(
      (client) => client.close(),
      () => undefined,
    );
    this.#connecting = undefined;
    this.#assignment = undefined;
  }
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done);
  });
}

/** An AbortSignal that aborts on the first SIGINT or SIGTERM. */
export function stopSignal(): AbortSignal {
  const controller = new AbortController();
  const abort = (): void => controller.abort();
  process.once('SIGINT', abort);
  process.once('SIGTERM', abort);
  return controller.signal;
}
