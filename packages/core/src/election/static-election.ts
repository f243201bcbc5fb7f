import type { ActingChange, Election, Leadership, WhenLeaderOptions } from '../contracts/election';
import type { EventBus } from '../contracts/events';
import { reportError } from '../contracts/events';
import type { Startable } from '../contracts/lifecycle';
import type { Plugin } from '../contracts/plugin';
import { Tokens } from '../contracts/tokens';
import type { NodeId } from '../contracts/transport';

/**
 * A fixed leader in term 1, agreed without a message: for clusters that do
 * not need election (one time server, one sequencer), and for tests of
 * components that need a leader but not an election. It never fails over.
 * The leader acts from its start to its stop: with one fixed leader there is
 * no other to overlap with (a restarted leader's previous incarnation
 * stopped acting when it crashed).
 */
export class StaticElection implements Election, Startable {
  readonly term = 1;
  readonly #leadership: Leadership;
  readonly #listeners = new Set<(change: ActingChange) => void>();
  #acting = false;

  constructor(
    private readonly self: NodeId,
    readonly leader: NodeId,
    private readonly events: EventBus,
  ) {
    this.#leadership = { leader, term: this.term };
  }

  get isLeader(): boolean {
    return this.leader === this.self;
  }

  get acting(): boolean {
    return this.#acting;
  }

  start(): void {
    this.events.emit('elected', { node: this.self, leader: this.leader, term: this.term });
    if (this.isLeader) this.#set({ acting: true, term: this.term });
  }

  stop(): void {
    if (this.#acting) this.#set({ acting: false, term: this.term, reason: 'stopped' });
    this.#listeners.clear();
  }

  onActing(listener: (change: ActingChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  whenLeader(_options?: WhenLeaderOptions): Promise<Leadership> {
    return Promise.resolve(this.#leadership);
  }

  onElected(_listener: (leadership: Leadership) => void): () => void {
    // The leadership never changes, so there is nothing to tell later.
    return () => undefined;
  }

  elect(): void {
    // Nothing to elect: the leader is fixed.
  }

  #set(change: ActingChange): void {
    this.#acting = change.acting;
    if (change.acting) {
      this.events.emit('leadershipActing', { node: this.self, term: change.term });
    } else {
      this.events.emit('leadershipReleased', {
        node: this.self,
        term: change.term,
        reason: change.reason ?? 'stopped',
      });
    }
    for (const listener of [...this.#listeners]) {
      try {
        listener(change);
      } catch (err) {
        reportError(this.events, this.self, 'election', err);
      }
    }
  }
}

/**
 * A fixed leader as a plugin: registers {@link StaticElection} as the node's
 * `Tokens.Election`. Every node of the group must name the same leader.
 */
export function staticLeader(leader: NodeId): Plugin {
  return (ctx) =>
    ctx.component(
      Tokens.Election,
      {
        useFactory: (c) =>
          new StaticElection(c.resolve(Tokens.NodeId), leader, c.resolve(Tokens.Events)),
      },
      { name: 'election' },
    );
}
