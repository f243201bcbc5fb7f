import { randomUUID } from 'node:crypto';
import { Agent, request } from 'node:http';
import type { MedalTally, RaffleEntry, RaffleWinner } from '@medals/core';
import { MAX_RAFFLE_PAGE } from './raffle-history/raffle-pager';
import type { RafflePage } from './raffle-history/raffle-pager';

/** A REST call answered with an error status; `message` is the server's `error`. */
export class OlympicHttpError extends Error {
  constructor(
    /** The HTTP status. */
    readonly status: number,
    message: string,
    /** The method and URL called, with the token, if it was in the path, shown as `<token>`. */
    readonly target: string,
  ) {
    super(message);
    this.name = 'OlympicHttpError';
  }
}

/** Options shared by the clients. */
export interface HttpClientOptions {
  /** Keep-alive agent; pass one to share connections between clients. Default: a new agent of this client's own. */
  agent?: Agent;
  /** How long a call may take, in ms. Default 10,000. */
  timeoutMs?: number;
}

/** Options of {@link OlympicClient}. */
export interface OlympicClientOptions extends HttpClientOptions {
  /** The front-end (or single-tier server), e.g. `http://127.0.0.1:8001`. */
  baseUrl: string;
  /** Sent as `X-Client-Id`, so the server and the raffle know who asked. Default: none. */
  clientId?: string;
  /** Cacofonix's token, needed for writes only. Default: none. */
  token?: string;
  /**
   * Where writes carry the token: as `Authorization: Bearer`, or in the path
   * as the lab's API has it (where proxies and access logs may see it).
   * Default `'header'`.
   */
  tokenIn?: 'path' | 'header';
}

/** Options of a write. */
export interface WriteOptions {
  /** Sent as `Idempotency-Key`: a retry with the same key counts once. Default: none (the server makes one up). */
  idempotencyKey?: string;
}

/** Answer of a write: `ok` and the value right after it. */
export type WriteResult<T> = { ok: true } & T;

/** An event's scores as the API answers them: `{"event": "Stone Curling", "Rome": 0, "Gaul": 0}`. */
export type ScoreView = { event: string } & Record<string, number | string>;

/** A raffle's history, or the part of it one page of `GET /raffle` answers. */
export interface RaffleView {
  every: number;
  /** The counts of the whole history. */
  totals: { requests: number; entries: number; winners: number };
  entries: RaffleEntry[];
  winners: RaffleWinner[];
}

/** What `GET /raffle` asks for: the latest page, or `limit` entries after entry `after`. */
export interface RaffleQuery {
  after?: number;
  limit?: number;
}

/** A front-end as `GET /servers` on the dispatcher lists it. */
export interface ServerView {
  id: string;
  url: string;
  load: number;
  alive: boolean;
  assigned: number;
  /** `registered` once the front-end registered itself, `configured` while known from the dispatcher's list only. */
  source: 'configured' | 'registered';
  /** Requests it was serving at its last registration. */
  inFlight: number;
  /** Clients it reported active at its last registration. */
  clients: number;
  /** Tickets handed out for it and neither released nor expired. */
  tickets: number;
}

/** Answer of a call: its status and parsed JSON body. */
interface Answer {
  status: number;
  body: unknown;
}

/** Calls a JSON endpoint over keep-alive HTTP. */
class JsonHttp {
  readonly #agent: Agent;
  readonly #ownsAgent: boolean;
  readonly #timeoutMs: number;

  constructor(options: HttpClientOptions) {
    this.#ownsAgent = options.agent === undefined;
    this.#agent = options.agent ?? new Agent({ keepAlive: true, maxSockets: 16 });
    this.#timeoutMs = options.timeoutMs ?? 10_000;
  }

  /** Calls `url`; `shown` is the URL as errors may show it (without a token). */
  call(
    method: string,
    url: string,
    headers: Record<string, string>,
    body?: string,
    shown = url,
  ): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const req = request(
        url,
        {
          method,
          agent: this.#agent,
          headers:
            body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
          timeout: this.#timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.once('error', reject);
          res.once('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            try {
              resolve({ status: res.statusCode ?? 0, body: text === '' ? {} : JSON.parse(text) });
            } catch {
              reject(
                new OlympicHttpError(
                  res.statusCode ?? 0,
                  'answer is not JSON',
                  `${method} ${shown}`,
                ),
              );
            }
          });
        },
      );
      req.once('timeout', () =>
        req.destroy(new Error(`${method} ${shown} took longer than ${this.#timeoutMs} ms`)),
      );
      req.once('error', reject);
      req.end(body);
    });
  }

  /** Calls and returns the body of a 2xx answer; throws {@link OlympicHttpError} otherwise. */
  async ok<T>(
    method: string,
    url: string,
    headers: Record<string, string>,
    body?: string,
    shown = url,
  ): Promise<T> {
    const answer = await this.call(method, url, headers, body, shown);
    if (answer.status < 200 || answer.status > 299) {
      const error = (answer.body as { error?: unknown }).error;
      throw new OlympicHttpError(
        answer.status,
        typeof error === 'string' ? error : `status ${answer.status}`,
        `${method} ${shown}`,
      );
    }
    return answer.body as T;
  }

  /** Closes the connections of the agent, unless it was given. */
  close(): void {
    if (this.#ownsAgent) this.#agent.destroy();
  }
}

/**
 * A client of the Olympic REST API, for tablets (reads) and Cacofonix
 * (writes), over keep-alive connections.
 *
 * @example
 * ```ts
 * const client = new OlympicClient({ baseUrl: 'http://127.0.0.1:8001', clientId: 'tablet-1' });
 * console.log(await client.getScore('Stone Curling'));
 * client.close();
 * ```
 */
export class OlympicClient {
  /** The server this client calls, without a trailing slash. */
  readonly baseUrl: string;
  readonly #http: JsonHttp;
  readonly #headers: Record<string, string>;
  readonly #token: string | undefined;
  readonly #tokenIn: 'path' | 'header';

  constructor(options: OlympicClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/$/, '');
    this.#http = new JsonHttp(options);
    this.#headers = options.clientId === undefined ? {} : { 'x-client-id': options.clientId };
    this.#token = options.token;
    this.#tokenIn = options.tokenIn ?? 'header';
  }

  /** `GET /getMedalTally/{team}`. */
  getMedalTally(team: string): Promise<MedalTally> {
    return this.#http.ok('GET', this.#url('getMedalTally', team), this.#headers);
  }

  /** `PUT /incrementMedalTally/{team}/{medal}` (and `/{token}` with `tokenIn: 'path'`). */
  incrementMedalTally(
    team: string,
    medal: string,
    options: WriteOptions = {},
  ): Promise<WriteResult<MedalTally>> {
    return this.#write(['incrementMedalTally', team, medal], options);
  }

  /** `GET /getScore/{event}`. */
  getScore(event: string): Promise<ScoreView> {
    return this.#http.ok('GET', this.#url('getScore', event), this.#headers);
  }

  /** `PUT /setScore/{event}/{romeScore}/{gaulScore}` (and `/{token}` with `tokenIn: 'path'`). */
  setScore(
    event: string,
    romeScore: number,
    gaulScore: number,
    options: WriteOptions = {},
  ): Promise<WriteResult<ScoreView>> {
    return this.#write(['setScore', event, String(romeScore), String(gaulScore)], options);
  }

  /** `GET /raffle`: the latest page, or with `after` the page after that entry. */
  raffle(query: RaffleQuery = {}): Promise<RafflePage> {
    const params = new URLSearchParams();
    if (query.after !== undefined) params.set('after', String(query.after));
    if (query.limit !== undefined) params.set('limit', String(query.limit));
    const search = params.size === 0 ? '' : `?${params.toString()}`;
    return this.#http.ok('GET', `${this.#url('raffle')}${search}`, this.#headers);
  }

  /** The raffle's whole history: `GET /raffle?after=…` page after page, from the first entry. */
  async raffleHistory(limit = MAX_RAFFLE_PAGE): Promise<RaffleView> {
    const entries: RaffleEntry[] = [];
    const winners: RaffleWinner[] = [];
    let page = await this.raffle({ after: 0, limit });
    for (;;) {
      entries.push(...page.entries);
      winners.push(...page.winners);
      if (page.next === null) break;
      page = await this.raffle({ after: page.next, limit });
    }
    return { every: page.every, totals: page.totals, entries, winners };
  }

  /** `GET /status`. */
  status(): Promise<Record<string, unknown>> {
    return this.#http.ok('GET', this.#url('status'), this.#headers);
  }

  /** Closes this client's idle connections. */
  close(): void {
    this.#http.close();
  }

  #write<T>(segments: string[], options: WriteOptions): Promise<WriteResult<T>> {
    const headers: Record<string, string> = { ...this.#headers };
    if (options.idempotencyKey !== undefined) headers['idempotency-key'] = options.idempotencyKey;
    if (this.#token !== undefined && this.#tokenIn === 'header') {
      headers.authorization = `Bearer ${this.#token}`;
    }
    if (this.#token === undefined || this.#tokenIn === 'header') {
      return this.#http.ok('PUT', this.#url(...segments), headers);
    }
    const url = this.#url(...segments, this.#token);
    return this.#http.ok('PUT', url, headers, undefined, `${this.#url(...segments)}/<token>`);
  }

  #url(...segments: string[]): string {
    return `${this.baseUrl}/${segments.map(encodeURIComponent).join('/')}`;
  }
}

/** What `GET /getServer` hands out: a front-end, and the ticket that releases it. */
export interface ServerAssignment {
  /** The front-end's REST base URL. */
  server: string;
  /** Pass it to {@link DispatcherClient.releaseServer} when done; it releases once. */
  ticket: string;
}

/** Options of {@link DispatcherClient}. */
export interface DispatcherClientOptions extends HttpClientOptions {
  /** The dispatcher, e.g. `http://127.0.0.1:8000`. */
  baseUrl: string;
}

/**
 * A client of the dispatcher: which front-end to use, and letting it go.
 *
 * @example
 * ```ts
 * const dispatcher = new DispatcherClient({ baseUrl: 'http://127.0.0.1:8000' });
 * const assignment = await dispatcher.getServer();
 * // … use an OlympicClient on `assignment.server` …
 * await dispatcher.releaseServer(assignment);
 * dispatcher.close();
 * ```
 */
export class DispatcherClient {
  /** The dispatcher this client calls, without a trailing slash. */
  readonly baseUrl: string;
  readonly #http: JsonHttp;

  constructor(options: DispatcherClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/$/, '');
    this.#http = new JsonHttp(options);
  }

  /** `GET /getServer`: the REST base URL of the least-loaded live front-end, and the ticket that releases it. */
  async getServer(): Promise<ServerAssignment> {
    const { server, ticket } = await this.#http.ok<ServerAssignment>(
      'GET',
      `${this.baseUrl}/getServer`,
      {},
    );
    return { server, ticket };
  }

  /**
   * `POST /releaseServer` with the assignment's ticket (and server): this
   * client no longer uses it. Throws {@link OlympicHttpError} 404 when the
   * ticket is unknown, expired or already released.
   */
  async releaseServer(assignment: ServerAssignment): Promise<void> {
    const body = JSON.stringify({ ticket: assignment.ticket, server: assignment.server });
    await this.#http.ok('POST', `${this.baseUrl}/releaseServer`, {}, body);
  }

  /** `GET /servers`: every front-end, its load, alive or not. */
  async servers(): Promise<ServerView[]> {
    const { servers } = await this.#http.ok<{ servers: ServerView[] }>(
      'GET',
      `${this.baseUrl}/servers`,
      {},
    );
    return servers;
  }

  /** Closes this client's idle connections. */
  close(): void {
    this.#http.close();
  }
}

/** Options of {@link DispatchedOlympicClient}. */
export interface DispatchedOlympicClientOptions extends HttpClientOptions {
  /** The dispatcher, e.g. `http://127.0.0.1:8000`. */
  dispatcherUrl: string;
  /** Sent as `X-Client-Id`. Default: none. */
  clientId?: string;
  /** Cacofonix's token, for writes. Default: none. */
  token?: string;
  /**
   * How long one call keeps moving to other front-ends before it gives up,
   * in ms; it must outlast the dispatcher's detection of a dead front-end
   * (about half a second by default). Default 5,000.
   */
  failoverTimeoutMs?: number;
  /** Pause before asking the dispatcher again after a failure, in ms. Default 100. */
  retryDelayMs?: number;
}

/**
 * A client that asks the dispatcher for a front-end and moves to another
 * when its front-end stops answering (a refused or cut connection, a
 * timeout, a 503). Writes keep one `Idempotency-Key` across attempts (one is
 * generated when none is given), so a write retried on another front-end
 * after a lost answer still counts once.
 */
export class DispatchedOlympicClient {
  readonly #dispatcher: DispatcherClient;
  readonly #options: DispatchedOlympicClientOptions;
  readonly #failoverTimeoutMs: number;
  readonly #retryDelayMs: number;
  #server: { assignment: ServerAssignment; client: OlympicClient } | undefined;
  #writes = 0;
  readonly #keyPrefix = randomUUID();

  constructor(options: DispatchedOlympicClientOptions) {
    this.#options = options;
    this.#dispatcher = new DispatcherClient({ ...options, baseUrl: options.dispatcherUrl });
    this.#failoverTimeoutMs = options.failoverTimeoutMs ?? 5_000;
    this.#retryDelayMs = options.retryDelayMs ?? 100;
  }

  /** The front-end in use, once one was assigned. */
  get server(): string | undefined {
    return this.#server?.assignment.server;
  }

  /** `GET /getMedalTally/{team}` on the assigned front-end. */
  getMedalTally(team: string): Promise<MedalTally> {
    return this.#withServer((client) => client.getMedalTally(team));
  }

  /** `PUT /incrementMedalTally/…` on the assigned front-end, with one Idempotency-Key across attempts. */
  incrementMedalTally(
    team: string,
    medal: string,
    options: WriteOptions = {},
  ): Promise<WriteResult<MedalTally>> {
    const write = { idempotencyKey: options.idempotencyKey ?? this.#nextKey() };
    return this.#withServer((client) => client.incrementMedalTally(team, medal, write));
  }

  /** `GET /getScore/{event}` on the assigned front-end. */
  getScore(event: string): Promise<ScoreView> {
    return this.#withServer((client) => client.getScore(event));
  }

  /** `PUT /setScore/…` on the assigned front-end, with one Idempotency-Key across attempts. */
  setScore(
    event: string,
    romeScore: number,
    gaulScore: number,
    options: WriteOptions = {},
  ): Promise<WriteResult<ScoreView>> {
    const write = { idempotencyKey: options.idempotencyKey ?? this.#nextKey() };
    return this.#withServer((client) => client.setScore(event, romeScore, gaulScore, write));
  }

  /** `GET /raffle` on the assigned front-end. */
  raffle(query: RaffleQuery = {}): Promise<RafflePage> {
    return this.#withServer((client) => client.raffle(query));
  }

  /** Releases the front-end in use and closes every connection. */
  async close(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    try {
      if (server !== undefined) await this.#dispatcher.releaseServer(server.assignment);
    } finally {
      server?.client.close();
      this.#dispatcher.close();
    }
  }

  async #withServer<T>(call: (client: OlympicClient) => Promise<T>): Promise<T> {
    const deadline = Date.now() + this.#failoverTimeoutMs;
    for (;;) {
      try {
        this.#server ??= await this.#assign();
        return await call(this.#server.client);
      } catch (err) {
        if (!isServerGone(err) || Date.now() >= deadline) throw err;
        await this.#dropServer();
        await new Promise((resolve) => setTimeout(resolve, this.#retryDelayMs));
      }
    }
  }

  async #assign(): Promise<{ assignment: ServerAssignment; client: OlympicClient }> {
    const assignment = await this.#dispatcher.getServer();
    const { clientId, token, agent, timeoutMs } = this.#options;
    return {
      assignment,
      client: new OlympicClient({ baseUrl: assignment.server, clientId, token, agent, timeoutMs }),
    };
  }

  async #dropServer(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (server === undefined) return;
    server.client.close();
    await this.#dispatcher.releaseServer(server.assignment).catch(() => undefined);
  }

  #nextKey(): string {
    return `${this.#options.clientId ?? 'client'}-${this.#keyPrefix}-${++this.#writes}`;
  }
}

/** Whether a failed call means the front-end (or the dispatcher's pick) cannot serve now. */
function isServerGone(err: unknown): boolean {
  if (err instanceof OlympicHttpError) return err.status === 503;
  // A refused, reset or timed-out connection. Checked by shape, not `instanceof Error`:
  // node's errors may come from another realm (as under jest).
  return typeof err === 'object' && err !== null && 'message' in err;
}
