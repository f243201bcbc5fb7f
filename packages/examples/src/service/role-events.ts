/**
 * Events a role reports beside its node's bus events, by name, for the
 * CLI's log and the experiments ({@link RunningRole.onEvent}).
 */
export interface RoleEvents {
  /** A REST request was answered (only reported while someone listens). */
  'http:request': { node: string; method: string; path: string; status: number; client: string };
  /** The dispatcher assigned a client to `server`, whose load is now `load`. */
  'dispatcher:assigned': { node: string; server: string; load: number };
  /** The dispatcher stopped assigning `server`: its health check failed. */
  'dispatcher:serverDown': { node: string; server: string; reason: string };
  /** A front-end the dispatcher had given up on answers again and is assigned again. */
  'dispatcher:serverUp': { node: string; server: string };
}

/** A listener of every event a role reports. */
export type RoleEventListener = (event: string, data: unknown) => void;

/** Fans a role's events out to its listeners. */
export class RoleEventHub {
  readonly #listeners = new Set<RoleEventListener>();

  /** Whether anyone listens (so per-request events cost nothing otherwise). */
  get listened(): boolean {
    return this.#listeners.size > 0;
  }

  /** Adds a listener; returns a function that removes it. */
  on(listener: RoleEventListener): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /** Tells every listener. */
  emit<K extends keyof RoleEvents>(event: K, data: RoleEvents[K]): void {
    // No copy per event (one per request served): a Set's iteration tolerates removals.
    for (const listener of this.#listeners) listener(event, data);
  }
}
