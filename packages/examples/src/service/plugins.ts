import type { NodeId, Plugin } from '@medals/core';
import {
  berkeley,
  bully,
  cristian,
  everyNthRaffle,
  heartbeat,
  lamportMulticast,
  ring,
  sequencerMulticast,
} from '@medals/core';
import type { ServiceOptions } from './service-options';
import { raffleRetention } from './service-options';

/** Default of {@link ServiceOptions.failureTimeoutMs}. */
export const DEFAULT_FAILURE_TIMEOUT_MS = 1_000;

/** Who is who among the nodes that exchange messages: the db and the front-ends. */
export interface ServiceTopology {
  /** This node. */
  readonly self: NodeId;
  /** The db node. */
  readonly db: NodeId;
  /** The db and every front-end, this node included, sorted. */
  readonly members: readonly NodeId[];
}

/** The front-ends: the multicast group, whose requests feed the raffle. */
export function frontEndGroup(topology: ServiceTopology): NodeId[] {
  return topology.members.filter((member) => member !== topology.db);
}

/**
 * The algorithm plugins of a `db` or `frontend` node, chosen by `options`.
 * This is the one place where the service picks its failure detector,
 * election, clock sync, multicast and raffle, so switching an algorithm is
 * a change here only. The db and the front-ends elect the leader, which
 * runs clock sync for all of them; the front-ends alone form the multicast
 * group (the db runs the sequencer as a non-member, since it may lead, and
 * holds the order as a replica, so a majority survives a front-end's crash).
 */
export function servicePlugins(
  role: 'db' | 'frontend',
  topology: ServiceTopology,
  options: ServiceOptions,
): Plugin[] {
  const timeoutMs = options.failureTimeoutMs ?? DEFAULT_FAILURE_TIMEOUT_MS;
  const plugins: Plugin[] = [
    heartbeat({ intervalMs: timeoutMs / 5, timeoutMs }),
    // The leader's lease covers the detector's timeout: it must know the real one. A node
    // that comes back follows the leader in place rather than take over: a new leader
    // waits out its lease guard before it acts, so every take-over pauses the order.
    options.election === 'ring'
      ? ring({ failureTimeoutMs: timeoutMs })
      : bully({ failureTimeoutMs: timeoutMs, preemptive: false }),
  ];
  const interval =
    options.clockSyncIntervalMs === undefined ? {} : { intervalMs: options.clockSyncIntervalMs };
  if (options.clockSync === 'berkeley') plugins.push(berkeley(interval));
  if (options.clockSync === 'cristian') plugins.push(cristian(interval));
  const group = frontEndGroup(topology);
  // The db holds the order too, so two front-ends go on while one of them is away.
  if (options.multicast === 'sequencer')
    plugins.push(sequencerMulticast({ group, replicas: topology.members }));
  if (role === 'frontend') {
    // A merge waits past the detector's timeout, so a member is not given up while only slow.
    if (options.multicast === 'lamport')
      plugins.push(lamportMulticast({ group, mergeAfterMs: 2 * timeoutMs }));
    plugins.push(
      everyNthRaffle({
        every: options.raffleEvery,
        ...raffleRetention(options),
      }),
    );
  }
  return plugins;
}
