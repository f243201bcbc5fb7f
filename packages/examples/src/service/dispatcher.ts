import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { HttpError, clientGone, hasBody, readBody, sendError, sendJson } from './http-server';
import { REGISTRATION_NODE_HEADER, REGISTRATION_SIGNATURE_HEADER } from './registration-auth';
import type { RegistrationVerifier } from './registration-auth';

/** A front-end as the dispatcher sees it. */
export interface FrontEndState {
  /** Its id. */
  readonly id: string;
  /** Its REST base URL, what clients are sent to: the one it last registered, else the configured one. */
  readonly url: string;
  /**
   * What it is balanced on: the clients it reported active at its last
   * registration, plus the clients assigned to it since and not released.
   * A front-end that never registered has only the latter.
   */
  readonly load: number;
  /** Whether it is assigned clients: its registrations keep coming (or it is configured) and its health checks pass. */
  readonly alive: boolean;
  /** Clients assigned to it since the start, released or not. */
  readonly assigned: number;
  /** `registered` once a registration of it was accepted, `configured` while it is known from the static list only. */
  readonly source: 'configured' | 'registered';
  /** Requests it was serving at its last registration (0 when it never registered), for the operator. */
  readonly inFlight: number;
  /** Clients it reported active at its last registration (0 when it never registered). */
  readonly clients: number;
  /** Tickets handed out for it that were neither released nor expired. */
  readonly tickets: number;
}

/** A client's assignment: the front-end, and the ticket that releases it. */
export interface Assignment extends FrontEndState {
  /** Hand it back to {@link LeastLoadedDispatcher.release}; it releases once. */
  readonly ticket: string;
}

/** What {@link LeastLoadedDispatcher.release} did with a ticket. */
export type ReleaseOutcome =
  /** Released: the ticket is spent. */
  | { readonly released: true; readonly id: string; readonly url: string }
  /** Refused, and nothing changed: `unknown` (never handed out, expired or already released) or `otherServer` (handed out for another URL than the one named). */
  | { readonly released: false; readonly reason: 'unknown' | 'otherServer' };

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
  /** Active clients it reported at its last registration. */
  reported: number;
  /** Tickets of the current {@link generation} neither released nor expired: clients assigned since its last report. */
  pending: number;
  /** Tickets of any generation neither released nor expired. */
  tickets: number;
  /**
   * Counts up whenever its load starts afresh (a registration, a lapse, a
   * failed health check): a ticket of an older generation no longer counts
   * in its load, since the report that followed it counts its client, if
   * that client ever came.
   */
  generation: number;
}

interface Ticket {
  frontEnd: MutableFrontEnd;
  /** The URL handed out with it. */
  url: string;
  generation: number;
  expiresAt: number;
}

/** Options of {@link LeastLoadedDispatcher}. */
export interface LeastLoadedDispatcherOptions {
  /** Monotonic time in ms, for registration and ticket expiry. Default: `performance.now`. */
  now?: () => number;
  /**
   * How long a ticket stays releasable, in ms; an expired one no longer
   * counts in its front-end's load (what matters for a front-end that never
   * registers, whose load nothing else refreshes). Default 3,600,000 (an hour).
   */
  ticketTtlMs?: number;
  /** Most tickets kept at once; past it the oldest is forgotten, as if expired. Default 100,000. */
  maxTickets?: number;
  /** The ticket of each assignment. Default: 16 random bytes in base64url. */
  newTicket?: () => string;
}

/**
 * The dispatcher's strategy: each new client goes to the live front-end with
 * the lowest load (ties to the one given fewest clients so far, then by id).
 * A front-end's load comes from its latest report, as the front-end itself
 * knows it: the clients active there at its last registration, plus the
 * clients assigned to it since, less those released since. So a client
 * that got a server and vanished counts only until the front-end's next
 * report, and no-one can skew the balance for longer than a heartbeat by
 * asking for servers; a front-end that never registers (a configured one)
 * counts the assignments not yet released nor expired.
 *
 * Each assignment carries a ticket, and only that ticket releases it, once.
 * Front-ends are known from a configured list, from their registrations, or
 * both; a registration wins over the list. A front-end is alive while its
 * registrations keep coming (a configured one that never registered needs
 * none) and its health checks pass. One marked down is skipped and its load
 * is forgotten (its clients have to ask again); back up, it is assigned again.
 */
export class LeastLoadedDispatcher {
  readonly #frontEnds: MutableFrontEnd[] = [];
  readonly #byUrl = new Map<string, MutableFrontEnd>();
  /** Ticket → what it releases, oldest first (every ticket lives as long, so the oldest expires first). */
  readonly #tickets = new Map<string, Ticket>();
  readonly #now: () => number;
  readonly #ticketTtlMs: number;
  readonly #maxTickets: number;
  readonly #newTicket: () => string;

  /** `frontEnds`: configured REST base URLs by id, each alive until its health checks fail. */
  constructor(
    frontEnds: Readonly<Record<string, string>> = {},
    options: LeastLoadedDispatcherOptions = {},
  ) {
    this.#now = options.now ?? (() => performance.now());
    this.#ticketTtlMs = options.ticketTtlMs ?? 3_600_000;
    this.#maxTickets = options.maxTickets ?? 100_000;
    this.#newTicket = options.newTicket ?? (() => randomBytes(16).toString('base64url'));
    for (const [id, url] of Object.entries(frontEnds)) {
      this.#add(newFrontEnd(id, trimSlash(url), 'configured'));
    }
  }

  /** Assigns a client to the live front-end of lowest load, with a ticket to release it; undefined when none is alive. */
  assign(): Assignment | undefined {
    const now = this.#now();
    let best: MutableFrontEnd | undefined;
    for (const candidate of this.#frontEnds) {
      if (!isAlive(candidate, now)) continue;
      if (
        best === undefined ||
        loadOf(candidate) < loadOf(best) ||
        (loadOf(candidate) === loadOf(best) && candidate.assigned < best.assigned)
      ) {
        best = candidate;
      }
    }
    if (best === undefined) return undefined;
    if (this.#tickets.size >= this.#maxTickets) {
      const [oldest] = this.#tickets.keys();
      this.#forget(oldest);
    }
    const ticket = this.#newTicket();
    this.#tickets.set(ticket, {
      frontEnd: best,
      url: best.url,
      generation: best.generation,
      expiresAt: now + this.#ticketTtlMs,
    });
    best.pending += 1;
    best.tickets += 1;
    best.assigned += 1;
    return { ...this.#view(best, now), ticket };
  }

  /**
   * A client let its front-end go: spends `ticket`, which lowers the load
   * if it was handed out since the front-end's last report. When `server`
   * is named it must be the URL the ticket was handed out with. An unknown,
   * expired or spent ticket, or another server, changes nothing.
   */
  release(ticket: string, server?: string): ReleaseOutcome {
    const held = this.#tickets.get(ticket);
    if (held === undefined || held.expiresAt <= this.#now()) {
      return { released: false, reason: 'unknown' };
    }
    if (server !== undefined && trimSlash(server) !== held.url) {
      return { released: false, reason: 'otherServer' };
    }
    this.#forget(ticket);
    return { released: true, id: held.frontEnd.id, url: held.url };
  }

  /**
   * Takes a front-end's (authenticated) registration: it is served at `url`
   * until `ttlMs` passes without another, and its load starts afresh from
   * the clients it reports active. A registration stamped before the last
   * one accepted from the same id is ignored while that one is fresh, so a
   * late heartbeat of a dead incarnation cannot send clients back to it.
   */
  register(
    registration: { id: string; url: string; timestamp: number; inFlight: number; clients: number },
    ttlMs: number,
  ): RegistrationChange {
    const now = this.#now();
    const url = trimSlash(registration.url);
    let frontEnd = this.#frontEnds.find((candidate) => candidate.id === registration.id);
    let change: RegistrationChange;
    if (frontEnd === undefined) {
      frontEnd = newFrontEnd(registration.id, url, 'registered');
      frontEnd.expiresAt = 0;
      this.#add(frontEnd);
      change = 'added';
    } else if (registration.timestamp < frontEnd.registeredAt && frontEnd.expiresAt > now) {
      return 'outdated';
    } else if (frontEnd.url !== url) {
      this.#byUrl.delete(frontEnd.url);
      this.#byUrl.set(url, frontEnd);
      frontEnd.url = url;
      // A new incarnation: its health is its own.
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
    startAfresh(frontEnd, registration.clients);
    return change;
  }

  /** Forgets expired tickets; returns the front-ends whose registrations stopped since the last call, newly down. */
  expire(): FrontEndState[] {
    const now = this.#now();
    for (const [ticket, held] of this.#tickets) {
      if (held.expiresAt > now) break;
      this.#forget(ticket);
    }
    const lapsed: FrontEndState[] = [];
    for (const frontEnd of this.#frontEnds) {
      if (frontEnd.expiresAt > now || frontEnd.lapseReported) continue;
      frontEnd.lapseReported = true;
      startAfresh(frontEnd, 0);
      lapsed.push(this.#view(frontEnd, now));
    }
    return lapsed;
  }

  /** Its health check failed: stops assigning `url`; true if it was alive. */
  markDown(url: string): boolean {
    const frontEnd = this.#byUrl.get(trimSlash(url));
    if (frontEnd === undefined || !frontEnd.healthy) return false;
    frontEnd.healthy = false;
    startAfresh(frontEnd, 0);
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

  #forget(ticket: string): void {
    const held = this.#tickets.get(ticket);
    if (held === undefined) return;
    this.#tickets.delete(ticket);
    const { frontEnd } = held;
    frontEnd.tickets -= 1;
    if (held.generation === frontEnd.generation) frontEnd.pending -= 1;
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
      load: loadOf(frontEnd),
      alive: isAlive(frontEnd, now),
      assigned: frontEnd.assigned,
      source: frontEnd.source,
      inFlight: frontEnd.inFlight,
      clients: frontEnd.reported,
      tickets: frontEnd.tickets,
    };
  }
}

function newFrontEnd(
  id: string,
  url: string,
  source: 'configured' | 'registered',
): MutableFrontEnd {
  return {
    id,
    url,
    assigned: 0,
    healthy: true,
    expiresAt: Infinity,
    lapseReported: false,
    source,
    registeredAt: Number.NEGATIVE_INFINITY,
    inFlight: 0,
    reported: 0,
    pending: 0,
    tickets: 0,
    generation: 0,
  };
}

/** Its load starts again from `reported`: the tickets handed out so far no longer count. */
function startAfresh(frontEnd: MutableFrontEnd, reported: number): void {
  frontEnd.generation += 1;
  frontEnd.pending = 0;
  frontEnd.reported = reported;
}

function loadOf(frontEnd: MutableFrontEnd): number {
  return frontEnd.reported + frontEnd.pending;
}

function isAlive(frontEnd: MutableFrontEnd, now: number): boolean {
  return frontEnd.healthy && frontEnd.expiresAt > now;
}

/** What `POST /releaseServer` takes: the ticket of `GET /getServer`, and the server it was handed out with if the client likes. */
const releaseSchema = z
  .object({
    ticket: z.string().min(1).max(128),
    server: z.string().min(1).max(2_048).optional(),
  })
  .strict();

/** How the dispatcher takes front-ends' registrations. */
export interface DispatcherRegistrationOptions {
  /** Checks each registration's MAC (under the key of the front-end it claims to be), timestamp and nonce. */
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
  /** Largest request body accepted (413 above, and the connection closed), in bytes. Default 4,096. */
  maxBodyBytes?: number;
}

/** Default of {@link DispatcherApiOptions.maxBodyBytes}. */
export const DEFAULT_DISPATCHER_MAX_BODY_BYTES = 4_096;

/**
 * The dispatcher's REST API: `GET /getServer` → `{"server": url, "ticket": t}`
 * (503 when no front-end is alive), `POST /releaseServer` with
 * `{"ticket": t}` (and, optionally, `"server": url`), `POST /register` (a
 * front-end's signed heartbeat, see registration-auth.ts), `GET /servers`
 * (each front-end, its load, alive or not) and `GET /healthz`. A release
 * without a ticket is 400, with an unknown, expired or spent one 404, with
 * one of another server 409; none changes anything.
 */
export class DispatcherApi {
  readonly #dispatcher: LeastLoadedDispatcher;
  readonly #options: DispatcherApiOptions;
  readonly #maxBodyBytes: number;

  constructor(dispatcher: LeastLoadedDispatcher, options: DispatcherApiOptions = {}) {
    this.#dispatcher = dispatcher;
    this.#options = options;
    this.#maxBodyBytes = options.maxBodyBytes ?? DEFAULT_DISPATCHER_MAX_BODY_BYTES;
  }

  /** The node:http request listener. */
  readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    this.#serve(req).then(
      (body) => sendJson(res, 200, body),
      (err: unknown) => {
        // A client that went away is nobody's error, and there is no one to answer.
        if (clientGone(req, err)) return;
        sendError(res, err instanceof HttpError ? err : new HttpError(500, 'internal error'));
      },
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
    // Read (bounded) whatever the route: a body is never left to drain at the client's pace.
    const body = hasBody(req) ? await readBody(req, this.#maxBodyBytes) : Buffer.alloc(0);
    switch (path) {
      case '/getServer': {
        allow('GET');
        const assignment = this.#dispatcher.assign();
        if (assignment === undefined) throw new HttpError(503, 'no front-end is alive');
        const { ticket, ...server } = assignment;
        this.#options.onAssigned?.(server);
        return { server: server.url, ticket };
      }
      case '/releaseServer': {
        allow('POST');
        const { ticket, server } = parseRelease(body);
        const outcome = this.#dispatcher.release(ticket, server);
        if (!outcome.released) {
          throw outcome.reason === 'unknown'
            ? new HttpError(
                404,
                'no such ticket: it was never handed out, has expired or was already released',
              )
            : new HttpError(409, 'the ticket was handed out for another server');
        }
        return { ok: true, server: outcome.url };
      }
      case '/register':
        allow('POST');
        return this.#register(req, body);
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

  #register(req: IncomingMessage, body: Buffer): unknown {
    const options = this.#options.registrations;
    if (options === undefined) {
      throw this.#refused(403, 'this dispatcher has no credentials and takes no registrations');
    }
    const verdict = options.verifier.verify(
      body,
      headerValue(req, REGISTRATION_SIGNATURE_HEADER),
      headerValue(req, REGISTRATION_NODE_HEADER),
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
        clients: registration.load.clients,
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

function headerValue(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return typeof value === 'string' ? value : undefined;
}

function parseRelease(body: Buffer): z.infer<typeof releaseSchema> {
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    throw new HttpError(400, 'the body must be JSON: {"ticket": …, "server": url}');
  }
  const parsed = releaseSchema.safeParse(json);
  if (!parsed.success) {
    throw new HttpError(
      400,
      'the body must be {"ticket": …} with the ticket of GET /getServer, and optionally "server": url',
    );
  }
  return parsed.data;
}

function trimSlash(url: string): string {
  return url.endsWith('/') ? url.slice(0, -1) : url;
}
