import type { ReplicatedState } from '../contracts/ordered-multicast';

/**
 * The application states registered with a multicast for state transfer
 * (`OrderedMulticast.registerState`). A snapshot that arrives before its
 * state is registered (a restarted node's components start after the
 * multicast) waits here and is restored on registration.
 */
export class StateRegistry {
  readonly #states = new Map<string, ReplicatedState>();
  /** Snapshots received for names not registered yet, with the position they were taken at. */
  readonly #unclaimed = new Map<string, { snapshot: unknown; seq: number }>();
  readonly #owner: string;

  constructor(owner: string) {
    this.#owner = owner;
  }

  register(name: string, state: ReplicatedState): () => void {
    if (this.#states.has(name)) {
      throw new RangeError(`${this.#owner}: a state named ${name} is already registered`);
    }
    this.#states.set(name, state);
    const waiting = this.#unclaimed.get(name);
    if (waiting) {
      this.#unclaimed.delete(name);
      state.restore(waiting.snapshot, waiting.seq);
    }
    return () => {
      if (this.#states.get(name) === state) this.#states.delete(name);
    };
  }

  /** Every registered state's snapshot, by name. */
  snapshot(): Record<string, unknown> {
    const snapshots: Record<string, unknown> = {};
    for (const [name, state] of this.#states) snapshots[name] = state.snapshot();
    return snapshots;
  }

  /**
   * Restores each snapshot taken right after position `seq` into its state,
   * keeping those not registered yet for later. Returns the names restored
   * or kept.
   */
  restore(snapshots: Readonly<Record<string, unknown>>, seq: number): string[] {
    const names = Object.keys(snapshots).sort();
    for (const name of names) {
      const state = this.#states.get(name);
      if (state) state.restore(snapshots[name], seq);
      else this.#unclaimed.set(name, { snapshot: snapshots[name], seq });
    }
    return names;
  }
}
