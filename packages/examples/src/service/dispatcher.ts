import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { HttpError, hasBody, readBody, sendError, sendJson } from './http-server';
import { REGISTRATION_SIGNATURE_HEADER } from './registration-auth';
import type { RegistrationVerifier } from './registration-auth';

/** A front-end as the dispatcher sees it. */
export interface FrontEndState {
  /** Its id. */
  readonly id: string;
  /** Its REST base URL, what clients are sent to: the one it last registered, else the configured one. */
  readonly url: string;
  /** Clients assigned to it and not released. */
  readonly load: number;
  /** Whether it is assigned clients: its registrations keep coming (or it is configured) and its health checks pass. */
  readonly alive: boolean;
  /** Clients assigned to it since the start, released or not. */
  readonly assigned: number;
  /** `registered` once a registration of it was accepted, `configured` while it is known from the static list only. */
  readonly source: 'configured' | 'registered';
  /** Requests it was serving at its last registration (0 when it never registered), for the operator. */
  readonly inFlight: number;
}

/** What a front-end's registration changed at the dispatcher. */
export type RegistrationChange =
  /** A front-end it did not know. */
  | 'added'
  /** A known front-end at a new URL (a new incarnation): it is served there at once. */
  | 'moved'
  /** A front-end whose registrations had stopped, back at the same URL. */
  | 'revived'
  /** A heartbeat of a front-end already served. */
  | 'refreshed'
  /** Stamped before the last one accepted from that id: ignored. */
  | 'outdated';

interface MutableFrontEnd {
  id: string;
  url: string;
  load: number;
  assigned: number;
  /** The last health check passed (or none has run on this URL yet). */
  healthy: boolean;
  /** Scheduler time after which it is down unless registered again; Infinity for a configured one. */
  expiresAt: number;
  /** Its lapse was reported by {@link LeastLoadedDispatcher.expire}. */
  lapseReported: boolean;
  source: 'configured' | 'registered';
  /** Timestamp of the last registration accepted, sender's clock. */
  registeredAt: number;
  inFlight: number;
}

/** Options of {@link LeastLoadedDispatcher}. */
export interface LeastLoadedDispatcherOptions {
  /** Monotonic time in ms, for registration expiry. Default: `performance.now`. */
  now?: () => number;
}

/**
 * The dispatcher's strategy: each new client goes to the live front-end with
 * the fewest clients currently assigned (ties to the one given fewest
 * clients so far, then by id), and a released client lowers its front-end's
 * load. The load a front-end reports in its registrations is shown in
 * {@link servers}, not used: it is a sample up to a heartbeat old, and a
 * stale sample would send every tie the same way.
 * Front-ends are known from a configured list, from their registrations, or
 * both; a registration wins over the list. A front-end is alive while its
 * registrations keep coming (a configured one that never registered needs
 * none) and its health checks pass. One marked down is skipped and its load
 * is forgotten (its clients have to ask again); back up, it is assigned again.
 */
export class LeastLoadedDispatcher {
  readonly #frontEnds: MutableFrontEnd[] = [];
  readonly #byUrl = new Map<string, MutableFrontEnd>();
  readonly #now: () => number;

  /** `frontEnds`: configured REST base URLs by id, each alive until its health checks fail. */
  constructor(
    frontEnds: Readonly<Record<string, string>> = {},
    options: LeastLoadedDispatcherOptions = {},
  ) {
    this.#now = options.now ?? (() => performance.now());
    for (const [id, url] of Object.entries(frontEnds)) {
      this.#add({
        id,
        url: trimSlash(url),
        load: 0,
        assigned: 0,
        healthy: true,
        expiresAt: Infinity,
        lapseReported: false,
        source: 'configured',
        registeredAt: Number.NEGATIVE_INFINITY,
        inFlight: 0,
      });
    }
  }

  /** Assigns a client to the least-loaded live front-end; undefined when none is alive. */
  assign(): FrontEndState | undefined {
    const now = this.#now();
    let best: MutableFrontEnd | undefined;
    for (const candidate of this.#frontEnds) {
      if (!isAlive(candidate, now)) continue;
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
    return this.#view(best, now);
  }

  /** A client left `url`; false when no front-end has that URL. */
  release(url: string): boolean {
    const frontEnd = this.#byUrl.get(trimSlash(url));
    if (frontEnd === undefined) return false;
    frontEnd.load = Math.max(0, frontEnd.load - 1);
    return true;
  }

  /**
   * Takes a front-end's (authenticated) registration: it is served at `url`
   * until `ttlMs` passes without another. A registration stamped before the
   * last one accepted from the same id is ignored while that one is fresh,
   * so a late heartbeat of a dead incarnation cannot send clients back to it.
   */
  register(
    registration: { id: string; url: string; timestamp: number; inFlight: number },
    ttlMs: number,
  ): RegistrationChange {
    const now = this.#now();
    const url = trimSlash(registration.url);
    let frontEnd = this.#frontEnds.find((candidate) => candidate.id === registration.id);
    let change: RegistrationChange;
    if (frontEnd === undefined) {
      frontEnd = {
        id: registration.id,
        url,
        load: 0,
        assigned: 0,
        healthy: true,
        expiresAt: 0,
        lapseReported: false,
        source: 'registered',
        registeredAt: Number.NEGATIVE_INFINITY,
        inFlight: 0,
      };
      this.#add(frontEnd);
      change = 'added';
    } else if (registration.timestamp < frontEnd.registeredAt && frontEnd.expiresAt > now) {
      return 'outdated';
    } else if (frontEnd.url !== url) {
      this.#byUrl.delete(frontEnd.url);
      this.#byUrl.set(url, frontEnd);
      frontEnd.url = url;
      // A new incarnation: the old one's clients are gone, and its health is its own.
      frontEnd.load = 0;
      frontEnd.healthy = true;
      change = 'moved';
    } else {
      change =
        frontEnd.expiresAt > now || frontEnd.source === 'configured' ? 'refreshed' : 'revived';
    }
    frontEnd.source = 'registered';
    frontEnd.registeredAt = registration.timestamp;
    frontEnd.expiresAt = now + ttlMs;
    frontEnd.lapseReported = false;
    frontEnd.inFlight = registration.inFlight;
    return change;
  }

  /** The front-ends whose registrations stopped since the last call, newly down. */
  expire(): FrontEndState[] {
    const now = this.#now();
    const lapsed: FrontEndState[] = [];
    for (const frontEnd of this.#frontEnds) {
      if (frontEnd.expiresAt > now || frontEnd.lapseReported) continue;
      frontEnd.lapseReported = true;
      frontEnd.load = 0;
      lapsed.push(this.#view(frontEnd, now));
    }
    return lapsed;
  }

  /** Its health check failed: stops assigning `url`; true if it was alive. */
  markDown(url: string): boolean {
    const frontEnd = this.#byUrl.get(trimSlash(url));
    if (frontEnd === undefined || !frontEnd.healthy) return false;
    frontEnd.healthy = false;
    frontEnd.load = 0;
    return isAlive({ ...frontEnd, healthy: true }, this.#now());
  }

  /** Its health check passed again: assigns `url` again; true if that makes it alive. */
  markUp(url: string): boolean {
    const frontEnd = this.#byUrl.get(trimSlash(url));
    if (frontEnd === undefined || frontEnd.healthy) return false;
    frontEnd.healthy = true;
    return isAlive(frontEnd, this.#now());
  }

  /** Every front-end, by id. */
  servers(): FrontEndState[] {
    const now = this.#now();
    return this.#frontEnds.map((frontEnd) => this.#view(frontEnd, now));
  }

  #add(frontEnd: MutableFrontEnd): void {
    this.#frontEnds.push(frontEnd);
    this.#frontEnds.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    this.#byUrl.set(frontEnd.url, frontEnd);
  }

  #view(frontEnd: MutableFrontEnd, now: number): FrontEndState {
    return {
      id: frontEnd.id,
      url: frontEnd.url,
      load: frontEnd.load,
      alive: isAlive(frontEnd, now),
      assigned: frontEnd.assigned,
      source: frontEnd.source,
      inFlight: frontEnd.inFlight,
    };
  }
}

function isAlive(frontEnd: MutableFrontEnd, now: number): boolean {
  return frontEnd.healthy && frontEnd.expiresAt > now;
}

const releaseSchema = z.object({ server: z.string().min(1).max(2_048) }).strict();

/** How the dispatcher takes front-ends' registrations. */
export interface DispatcherRegistrationOptions {
  /** Checks each registration's MAC, timestamp and nonce against the cluster secret. */
  verifier: RegistrationVerifier;
  /** How long a registration keeps its front-end served, in ms. Default 3,000 (three heartbeats). */
  ttlMs?: number;
  /** Wall-clock time in ms since the epoch, which registration timestamps are checked against. Default `Date.now`. */
  now?: () => number;
  /** Told of each registration accepted that changed something (not of plain heartbeats). */
  onRegistered?: (
    change: Exclude<RegistrationChange, 'refreshed' | 'outdated'>,
    server: FrontEndState,
  ) => void;
  /** Told of each registration refused. */
  onRefused?: (status: number, reason: string) => void;
}

/** Options of {@link DispatcherApi}. */
export interface DispatcherApiOptions {
  /** Told of each client assigned. */
  onAssigned?: (server: FrontEndState) => void;
  /** Takes registrations on `POST /register`; without it, every registration is refused (403). */
  registrations?: DispatcherRegistrationOptions;
}

/**
 * The dispatcher's REST API: `GET /getServer` → `{"server": url}` (503 when
 * no front-end is alive), `POST /releaseServer` with `{"server": url}`,
 * `POST /register` (a front-end's signed heartbeat, see
 * registration-auth.ts), `GET /servers` (each front-end, its load, alive or
 * not) and `GET /healthz`.
 */
export class DispatcherApi {
  readonly #dispatcher: LeastLoadedDispatcher;
  readonly #options: DispatcherApiOptions;

  constructor(dispatcher: LeastLoadedDispatcher, options: DispatcherApiOptions = {}) {
    this.#dispatcher = dispatcher;
    this.#options = options;
  }

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
        const server = this.#dispatcher.assign();
        if (server === undefined) throw new HttpError(503, 'no front-end is alive');
        this.#options.onAssigned?.(server);
        return { server: server.url };
      }
      case '/releaseServer': {
        allow('POST');
        const body = hasBody(req) ? await readBody(req, 4_096) : Buffer.alloc(0);
        const { server } = parseRelease(body);
        if (!this.#dispatcher.release(server)) throw new HttpError(404, 'no such server');
        return { ok: true, server: trimSlash(server) };
      }
      case '/register':
        allow('POST');
        return this.#register(req);
      case '/servers':
      case '/status':
        allow('GET');
        return { servers: this.#dispatcher.servers() };
      case '/healthz':
        allow('GET');
        return { ok: true };
      default:
        throw new HttpError(404, `no such route: ${path.slice(0, 100)}`);
    }
  }

  async #register(req: IncomingMessage): Promise<unknown> {
    const options = this.#options.registrations;
    const body = hasBody(req) ? await readBody(req, 4_096) : Buffer.alloc(0);
    if (options === undefined) {
      throw this.#refused(403, 'this dispatcher has no cluster secret and takes no registrations');
    }
    const header = req.headers[REGISTRATION_SIGNATURE_HEADER];
    const verdict = options.verifier.verify(
      body,
      typeof header === 'string' ? header : undefined,
      (options.now ?? Date.now)(),
    );
    if (!verdict.ok) throw this.#refused(verdict.status, verdict.reason);
    const { registration } = verdict;
    const change = this.#dispatcher.register(
      {
        id: registration.id,
        url: registration.url,
        timestamp: registration.timestamp,
        inFlight: registration.load.inFlight,
      },
      options.ttlMs ?? DEFAULT_REGISTRATION_TTL_MS,
    );
    if (change !== 'refreshed' && change !== 'outdated') {
      const server = this.#dispatcher.servers().find((s) => s.id === registration.id);
      if (server !== undefined) options.onRegistered?.(change, server);
    }
    return { ok: true, change };
  }

  #refused(status: number, reason: string): HttpError {
    this.#options.registrations?.onRefused?.(status, reason);
    return new HttpError(
      status,
      reason,
      status === 401 ? { 'www-authenticate': 'MEDALS-HMAC-SHA256' } : {},
    );
  }
}

/** Default of {@link DispatcherRegistrationOptions.ttlMs}. */
export const DEFAULT_REGISTRATION_TTL_MS = 3_000;

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
