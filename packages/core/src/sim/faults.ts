import type { Random } from '../contracts/time';
import type { NodeId } from '../contracts/transport';
import type { LinkConditions } from '../transport/link-conditions';

/** One scheduled fault of a simulation; `at` is virtual ms from the start. */
export type Fault =
  | {
      /** When, in virtual ms from the start. */
      at: number;
      /** The node stops at once: its timers and state are gone, messages to it are lost. */
      type: 'crash';
      /** The node to crash. */
      node: NodeId;
    }
  | {
      /** When, in virtual ms from the start. */
      at: number;
      /** The crashed node starts again as a new incarnation, with the same id. */
      type: 'restart';
      /** The node to restart. */
      node: NodeId;
    }
  | {
      /** When, in virtual ms from the start. */
      at: number;
      /** The network splits: messages flow only within each group. */
      type: 'partition';
      /** The groups of nodes that can still talk to each other. */
      groups: NodeId[][];
    }
  | {
      /** When, in virtual ms from the start. */
      at: number;
      /** Every partition ends. */
      type: 'heal';
    }
  | {
      /** When, in virtual ms from the start. */
      at: number;
      /** The conditions of every link change. */
      type: 'conditions';
      /** The new conditions. */
      conditions: LinkConditions;
    };

/** Options of {@link randomFaults}. */
export interface RandomFaultsOptions {
  /** The nodes that may be crashed or split. */
  nodes: readonly NodeId[];
  /** Faults happen in [0, untilMs); everything is healed and restarted at `untilMs`. */
  untilMs: number;
  /** How many crash-and-restart episodes. Default 1. */
  crashes?: number;
  /** How many partition-and-heal episodes. Default 1. */
  partitions?: number;
  /** Most nodes down at the same time. Default: a minority, floor((n - 1) / 2). */
  maxDown?: number;
}

/**
 * A random but replayable fault schedule: crashes with later restarts and
 * partitions with later heals, all over by `untilMs`, so properties can
 * check what must hold once faults stop.
 */
export function randomFaults(random: Random, options: RandomFaultsOptions): Fault[] {
  const { nodes, untilMs } = options;
  const maxDown = options.maxDown ?? Math.floor((nodes.length - 1) / 2);
  const faults: Fault[] = [];
  const episodes: { node: NodeId; from: number; to: number }[] = [];
  for (let i = 0; i < (options.crashes ?? 1) && maxDown > 0; i++) {
    const node = random.pick(nodes);
    const from = random.int(0, Math.max(0, untilMs - 2));
    const to = random.int(from + 1, untilMs);
    const overlapping = episodes.filter((e) => e.from < to && from < e.to);
    if (overlapping.length >= maxDown || overlapping.some((e) => e.node === node)) continue;
    episodes.push({ node, from, to });
    faults.push({ at: from, type: 'crash', node }, { at: to, type: 'restart', node });
  }
  for (let i = 0; i < (options.partitions ?? 1) && nodes.length > 1; i++) {
    const shuffled = random.shuffle(nodes);
    const cut = random.int(1, nodes.length - 1);
    const from = random.int(0, Math.max(0, untilMs - 2));
    const to = random.int(from + 1, untilMs);
    faults.push({
      at: from,
      type: 'partition',
      groups: [shuffled.slice(0, cut), shuffled.slice(cut)],
    });
    faults.push({ at: to, type: 'heal' });
  }
  return faults.sort((a, b) => a.at - b.at);
}
