import type { InjectionToken } from 'tsyringe';
import type { ClockSync } from './clock-sync';
import type { Codec } from './codec';
import type { Election } from './election';
import type { EventBus } from './events';
import type { Membership } from './membership';
import type { OrderedMulticast } from './ordered-multicast';
import type { Raffle } from './raffle';
import type { TallyStore } from './tally-store';
import type { Clock, Random, ScopedScheduler } from './time';
import type { NodeId, Transport } from './transport';

/** A DI token that carries the type it resolves to. */
export type Token<T> = InjectionToken<T> & symbol;

function token<T>(name: string): Token<T> {
  // Symbol.for, so two copies of @medals/core in one process still agree on tokens.
  return Symbol.for(`@medals/core/${name}`) as Token<T>;
}

/**
 * The DI tokens of everything a node's container provides. Plugins resolve
 * their collaborators through these (with `@inject(Tokens.Transport)`) and
 * register their own implementation under theirs.
 */
export const Tokens = {
  /** This node's id. */
  NodeId: token<NodeId>('NodeId'),
  /**
   * Which start of this node this is: 1 the first time, then one more at
   * each restart with the same id (the simulator and `medals cluster`'s
   * supervisor count them). A node that restarts lost its memory; knowing
   * so, a protocol refuses to let it vouch for what its earlier self held.
   */
  Incarnation: token<number>('Incarnation'),
  /** Every member of the cluster, this node included, sorted. */
  Members: token<readonly NodeId[]>('Members'),
  /** The node's transport. */
  Transport: token<Transport>('Transport'),
  /** The codec used on the wire. */
  Codec: token<Codec>('Codec'),
  /** The node's physical clock (what clock sync corrects). */
  Clock: token<Clock>('Clock'),
  /** The node's scheduler; its timers are cancelled when the node stops. */
  Scheduler: token<ScopedScheduler>('Scheduler'),
  /** The node's seeded random source. */
  Random: token<Random>('Random'),
  /** The node's event bus. */
  Events: token<EventBus>('Events'),
  /** Aborted when the node stops; for long-running async work. */
  StopSignal: token<AbortSignal>('StopSignal'),
  /** The tally store of a `db` node. */
  TallyStore: token<TallyStore>('TallyStore'),
  /** The failure detector's view of which members are up. */
  Membership: token<Membership>('Membership'),
  /** Leader election. */
  Election: token<Election>('Election'),
  /** Physical clock synchronisation. */
  ClockSync: token<ClockSync>('ClockSync'),
  /** Totally ordered multicast. */
  OrderedMulticast: token<OrderedMulticast>('OrderedMulticast'),
  /** The raffle on the global order of requests. */
  Raffle: token<Raffle>('Raffle'),
} as const;
