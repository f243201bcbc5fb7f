import type { DependencyContainer } from 'tsyringe';
import type { EventBus } from '../contracts/events';
import type { Clock, Random, ScopedScheduler } from '../contracts/time';
import { Tokens } from '../contracts/tokens';
import type { NodeId, Transport } from '../contracts/transport';

/** The parts of a node a clock sync component works with. */
export interface ClockSyncComponents {
  readonly nodeId: NodeId;
  /** Every member of the cluster; the group defaults to them. */
  readonly members: readonly NodeId[];
  readonly transport: Transport;
  /** The clock being corrected. */
  readonly clock: Clock;
  /** Timers, and the monotonic time that round trips are measured on. */
  readonly scheduler: ScopedScheduler;
  readonly random: Random;
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
