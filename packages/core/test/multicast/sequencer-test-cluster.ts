import type {
  ActingChange,
  Election,
  Leadership,
  Membership,
  NodeId,
  Plugin,
  Startable,
} from '@medals/core';
import { Tokens } from '@medals/core';

/**
 * An election the test decides: `appoint(leader)` starts a new term led by
 * `leader` at every running node at once, as a perfect election would. It
 * lets sequencer tests change leaders at chosen moments, independent of
 * any election algorithm's timing.
 */
export class AppointedLeaders {
  #leadership: Leadership | undefined;
  readonly #nodes = new Set<AppointedElection>();
  readonly #startingBeliefs = new Map<NodeId, Leadership>();

  constructor(first?: NodeId) {
    if (first !== undefined) this.#leadership = { leader: first, term: 1 };
  }

  get current(): Leadership | undefined {
    return this.#leadership;
  }

  /** A new term led by `leader`; every running node learns it now. */
  appoint(leader: NodeId): Leadership {
    const leadership = { leader, term: (this.#leadership?.term ?? 0) + 1 };
    this.#leadership = leadership;
    for (const node of [...this.#nodes]) node.learn(leadership);
    return leadership;
  }

  /** `appoint` for some nodes only, as when the others have not heard yet. */
  appointAt(leader: NodeId, nodes: readonly NodeId[]): Leadership {
    const leadership = { leader, term: (this.#leadership?.term ?? 0) + 1 };
    this.#leadership = leadership;
    for (const node of [...this.#nodes]) if (nodes.includes(node.self)) node.learn(leadership);
    return leadership;
  }

  /**
   * The next incarnation of `node` to start believes `leadership` instead of
   * the current one, as a node that restarts on the stale side of a
   * partition would.
   */
  startsWith(node: NodeId, leadership: Leadership): void {
    this.#startingBeliefs.set(node, leadership);
  }

  /** What a starting node believes. @internal */
  belief(node: NodeId): Leadership | undefined {
    const stale = this.#startingBeliefs.get(node);
    this.#startingBeliefs.delete(node);
    return stale ?? this.#leadership;
  }

  /** Tells the nodes that have not heard of the current term yet. */
  catchUp(): void {
    if (this.#leadership) for (const node of [...this.#nodes]) node.learn(this.#leadership);
  }

  plugin(): Plugin {
    return (ctx) =>
      ctx.component(Tokens.Election, {
        useFactory: (c) => new AppointedElection(c.resolve(Tokens.NodeId), this),
      });
  }

  /** @internal */
  register(node: AppointedElection): void {
    this.#nodes.add(node);
  }

  /** @internal */
  unregister(node: AppointedElection): void {
    this.#nodes.delete(node);
  }
}

class AppointedElection implements Election, Startable {
  #leadership: Leadership | undefined;
  readonly #listeners = new Set<(leadership: Leadership) => void>();
  readonly #actingListeners = new Set<(change: ActingChange) => void>();

  constructor(
    readonly self: NodeId,
    private readonly leaders: AppointedLeaders,
  ) {}

  get leader(): NodeId | undefined {
    return this.#leadership?.leader;
  }

  get term(): number {
    return this.#leadership?.term ?? 0;
  }

  get isLeader(): boolean {
    return this.#leadership?.leader === this.self;
  }

  /** An appointed leader acts at once: the test is the oracle that keeps leaders apart. */
  get acting(): boolean {
    return this.isLeader;
  }

  start(): void {
    this.leaders.register(this);
    this.#leadership = this.leaders.belief(this.self);
  }

  stop(): void {
    this.leaders.unregister(this);
  }

  learn(leadership: Leadership): void {
    if (leadership.term <= this.term) return;
    const wasActing = this.acting;
    const previousTerm = this.term;
    this.#leadership = leadership;
    const changes: ActingChange[] = [];
    if (wasActing) changes.push({ acting: false, term: previousTerm, reason: 'term' });
    if (this.acting) changes.push({ acting: true, term: leadership.term });
    for (const change of changes)
      for (const listener of [...this.#actingListeners]) listener(change);
    for (const listener of [...this.#listeners]) listener(leadership);
  }

  onActing(listener: (change: ActingChange) => void): () => void {
    this.#actingListeners.add(listener);
    return () => this.#actingListeners.delete(listener);
  }

  whenLeader(): Promise<Leadership> {
    return this.#leadership ? Promise.resolve(this.#leadership) : new Promise(() => undefined);
  }

  onElected(listener: (leadership: Leadership) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  elect(): void {
    // The test appoints leaders.
  }
}

/**
 * A failure detector that is never wrong: a peer is up exactly when `isUp`
 * says so (the test passes the simulator's view). It keeps sequencer tests
 * about the sequencer, not about heartbeat timing.
 */
export function oracleMembership(isUp: (id: NodeId) => boolean): Plugin {
  return (ctx) =>
    ctx.component(Tokens.Membership, {
      useFactory: (c) => {
        const self = c.resolve(Tokens.NodeId);
        const members = [...c.resolve(Tokens.Members)].sort();
        const membership: Membership = {
          self,
          members,
          alive: () => members.filter((m) => m === self || isUp(m)),
          isAlive: (peer) => peer === self || isUp(peer),
          onChange: () => () => undefined,
        };
        return membership;
      },
    });
}
