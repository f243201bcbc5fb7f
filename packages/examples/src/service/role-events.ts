/**
 * Events a role reports beside its node's bus events, by name, for the
 * CLI's log and the experiments ({@link RunningRole.onEvent}).
 */
export interface RoleEvents {
  /** A REST request was answered (only reported while someone listens). */
  'http:request': { node: string; method: string; path: string; status: number; client: string };
  /** The dispatcher assigned a client to `server`, whose load is now `load`. */
  'dispatcher:assigned': { node: string; server: string; load: number };
  /** The dispatcher stopped assigning `server`: its health check failed, or its registrations stopped. */
  'dispatcher:serverDown': { node: string; server: string; reason: string };
  /** A front-end the dispatcher had given up on answers again and is assigned again. */
  'dispatcher:serverUp': { node: string; server: string };
  /**
   * A front-end's registration changed what the dispatcher knows: a new
   * front-end, one at a new URL, or one whose registrations had stopped.
   */
  'dispatcher:registered': {
    node: string;
    id: string;
    server: string;
    change: 'added' | 'moved' | 'revived';
  };
  /** A registration was refused (no, a wrong, a stale or a replayed signature). */
  'dispatcher:registrationRefused': { node: string; status: number; reason: string };
  /** This front-end's registrations are taken by the dispatcher (again). */
  'frontend:registered': { node: string; dispatcher: string };
  /** This front-end's registrations stopped being taken: the dispatcher is unreachable or refuses them. */
  'frontend:unregistered': { node: string; dispatcher: string; reason: string };
}

/** A listener of every event a role reports. */
export type RoleEventListener = (event: string, data: unknown) => void;

/** What a listener of a role's events wants told. */
export interface RoleEventOptions {
  /**
   * Whether it wants the events reported once per request served
   * (`http:request`, `dispatcher:assigned`); without such a listener they
   * reach no one, and a REST server does not even make them. Default true.
   */
  perRequest?: boolean;
}

/** The role events reported once per request served. */
const PER_REQUEST_EVENTS: ReadonlySet<string> = new Set(['http:request', 'dispatcher:assigned']);

/** Fans a role's events out to its listeners. */
export class RoleEventHub {
  readonly #listeners = new Set<RoleEventListener>();
  /** The listeners that want the per-request events too. */
  readonly #perRequestListeners = new Set<RoleEventListener>();

  /** Whether anyone listens. */
  get listened(): boolean {
    return this.#listeners.size > 0;
  }

  /** Whether anyone wants the per-request events (so they cost nothing otherwise). */
  get requestsListened(): boolean {
    return this.#perRequestListeners.size > 0;
  }

  /** Adds a listener; returns a function that removes it. */
  on(listener: RoleEventListener, options: RoleEventOptions = {}): () => void {
    this.#listeners.add(listener);
    if (options.perRequest ?? true) this.#perRequestListeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
      this.#perRequestListeners.delete(listener);
    };
  }

  /** Tells every listener that wants `event`. */
  emit<K extends keyof RoleEvents>(event: K, data: RoleEvents[K]): void {
    const listeners = PER_REQUEST_EVENTS.has(event) ? this.#perRequestListeners : this.#listeners;
    // No copy per event (one per request served): a Set's iteration tolerates removals.
    for (const listener of listeners) listener(event, data);
  }
}
