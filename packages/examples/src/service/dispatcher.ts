import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Scheduler, Timer } from '@medals/core';
import { RealScheduler } from '@medals/core';
import { z } from 'zod';
import { HttpError, hasBody, readBody, sendError, sendJson } from './http-server';

/** A front-end as the dispatcher sees it. */
export interface FrontEndState {
  /** Its id. */
  readonly id: string;
  /** Its REST base URL, what clients are sent to. */
  readonly url: string;
  /** Clients assigned to it and not released. */
  readonly load: number;
  /** Whether its last health checks passed. */
  readonly alive: boolean;
  /** Clients assigned to it since the start, released or not. */
  readonly assigned: number;
}

interface MutableFrontEnd {
  id: string;
  url: string;
  load: number;
  alive: boolean;
  assigned: number;
}

/**
 * The dispatcher's strategy: each new client goes to the live front-end with
 * the fewest clients currently assigned (ties to the one given fewest
 * clients so far, then by id), and a released client lowers its
 * front-end's load. A front-end marked down is skipped and its load is
 * forgotten (its clients have to ask again); marked up, it is assigned again.
 */
export class LeastLoadedDispatcher {
  readonly #frontEnds: MutableFrontEnd[];
  readonly #byUrl = new Map<string, MutableFrontEnd>();

  /** `frontEnds`: REST base URL by id. Every front-end starts alive. */
  constructor(frontEnds: Readonly<Record<string, string>>) {
    this.#frontEnds = Object.entries(frontEnds)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([id, url]) => ({ id, url: trimSlash(url), load: 0, alive: true, assigned: 0 }));
    if (this.#frontEnds.length === 0) throw new RangeError('a dispatcher needs front-ends');
    for (const frontEnd of this.#frontEnds) this.#byUrl.set(frontEnd.url, frontEnd);
  }

  /** Assigns a client to the least-loaded live front-end; undefined when none is alive. */
  assign(): FrontEndState | undefined {
    let best: MutableFrontEnd | undefined;
    for (const candidate of this.#frontEnds) {
      if (!candidate.alive) continue;
      if (
        best === undefined ||
        candidate.load < best.load ||
        (candidate.load === best.load && candidate.assigned < best.assigned)
      ) {
        best = candidate;
      }
    }
    if (best === undefined) return undefined;
    best.load += 1;
    best.assigned += 1;
    return { ...best };
  }

  /** A client left `url`; false when no front-end has that URL. */
  release(url: string): boolean {
    const frontEnd = this.#byUrl.get(trimSlash(url));
    if (frontEnd === undefined) return false;
    frontEnd.load = Math.max(0, frontEnd.load - 1);
    return true;
  }

  /** Stops assigning `url`; true if it was alive. */
  markDown(url: string): boolean {
    const frontEnd = this.#byUrl.get(trimSlash(url));
    if (frontEnd === undefined || !frontEnd.alive) return false;
    frontEnd.alive = false;
    frontEnd.load = 0;
    return true;
  }

  /** Assigns `url` again; true if it was down. */
  markUp(url: string): boolean {
    const frontEnd = this.#byUrl.get(trimSlash(url));
    if (frontEnd === undefined || frontEnd.alive) return false;
    frontEnd.alive = true;
    return true;
  }

  /** Every front-end, by id. */
  servers(): FrontEndState[] {
    return this.#frontEnds.map((frontEnd) => ({ ...frontEnd }));
  }
}

/** Options of {@link HealthChecker}. */
export interface HealthCheckerOptions {
  /** Time between checks of each front-end, in ms. Default 250. */
  intervalMs?: number;
  /** How long one check may take, in ms. Default 500. */
  timeoutMs?: number;
  /** Failed checks in a row after which a front-end is marked down. Default 2. */
  failuresBeforeDown?: number;
  /** Timers. Default: a `RealScheduler`. */
  scheduler?: Scheduler;
  /** Told when a front-end goes down (with why) or comes back. */
  onChange?: (url: string, alive: boolean, reason: string) => void;
}

/**
 * Polls each front-end's `/healthz` on an interval and marks it down after
 * `failuresBeforeDown` failures in a row, up again after one success.
 */
export class HealthChecker {
  readonly #dispatcher: LeastLoadedDispatcher;
  readonly #intervalMs: number;
  readonly #timeoutMs: number;
  readonly #failuresBeforeDown: number;
  readonly #scheduler: Scheduler;
  readonly #onChange: HealthCheckerOptions['onChange'];
  readonly #failures = new Map<string, number>();
  readonly #stopped = new AbortController();
  #timer: Timer | undefined;
  #checking = false;

  constructor(dispatcher: LeastLoadedDispatcher, options: HealthCheckerOptions = {}) {
    this.#dispatcher = dispatcher;
    this.#intervalMs = options.intervalMs ?? 250;
    this.#timeoutMs = options.timeoutMs ?? 500;
    this.#failuresBeforeDown = options.failuresBeforeDown ?? 2;
    this.#scheduler = options.scheduler ?? new RealScheduler();
    this.#onChange = options.onChange;
  }

  /** Starts checking every `intervalMs`. */
  start(): void {
    this.#timer = this.#scheduler.setInterval(() => void this.checkAll(), this.#intervalMs);
  }

  /** Stops checking and abandons the checks in flight. */
  stop(): void {
    this.#timer?.cancel();
    this.#stopped.abort();
  }

  /** Checks every front-end once (skipped while the previous round still runs). */
  async checkAll(): Promise<void> {
    if (this.#checking) return;
    this.#checking = true;
    try {
      await Promise.all(this.#dispatcher.servers().map((server) => this.#check(server.url)));
    } finally {
      this.#checking = false;
    }
  }

  async #check(url: string): Promise<void> {
    let failure: string | undefined;
    try {
      const res = await fetch(`${url}/healthz`, {
        signal: AbortSignal.any([this.#stopped.signal, AbortSignal.timeout(this.#timeoutMs)]),
      });
      await res.arrayBuffer();
      if (!res.ok) failure = `healthz answered ${res.status}`;
    } catch (err) {
      failure = (err as Error).message;
    }
    if (this.#stopped.signal.aborted) return;
    if (failure === undefined) {
      this.#failures.set(url, 0);
      if (this.#dispatcher.markUp(url)) this.#onChange?.(url, true, 'healthz answered');
      return;
    }
    const failures = (this.#failures.get(url) ?? 0) + 1;
    this.#failures.set(url, failures);
    if (failures >= this.#failuresBeforeDown && this.#dispatcher.markDown(url)) {
      this.#onChange?.(url, false, failure);
    }
  }
}

const releaseSchema = z.object({ server: z.string().min(1).max(2_048) }).strict();

/**
 * The dispatcher's REST API: `GET /getServer` → `{"server": url}` (503 when
 * no front-end is alive), `POST /releaseServer` with `{"server": url}`,
 * `GET /servers` (each front-end, its load, alive or not) and `GET /healthz`.
 */
export class DispatcherApi {
  constructor(
    private readonly dispatcher: LeastLoadedDispatcher,
    private readonly onAssigned?: (server: FrontEndState) => void,
  ) {}

  /** The node:http request listener. */
  readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    this.#serve(req).then(
      (body) => sendJson(res, 200, body),
      (err: unknown) =>
        sendError(res, err instanceof HttpError ? err : new HttpError(500, 'internal error')),
    );
  };

  async #serve(req: IncomingMessage): Promise<unknown> {
    const target = req.url ?? '/';
    if (target.length > 2_048) throw new HttpError(414, 'request target too long');
    const path = target.split('?', 1)[0];
    const method = req.method ?? 'GET';
    const allow = (allowed: string): void => {
      if (method !== allowed) {
        throw new HttpError(405, `${method} is not allowed on ${path}`, { allow: allowed });
      }
    };
    switch (path) {
      case '/getServer': {
        allow('GET');
        const server = this.dispatcher.assign();
        if (server === undefined) throw new HttpError(503, 'no front-end is alive');
        this.onAssigned?.(server);
        return { server: server.url };
      }
      case '/releaseServer': {
        allow('POST');
        const body = hasBody(req) ? await readBody(req, 4_096) : Buffer.alloc(0);
        const { server } = parseRelease(body);
        if (!this.dispatcher.release(server)) throw new HttpError(404, 'no such server');
        return { ok: true, server: trimSlash(server) };
      }
      case '/servers':
      case '/status':
        allow('GET');
        return { servers: this.dispatcher.servers() };
      case '/healthz':
        allow('GET');
        return { ok: true };
      default:
        throw new HttpError(404, `no such route: ${path.slice(0, 100)}`);
    }
  }
}

function parseRelease(body: Buffer): z.infer<typeof releaseSchema> {
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    throw new HttpError(400, 'the body must be JSON: {"server": url}');
  }
  const parsed = releaseSchema.safeParse(json);
  if (!parsed.success) throw new HttpError(400, 'the body must be {"server": url}');
  return parsed.data;
}

function trimSlash(url: string): string {
  return url.endsWith('/') ? url.slice(0, -1) : url;
}
