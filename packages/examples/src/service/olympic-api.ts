import { randomUUID, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { EventScore, MedalTally, Raffle, RaffleRequest, TallyStore } from '@medals/core';
import { RafflePager, parseRaffleQuery } from './raffle-history/raffle-pager';
import type { ArchiveReader } from './raffle-history/raffle-pager';
import {
  CLIENT_GONE_STATUS,
  HttpError,
  clientGone,
  hasBody,
  readBody,
  sendError,
  sendJson,
} from './http-server';

/** Options of {@link OlympicApi}. */
export interface OlympicApiOptions {
  /** The serving node's id, reported in `/status`. */
  nodeId: string;
  /** Where tallies and scores live: the db through a `RemoteTallyStore`, or an in-process store. */
  store: TallyStore;
  /** Counts every lab request served, off the request's path. */
  raffle: Raffle;
  /**
   * The raffle's whole history, which `GET /raffle?after=…` reads beyond
   * what the raffle holds in memory. Default: none (only what it holds).
   */
  raffleArchive?: ArchiveReader;
  /** Cacofonix's token, which authorises writes. Must not be empty. */
  token: string;
  /** Role-specific fields of `/status` (leader, term, clock, multicast…). Default: none. */
  status?: () => Record<string, unknown>;
  /** Whether the node can serve, for `/healthz`. Default: always. */
  healthy?: () => boolean;
  /** Told of failures that have no client to tell (a raffle record that failed, a 500). Default: none. */
  onError?: (error: Error) => void;
  /** Told of every request answered. Default: none. */
  onRequest?: (request: ApiRequestRecord) => void;
  /**
   * Whether `onRequest` has anyone to tell now; while it has not, the
   * record of a request is not even made. Default: always.
   */
  observesRequests?: () => boolean;
  /** Longest request target accepted (414 above), in characters. Default 2,048. */
  maxUrlLength?: number;
  /** Largest request body accepted (413 above), in bytes; the lab API reads none. Default 16,384. */
  maxBodyBytes?: number;
  /**
   * A client counts as active (in {@link ApiLoad.activeClients}, which a
   * front-end reports to the dispatcher) for this many ms after its last
   * request served. Default 10,000.
   */
  activeClientWindowMs?: number;
  /** Monotonic time in ms, for the active-client window. Default `performance.now`. */
  now?: () => number;
  /**
   * Requests are recorded into the raffle in batches gathered over this
   * many ms, in the order they were answered, so that their multicast
   * messages leave in shared writes (a syscall per message would cost more
   * than the request itself); 0 records each one at once. Default 10.
   */
  raffleBatchMs?: number;
}

/** One request as {@link OlympicApiOptions.onRequest} reports it. */
export interface ApiRequestRecord {
  method: string;
  /** The request's path with any token in it, and its query, left out (see {@link redactPath}). */
  path: string;
  /** The status answered; 499 when the client went away before it could be answered. */
  status: number;
  client: string;
}

/** How busy a front-end is, as `/status` reports it. */
export interface ApiLoad {
  /** Requests being served now. */
  inFlight: number;
  /** Requests answered since start, errors, health checks and status included. */
  served: number;
  /** Lab API requests (tallies and scores) answered successfully since start: what the raffle counts. */
  requests: number;
  /** Distinct clients (by `X-Client-Id`, else address) seen since start, up to 100,000. */
  clients: number;
  /** Distinct clients served in the last `activeClientWindowMs`: what the dispatcher balances on. */
  activeClients: number;
}

/** The team whose score is the first number of `/setScore/{event}/{rome}/{gaul}`. */
const FIRST_SCORED_TEAM = 'Rome';
/** The team whose score is the second number. */
const SECOND_SCORED_TEAM = 'Gaul';
const MAX_HEADER_VALUE = 200;
const MAX_TRACKED_CLIENTS = 100_000;
/**
 * A client served again within this many ms keeps its last-seen time and
 * place: moving it to the end of the map on every request would cost more
 * than an active-client window of seconds needs to be exact.
 */
const LAST_SEEN_RESOLUTION_MS = 100;
/** Visible ASCII: what client ids and idempotency keys may contain. */
const TOKEN_CHARS = /^[\x21-\x7e]+$/;
const SCORE = /^\d{1,16}$/;
const LIFECYCLE_ERROR = 'ERR_LIFECYCLE';
/** What a multicast that stopped under a pending send rejects it with (the sequencer's). */
const ABORTED_ERROR = 'ERR_ABORTED';

const STATUS_OF_CODE: Readonly<Record<string, number>> = {
  ERR_UNKNOWN_TEAM: 404,
  ERR_UNKNOWN_EVENT: 404,
  ERR_UNKNOWN_MEDAL_TYPE: 400,
  ERR_INVALID_SCORE: 400,
  ERR_INVALID_OPERATION_ID: 400,
  ERR_OPERATION_CONFLICT: 409,
  ERR_TIMEOUT: 503,
  ERR_PEER_UNREACHABLE: 503,
  ERR_TRANSPORT_CLOSED: 503,
  ERR_BACKPRESSURE: 503,
  ERR_STORE_UNAVAILABLE: 503,
  ERR_LIFECYCLE: 503,
};

/** The routes and the methods each allows. */
const ROUTES: Readonly<Record<string, { methods: readonly string[]; allow: string }>> = {
  getMedalTally: { methods: ['GET'], allow: 'GET' },
  incrementMedalTally: { methods: ['PUT', 'POST'], allow: 'PUT, POST' },
  getScore: { methods: ['GET'], allow: 'GET' },
  setScore: { methods: ['PUT', 'POST'], allow: 'PUT, POST' },
  raffle: { methods: ['GET'], allow: 'GET' },
  status: { methods: ['GET'], allow: 'GET' },
  healthz: { methods: ['GET'], allow: 'GET' },
};

/**
 * What a route answers. `counted` marks a lab request served, which enters
 * the raffle with `requestId` (its Idempotency-Key) when it had one.
 */
interface Answer {
  status: number;
  body: unknown;
  counted?: boolean;
  requestId?: string;
}

interface Call {
  readonly req: IncomingMessage;
  /** The route's name. */
  readonly route: string;
  /** The decoded path segments after the route's name. */
  readonly params: string[];
  /** The query string, without its `?` (empty when there is none). */
  readonly query: string;
}

/** Each connection's client id when its requests name none (`address:port`), made once per connection. */
const addressIds = new WeakMap<Socket, string>();

/**
 * The REST API of the Olympic service (DESIGN.md section 5), as a node:http
 * request handler shared by the front-end and the single-tier server. Its
 * own small route table keeps the cost per request near a bare node:http
 * server's. Every input is checked at the door: a request target over
 * `maxUrlLength` is 414, a body over `maxBodyBytes` 413, an unknown route
 * 404, a wrong method 405, a write without the token 401 and with a wrong
 * one 403, malformed values 400 and unknown teams or events 404, each as
 * `{"error": …}`; none changes anything.
 *
 * Writes use the `Idempotency-Key` header as the store's operation id, so a
 * retried write counts once (a fresh id is generated without one; the same
 * key with other content is 409). Every lab request answered successfully is
 * recorded into the raffle after the answer is on its way.
 */
export class OlympicApi {
  readonly #options: OlympicApiOptions;
  readonly #token: Buffer;
  readonly #maxUrlLength: number;
  readonly #maxBodyBytes: number;
  readonly #clients = new Set<string>();
  /** Client → time of its last request served, oldest first (a client served again moves to the end). */
  readonly #lastSeen = new Map<string, number>();
  readonly #activeWindowMs: number;
  readonly #now: () => number;
  readonly #raffleBatchMs: number;
  readonly #rafflePager: RafflePager;
  /** Requests answered and not yet recorded into the raffle, in order. */
  #unrecorded: RaffleRequest[] = [];
  #raffleFailures = 0;
  /**
   * The raffle refused a record for good (this node left the multicast
   * group): requests served here would go uncounted, so `/healthz` fails
   * and the dispatcher sends new clients elsewhere.
   */
  #raffleClosed = false;
  #raffleFailureReportedAt = -Infinity;
  #flushTimer: NodeJS.Timeout | undefined;
  /** {@link stop} was called: the node is going down, so its raffle may refuse records. */
  #stopping = false;
  #inFlight = 0;
  #served = 0;
  #requests = 0;

  constructor(options: OlympicApiOptions) {
    if (options.token.length === 0) throw new RangeError('the Olympic API needs a non-empty token');
    this.#options = options;
    this.#token = Buffer.from(options.token);
    this.#maxUrlLength = options.maxUrlLength ?? 2_048;
    this.#maxBodyBytes = options.maxBodyBytes ?? 16_384;
    this.#raffleBatchMs = options.raffleBatchMs ?? 10;
    this.#rafflePager = new RafflePager(options.raffle, options.raffleArchive);
    this.#activeWindowMs = options.activeClientWindowMs ?? 10_000;
    this.#now = options.now ?? (() => performance.now());
  }

  /** How busy it is now. */
  get load(): ApiLoad {
    return {
      inFlight: this.#inFlight,
      served: this.#served,
      requests: this.#requests,
      clients: this.#clients.size,
      activeClients: this.#activeClients(),
    };
  }

  #activeClients(): number {
    const since = this.#now() - this.#activeWindowMs;
    for (const [client, seen] of this.#lastSeen) {
      if (seen >= since) break;
      this.#lastSeen.delete(client);
    }
    return this.#lastSeen.size;
  }

  /**
   * The node:http request listener. An answer the store gives at once (an
   * in-memory read) is sent within this call, as a bare node:http server
   * would; only one that waits on the store or on the body takes a promise.
   */
  readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    this.#inFlight += 1;
    let client = '';
    let answer: Answer | Promise<Answer>;
    try {
      client = this.#client(req);
      answer = this.#serve(this.#route(req));
    } catch (err) {
      this.#done(req, this.#fail(req, res, err), client);
      return;
    }
    if (!isPromise(answer)) {
      this.#answer(req, res, client, answer);
      return;
    }
    answer.then(
      (settled) => this.#answer(req, res, client, settled),
      (err: unknown) => this.#done(req, this.#fail(req, res, err), client),
    );
  };

  #answer(req: IncomingMessage, res: ServerResponse, client: string, answer: Answer): void {
    sendJson(res, answer.status, answer.body);
    this.#done(req, answer.status, client);
    if (answer.counted === true) this.#record(client, answer.requestId);
  }

  #done(req: IncomingMessage, status: number, client: string): void {
    this.#inFlight -= 1;
    this.#served += 1;
    const { onRequest, observesRequests } = this.#options;
    if (onRequest === undefined || observesRequests?.() === false) return;
    onRequest({ method: req.method ?? '', path: redactPath(req.url ?? ''), status, client });
  }

  #client(req: IncomingMessage): string {
    const named = req.headers['x-client-id'];
    if (named === undefined) return addressId(req.socket);
    if (typeof named !== 'string' || named.length > MAX_HEADER_VALUE || !TOKEN_CHARS.test(named)) {
      throw new HttpError(
        400,
        `X-Client-Id must be 1 to ${MAX_HEADER_VALUE} visible ASCII characters`,
      );
    }
    return named;
  }

  #route(req: IncomingMessage): Call {
    const target = req.url ?? '/';
    if (target.length > this.#maxUrlLength) {
      throw new HttpError(414, `request target longer than ${this.#maxUrlLength} characters`);
    }
    const query = target.indexOf('?');
    const path = query === -1 ? target : target.slice(0, query);
    const segments = path.split('/');
    // segments[0] is the empty string before the leading slash.
    const route = segments[0] === '' ? ROUTES[segments[1]] : undefined;
    if (route === undefined || !Object.hasOwn(ROUTES, segments[1])) {
      // Only the first segment is echoed: a mistyped write route may still carry the token.
      throw new HttpError(404, `no such route: ${redactPath(path)}`);
    }
    const method = req.method ?? 'GET';
    if (!route.methods.includes(method)) {
      throw new HttpError(405, `${method} is not allowed on /${segments[1]}`, {
        allow: route.allow,
      });
    }
    const params: string[] = [];
    for (let i = 2; i < segments.length; i++) {
      params.push(decodeSegment(segments[i]));
    }
    return { req, route: segments[1], params, query: query === -1 ? '' : target.slice(query + 1) };
  }

  /** The answer, or its promise when it waits on the body or the store. */
  #serve(call: Call): Answer | Promise<Answer> {
    if (hasBody(call.req)) {
      return readBody(call.req, this.#maxBodyBytes).then(() => this.#serveRoute(call));
    }
    return this.#serveRoute(call);
  }

  #serveRoute(call: Call): Answer | Promise<Answer> {
    const { route, params } = call;
    const { store } = this.#options;
    switch (route) {
      case 'getMedalTally': {
        const [team] = expectParams(params, 1, 1, '/getMedalTally/{teamName}');
        const tally = store.medalTallyNow?.(team);
        if (tally !== undefined) return { status: 200, body: tally, counted: true };
        return store.getMedalTally(team).then(countedRead);
      }
      case 'getScore': {
        const [event] = expectParams(params, 1, 1, '/getScore/{eventType}');
        const score = store.scoreNow?.(event);
        if (score !== undefined) return { status: 200, body: flattenScore(score), counted: true };
        return store.getScore(event).then((read) => countedRead(flattenScore(read)));
      }
      case 'incrementMedalTally': {
        const [team, medal, authId] = expectParams(
          params,
          2,
          3,
          '/incrementMedalTally/{teamName}/{medalType}/{authId}',
        );
        this.#authorize(call.req, authId as string | undefined);
        const key = idempotencyKey(call.req);
        return store.incrementMedal(team, medal, key ?? randomUUID()).then((tally: MedalTally) => ({
          status: 200,
          body: { ok: true, ...tally },
          counted: true,
          requestId: key,
        }));
      }
      case 'setScore': {
        const [event, first, second, authId] = expectParams(
          params,
          3,
          4,
          '/setScore/{eventType}/{romeScore}/{gaulScore}/{authId}',
        );
        this.#authorize(call.req, authId as string | undefined);
        const scores = {
          [FIRST_SCORED_TEAM]: parseScore(first, FIRST_SCORED_TEAM),
          [SECOND_SCORED_TEAM]: parseScore(second, SECOND_SCORED_TEAM),
        };
        const key = idempotencyKey(call.req);
        return store.setScore(event, scores, key ?? randomUUID()).then((score) => ({
          status: 200,
          body: { ok: true, ...flattenScore(score) },
          counted: true,
          requestId: key,
        }));
      }
      case 'raffle': {
        expectParams(params, 0, 0, '/raffle');
        const query = parseRaffleQuery(call.query);
        if (query.after === undefined) {
          return { status: 200, body: this.#rafflePager.latest(query.limit) };
        }
        return this.#rafflePager.page(query).then((page) => ({ status: 200, body: page }));
      }
      case 'status': {
        expectParams(params, 0, 0, '/status');
        return { status: 200, body: this.status() };
      }
      default: {
        expectParams(params, 0, 0, '/healthz');
        if (this.#options.healthy?.() === false) throw new HttpError(503, 'cannot serve now');
        if (this.#raffleClosed) {
          throw new HttpError(503, 'the requests served here can no longer enter the raffle');
        }
        return { status: 200, body: { ok: true } };
      }
    }
  }

  /** What `/status` answers: the node, the role's fields and the load. */
  status(): Record<string, unknown> {
    return {
      node: this.#options.nodeId,
      ...this.#options.status?.(),
      raffleRequests: this.#options.raffle.requestCount,
      load: this.load,
    };
  }

  #authorize(req: IncomingMessage, pathToken: string | undefined): void {
    const header = req.headers.authorization;
    let bearer: string | undefined;
    if (header !== undefined) {
      const match = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
      if (match === null) throw unauthorized('Authorization must be "Bearer <token>"');
      bearer = match[1];
    }
    if (pathToken === undefined && bearer === undefined) {
      throw unauthorized('writes need a token, in the path or as Authorization: Bearer');
    }
    for (const given of [pathToken, bearer]) {
      if (given !== undefined && !this.#isToken(given)) {
        throw new HttpError(403, 'the token is not valid');
      }
    }
  }

  #isToken(given: string): boolean {
    const bytes = Buffer.from(given);
    return bytes.length === this.#token.length && timingSafeEqual(bytes, this.#token);
  }

  #record(client: string, requestId: string | undefined): void {
    this.#requests += 1;
    const now = this.#now();
    const seen = this.#lastSeen.get(client);
    if (seen === undefined || now - seen >= LAST_SEEN_RESOLUTION_MS) {
      if (this.#clients.size < MAX_TRACKED_CLIENTS) this.#clients.add(client);
      this.#lastSeen.delete(client);
      if (this.#lastSeen.size >= MAX_TRACKED_CLIENTS) this.#activeClients();
      if (this.#lastSeen.size < MAX_TRACKED_CLIENTS) this.#lastSeen.set(client, now);
    }
    const request = requestId === undefined ? { client } : { client, requestId };
    if (this.#raffleBatchMs <= 0) {
      this.#recordNow(request);
      return;
    }
    this.#unrecorded.push(request);
    if (this.#unrecorded.length === 1) {
      this.#flushTimer = setTimeout(this.#flushRecords, this.#raffleBatchMs);
    }
  }

  /**
   * Tells it the node is stopping (call it once the HTTP server is closed,
   * before the raffle's node stops): the requests answered so far are
   * recorded at once, and records the stopping raffle then refuses are
   * expected, so they are not reported as errors (any other failure still is).
   */
  stop(): void {
    this.#stopping = true;
    this.#flushRecords();
  }

  readonly #flushRecords = (): void => {
    clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    const batch = this.#unrecorded;
    this.#unrecorded = [];
    // Recorded in one tick, so the transport coalesces their messages into few writes.
    for (const request of batch) this.#recordNow(request);
  };

  #recordNow(request: RaffleRequest): void {
    this.#options.raffle.record(request).catch((err: unknown) => this.#raffleFailed(asError(err)));
  }

  /** Reports failed raffle records at most once a second: when one fails, the next thousands do too. */
  #raffleFailed(error: Error): void {
    const code = (error as { code?: unknown }).code;
    if (this.#stopping && (code === LIFECYCLE_ERROR || code === ABORTED_ERROR)) return;
    if (code === LIFECYCLE_ERROR) this.#raffleClosed = true;
    this.#raffleFailures += 1;
    const now = performance.now();
    if (now - this.#raffleFailureReportedAt < 1_000) return;
    const failures = this.#raffleFailures;
    this.#raffleFailures = 0;
    this.#raffleFailureReportedAt = now;
    this.#options.onError?.(
      Object.assign(
        new Error(`${failures} request(s) could not enter the raffle: ${error.message}`),
        { code },
      ),
    );
  }

  #fail(req: IncomingMessage, res: ServerResponse, err: unknown): number {
    // A client that went away is nobody's error, and there is no one to answer.
    if (clientGone(req, err)) return CLIENT_GONE_STATUS;
    const error = toHttpError(err);
    if (error.status === 500) this.#options.onError?.(asError(err));
    if (!res.headersSent) sendError(res, error);
    return error.status;
  }
}

/**
 * How many path segments of each route may be shown, its name included: a
 * write route's stop before its token, a read route's are all its own.
 */
const SHOWN_SEGMENTS: Readonly<Record<string, number>> = {
  getMedalTally: 2,
  getScore: 2,
  incrementMedalTally: 3,
  setScore: 4,
  raffle: 1,
  status: 1,
  healthz: 1,
};

/** Longest redacted path, in characters. */
const MAX_SHOWN_PATH = 200;

/**
 * A request target as it may be logged or echoed in an error: a route's
 * segments up to where a token could be (`/setScore/Stone%20Curling/3/2/…`),
 * an unknown route's first segment only, and no query, so that the token is
 * never written anywhere, wherever a client put it.
 */
export function redactPath(target: string): string {
  const query = target.indexOf('?');
  const path = query === -1 ? target : target.slice(0, query);
  const segments = path.split('/');
  const route = segments[1] ?? '';
  const shown = Object.hasOwn(SHOWN_SEGMENTS, route) ? SHOWN_SEGMENTS[route] : 1;
  const kept = segments
    .slice(0, shown + 1)
    .join('/')
    .slice(0, MAX_SHOWN_PATH);
  return kept + (kept.length < path.length ? '/…' : '') + (query === -1 ? '' : '?…');
}

/** Whether `answer` is still to come (a promise of any realm: tests run in their own). */
function isPromise(answer: Answer | Promise<Answer>): answer is Promise<Answer> {
  return typeof (answer as Partial<Promise<Answer>>).then === 'function';
}

/** A lab read's answer, counted into the raffle. */
function countedRead(body: unknown): Answer {
  return { status: 200, body, counted: true };
}

/** The client id of a connection whose requests name none: its peer's address and port. */
function addressId(socket: Socket): string {
  let id = addressIds.get(socket);
  if (id === undefined) {
    id = `${socket.remoteAddress}:${socket.remotePort}`;
    addressIds.set(socket, id);
  }
  return id;
}

function decodeSegment(segment: string): string {
  // Most segments are plain names: decoding them would only copy them.
  if (!segment.includes('%')) return segment;
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new HttpError(400, `malformed percent-encoding in the path`);
  }
}

function expectParams(params: string[], min: number, max: number, shape: string): string[] {
  if (params.length < min || params.length > max) {
    throw new HttpError(404, `no such route; expected ${shape}`);
  }
  return params;
}

function parseScore(text: string, team: string): number {
  const value = Number(text);
  if (!SCORE.test(text) || !Number.isSafeInteger(value)) {
    throw new HttpError(400, `the score of ${team} must be a non-negative integer`);
  }
  return value;
}

function idempotencyKey(req: IncomingMessage): string | undefined {
  const key = req.headers['idempotency-key'];
  if (key === undefined) return undefined;
  if (typeof key !== 'string' || key.length > MAX_HEADER_VALUE || !TOKEN_CHARS.test(key)) {
    throw new HttpError(
      400,
      `Idempotency-Key must be 1 to ${MAX_HEADER_VALUE} visible ASCII characters`,
    );
  }
  return key;
}

/** `{ event, scores: { Rome: 1 } }` as the lab answers it: `{ event, Rome: 1 }`. */
function flattenScore(score: EventScore): Record<string, unknown> {
  return { event: score.event, ...score.scores };
}

function unauthorized(message: string): HttpError {
  return new HttpError(401, message, { 'www-authenticate': 'Bearer' });
}

function toHttpError(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  const code = (err as { code?: unknown } | null)?.code;
  const status = typeof code === 'string' ? STATUS_OF_CODE[code] : undefined;
  if (status === undefined) return new HttpError(500, 'internal error');
  return new HttpError(status, status === 503 ? 'the store is unavailable' : asError(err).message);
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
