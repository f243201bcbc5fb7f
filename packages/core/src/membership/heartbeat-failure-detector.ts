import { z } from 'zod';
import type { EventBus } from '../contracts/events';
import { reportError } from '../contracts/events';
import type { Startable } from '../contracts/lifecycle';
import type { Membership, MembershipChange, PeerStatus } from '../contracts/membership';
import type { ScopedScheduler, Timer } from '../contracts/time';
import { Tokens } from '../contracts/tokens';
import type { MessageContext, NodeId, Transport } from '../contracts/transport';
import { InvalidMessageError } from '../contracts/errors';
import type { Plugin } from '../contracts/plugin';

/** Options of {@link heartbeat}. */
export interface HeartbeatOptions {
  /** How often this node tells every other member it is alive, in ms. Default 50. */
  intervalMs?: number;
  /**
   * How long a member may stay silent before it is suspected, in ms. Default
   * 150 (three heartbeats, so one or two lost heartbeats do not raise a false
   * suspicion).
   */
  timeoutMs?: number;
  /** The members to watch, this node included. Default: every member of the cluster. */
  members?: readonly NodeId[];
}

/** Message type of a heartbeat. */
export const HEARTBEAT = 'fd.heartbeat';

const heartbeatSchema = z.object({
  seq: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
});

interface PeerState {
  status: PeerStatus;
  /** Whether a heartbeat of the peer arrived since this node started. */
  heard: boolean;
  lastHeard: number;
  /** Pending check at `lastHeard + timeoutMs` (re-armed lazily, not on every heartbeat). */
  deadline: Timer | undefined;
}

/**
 * A heartbeat failure detector: every member sends a heartbeat to every other
 * member each `intervalMs`, and a member not heard from for `timeoutMs` is
 * suspected until its next heartbeat. Election, clock sync and multicast read
 * its {@link Membership} view. Like every timeout-based detector it can be
 * wrong about a slow or partitioned peer; the algorithms built on it must
 * stay safe when it is.
 */
export class HeartbeatFailureDetector implements Membership, Startable {
  readonly self: NodeId;
  readonly members: readonly NodeId[];
  readonly #intervalMs: number;
  readonly #timeoutMs: number;
  readonly #peers = new Map<NodeId, PeerState>();
  readonly #listeners = new Set<(change: MembershipChange) => void>();
  #seq = 0;
  #ticker: Timer | undefined;

  constructor(
    self: NodeId,
    clusterMembers: readonly NodeId[],
    private readonly transport: Transport,
    private readonly scheduler: ScopedScheduler,
    private readonly events: EventBus,
    options: HeartbeatOptions = {},
  ) {
    this.self = self;
    this.#intervalMs = positive(options.intervalMs ?? 50, 'intervalMs');
    this.#timeoutMs = positive(options.timeoutMs ?? 150, 'timeoutMs');
    this.members = [...new Set(options.members ?? clusterMembers)].sort();
    if (!this.members.includes(self)) {
      // Members heartbeat only to members, so an outsider would suspect everyone.
      throw new RangeError(
        `heartbeat: node ${self} is not in its own group ${this.members.join(',')}`,
      );
    }
  }

  start(): void {
    const now = this.scheduler.now();
    for (const peer of this.members) {
      if (peer === this.self) continue;
      // A peer gets a full timeout from our start before it can be suspected.
      const state: PeerState = {
        status: 'alive',
        heard: false,
        lastHeard: now,
        deadline: undefined,
      };
      this.#peers.set(peer, state);
      this.#arm(peer, state);
    }
    this.transport.handle(
      HEARTBEAT,
      (_: z.infer<typeof heartbeatSchema>, ctx) => this.#onHeartbeat(ctx),
      {
        validate: (payload) => heartbeatSchema.parse(payload),
      },
    );
    this.#beat();
    this.#ticker = this.scheduler.setInterval(() => this.#beat(), this.#intervalMs);
  }

  stop(): void {
    this.#ticker?.cancel();
    this.#ticker = undefined;
    for (const state of this.#peers.values()) state.deadline?.cancel();
    this.transport.unhandle(HEARTBEAT);
  }

  alive(): NodeId[] {
    return this.members.filter((m) => this.isAlive(m));
  }

  isAlive(peer: NodeId): boolean {
    if (peer === this.self) return true;
    return this.#peers.get(peer)?.status === 'alive';
  }

  onChange(listener: (change: MembershipChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #beat(): void {
    const payload = { seq: ++this.#seq };
    for (const peer of this.#peers.keys()) {
      try {
        this.transport.send(peer, HEARTBEAT, payload);
      } catch (err) {
        this.#report(err);
      }
    }
  }

  #onHeartbeat(ctx: MessageContext): void {
    const state = this.#peers.get(ctx.from);
    if (state === undefined) {
      this.#report(new InvalidMessageError(`heartbeat from ${ctx.from}, who is not a member`));
      return;
    }
    state.lastHeard = this.scheduler.now();
    const firstHeard = !state.heard;
    state.heard = true;
    if (state.status === 'suspected') {
      state.status = 'alive';
      this.#arm(ctx.from, state);
      this.#changed(ctx.from, 'alive', firstHeard);
    }
  }

  #arm(peer: NodeId, state: PeerState): void {
    state.deadline?.cancel();
    const delay = state.lastHeard + this.#timeoutMs - this.scheduler.now();
    state.deadline = this.scheduler.setTimeout(() => this.#check(peer, state), Math.max(0, delay));
  }

  #check(peer: NodeId, state: PeerState): void {
    state.deadline = undefined;
    if (state.status !== 'alive') return;
    const remaining = state.lastHeard + this.#timeoutMs - this.scheduler.now();
    // A sub-microsecond remainder is float rounding of the timer's own due time, not silence left to wait.
    if (remaining < 1e-3) {
      state.status = 'suspected';
      this.#changed(peer, 'suspected', !state.heard);
    } else {
      this.#arm(peer, state);
    }
  }

  /**
   * Tells the bus and every subscriber, once the peer's state is final. Each
   * runs on its own: one that throws is reported and does not keep the
   * others from hearing of the change, nor unwind this detector's timer.
   * `unheard` is whether no heartbeat of the peer had arrived before this
   * change: a suspicion of a peer never heard from, or the first hearing.
   */
  #changed(peer: NodeId, status: PeerStatus, unheard: boolean): void {
    try {
      if (status === 'alive') {
        this.events.emit('peerRecovered', { node: this.self, peer, firstHeard: unheard });
      } else {
        this.events.emit('peerSuspected', { node: this.self, peer, neverHeard: unheard });
      }
    } catch (err) {
      this.#report(err);
    }
    for (const listener of [...this.#listeners]) {
      try {
        listener({ peer, status });
      } catch (err) {
        this.#report(err);
      }
    }
  }

  #report(err: unknown): void {
    reportError(this.events, this.self, 'failure-detector', err);
  }
}

function positive(value: number, name: string): number {
  if (!Number.isFinite(value) || value <= 0) {
    throw new RangeError(`heartbeat: ${name} must be a positive number of ms, got ${value}`);
  }
  return value;
}

/**
 * The heartbeat failure detector as a plugin: registers
 * {@link HeartbeatFailureDetector} as the node's `Tokens.Membership`.
 *
 * @example
 * ```ts
 * createCluster({ nodes: 5, transport, plugins: [heartbeat({ intervalMs: 50, timeoutMs: 150 }), bully()] });
 * ```
 */
export function heartbeat(options: HeartbeatOptions = {}): Plugin {
  return (ctx) =>
    ctx.component(
      Tokens.Membership,
      {
        useFactory: (c) =>
          new HeartbeatFailureDetector(
            c.resolve(Tokens.NodeId),
            c.resolve(Tokens.Members),
            c.resolve(Tokens.Transport),
            c.resolve(Tokens.Scheduler),
            c.resolve(Tokens.Events),
            options,
          ),
      },
      { name: 'failure-detector' },
    );
}
