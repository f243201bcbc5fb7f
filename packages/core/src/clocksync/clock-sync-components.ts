import type { DependencyContainer } from 'tsyringe';
import type { EventBus } from '../contracts/events';
import type { AdjustMode, Clock, Random, ScopedScheduler } from '../contracts/time';
import { Tokens } from '../contracts/tokens';
import type { NodeId, Transport } from '../contracts/transport';

/** The parts of a node a clock sync component works with. */
export interface ClockSyncComponents {
  /** This node. */
  readonly nodeId: NodeId;
  /** Every member of the cluster; the group defaults to them. */
  readonly members: readonly NodeId[];
  /** The node's transport. */
  readonly transport: Transport;
  /** The clock being corrected. */
  readonly clock: Clock;
  /** Timers, and the monotonic time that round trips are measured on. */
  readonly scheduler: ScopedScheduler;
  /** The node's seeded random source. */
  readonly random: Random;
  /** The node's event bus. */
  readonly events: EventBus;
}

/** Resolves {@link ClockSyncComponents} from a node's container. */
export function clockSyncComponents(container: DependencyContainer): ClockSyncComponents {
  return {
    nodeId: container.resolve(Tokens.NodeId),
    members: container.resolve(Tokens.Members),
    transport: container.resolve(Tokens.Transport),
    clock: container.resolve(Tokens.Clock),
    scheduler: container.resolve(Tokens.Scheduler),
    random: container.resolve(Tokens.Random),
    events: container.resolve(Tokens.Events),
  };
}

/** The group of a clock sync component: `group` or every member, sorted, which must include the node itself. */
export function clockSyncGroup(
  component: string,
  self: NodeId,
  members: readonly NodeId[],
  group: readonly NodeId[] | undefined,
): readonly NodeId[] {
  const ids = [...new Set(group ?? members)].sort();
  if (!ids.includes(self)) throw new RangeError(`${component}: the group must include ${self}`);
  return ids;
}

/** How a clock sync component applies a correction to its clock. */
export interface CorrectionMode {
  readonly mode: AdjustMode;
  /** Largest slew rate, for `'slew'`; the clock's default when undefined. */
  readonly maxSlewPpm: number | undefined;
}

/**
 * Applies a correction of `deltaMs` to the node's clock and tells the node's
 * bus with a `clockAdjusted` event naming the time server and the round.
 */
export function applyCorrection(
  c: ClockSyncComponents,
  how: CorrectionMode,
  deltaMs: number,
  server: NodeId,
  round: number,
): void {
  c.clock.adjust(deltaMs, {
    mode: how.mode,
    ...(how.maxSlewPpm !== undefined ? { maxSlewPpm: how.maxSlewPpm } : {}),
  });
  c.events.emit('clockAdjusted', { node: c.nodeId, deltaMs, mode: how.mode, server, round });
}
