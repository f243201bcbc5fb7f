import fc from 'fast-check';
import type { Fault, LinkConditions, NodeId } from '@medals/core';

const GROUP: readonly NodeId[] = ['n1', 'n2', 'n3'];

/** Link conditions of a faulty period: some loss, duplication and reordering. */
export const faultyLinks: fc.Arbitrary<LinkConditions> = fc.record({
  latency: fc.record({ min: fc.constant(0), max: fc.integer({ min: 1, max: 8 }) }),
  loss: fc.double({ min: 0, max: 0.1, noNaN: true }),
  duplicate: fc.double({ min: 0, max: 0.1, noNaN: true }),
  reorder: fc.double({ min: 0, max: 0.2, noNaN: true }),
  reorderWindowMs: fc.integer({ min: 1, max: 15 }),
});

/** Options of {@link recoverySchedules}. */
export interface RecoveryScheduleOptions {
  /** Faults start at or after this, in virtual ms. */
  fromMs: number;
  /** Every crashed member is restarted, and every partition healed, by this. */
  untilMs: number;
  /** How long a restarted member is given to rejoin before another member crashes. Default 600. */
  rejoinMs?: number;
}

/**
 * Fault schedules within the crash-recovery model: members crash and
 * restart one at a time (the next crash waits until the restarted member
 * had `rejoinMs` to rejoin, so a majority always keeps its state), and the
 * network splits into two sides and heals, over crashes or not.
 */
export function recoverySchedules(options: RecoveryScheduleOptions): fc.Arbitrary<Fault[]> {
  const { fromMs, untilMs } = options;
  const rejoinMs = options.rejoinMs ?? 600;
  const span = untilMs - fromMs;
  const episode = fc.record({
    node: fc.constantFrom(...GROUP),
    gapMs: fc.integer({ min: 0, max: Math.floor(span / 3) }),
    downMs: fc.integer({ min: 50, max: Math.floor(span / 3) }),
  });
  const partition = fc.record({
    alone: fc.constantFrom(...GROUP),
    atMs: fc.integer({ min: 0, max: span - 100 }),
    forMs: fc.integer({ min: 50, max: Math.floor(span / 2) }),
  });
  return fc
    .record({
      crashes: fc.array(episode, { minLength: 1, maxLength: 2 }),
      partitions: fc.array(partition, { maxLength: 2 }),
    })
    .map(({ crashes, partitions }) => {
      const faults: Fault[] = [];
      // Partitions do not nest: each heals before the next splits.
      const windows: { from: number; to: number }[] = [];
      let free = fromMs;
      for (const { alone, atMs, forMs } of [...partitions].sort((a, b) => a.atMs - b.atMs)) {
        const splitAt = Math.max(free, fromMs + atMs);
        const healAt = Math.min(untilMs, splitAt + forMs);
        if (healAt <= splitAt) continue;
        const rest = GROUP.filter((id) => id !== alone);
        faults.push({ at: splitAt, type: 'partition', groups: [[alone], rest] });
        faults.push({ at: healAt, type: 'heal' });
        windows.push({ from: splitAt, to: healAt });
        free = healAt + 1;
      }
      // A restarted member rejoins once it reaches a majority: the next crash
      // waits until it had `rejoinMs` of a whole network after its restart.
      let at = fromMs;
      let restartedAt: number | undefined;
      for (const { node, gapMs, downMs } of crashes) {
        let crashAt = at + gapMs;
        if (restartedAt !== undefined) {
          for (const w of windows) {
            if (w.to > restartedAt && w.from < crashAt)
              crashAt = Math.max(crashAt, w.to + rejoinMs);
          }
        }
        const restartAt = crashAt + downMs;
        if (restartAt >= untilMs) break;
        faults.push({ at: crashAt, type: 'crash', node }, { at: restartAt, type: 'restart', node });
        restartedAt = restartAt;
        at = restartAt + rejoinMs;
      }
      return faults.sort((a, b) => a.at - b.at);
    });
}
