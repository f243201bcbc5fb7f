import fc from 'fast-check';
import type { CristianClockSync, NodeId } from '@medals/core';
import {
  SeededRandom,
  Simulation,
  Tokens,
  berkeley,
  bully,
  cristian,
  heartbeat,
  randomFaults,
} from '@medals/core';
import { actingIntervals } from '@medals/core/testing';
import { PROPERTY_TIMEOUT_MS } from '../property-timeout';
import { clockSync, spread } from './support/clock-sync-cluster';

const NODES = ['n1', 'n2', 'n3', 'n4', 'n5'];

/** Rounds reported outside an acting interval of their node in their term, named. */
function roundsOutsideActing(sim: Simulation): string[] {
  const intervals = actingIntervals(sim.history);
  const outside: string[] = [];
  sim.history.entries.forEach((entry, index) => {
    if (entry.event !== 'clockSyncRound') return;
    const { term } = entry.data as { term: number | undefined };
    const covered = intervals.some(
      (i) => i.node === entry.node && i.term === term && i.fromIndex < index && index < i.toIndex,
    );
    if (!covered)
      outside.push(
        `${entry.node} ran a round of term ${term} at ${entry.at} ms without acting as leader`,
      );
  });
  return outside;
}

describe('Clock sync runs only while its node acts as leader', () => {
  it(
    'Berkeley: every round lies inside an acting interval of its node, across crashes, restarts and partitions (200 seeds)',
    async () => {
      await fc.assert(
        fc.asyncProperty(fc.integer(), async (seed) => {
          const sim = new Simulation({
            seed,
            nodes: NODES,
            plugins: [heartbeat(), bully(), berkeley({ intervalMs: 50, pollTimeoutMs: 40 })],
            conditions: { latency: (random) => random.int(0, 16) / 8 },
            faults: randomFaults(new SeededRandom(seed).fork('faults'), {
              nodes: NODES,
              untilMs: 1_000,
              crashes: 2,
              partitions: 2,
            }),
            ignoreEvents: ['peerSuspected', 'peerRecovered', 'electionStarted', 'clockAdjusted'],
          });
          await sim.start();
          await sim.runFor(1_600);
          await sim.stop();
          expect(roundsOutsideActing(sim)).toEqual([]);
          // Once faults stop, the acting leader runs rounds again.
          expect(sim.history.events('clockSyncRound').some((e) => e.at > 1_300)).toBe(true);
        }),
        { numRuns: 200 },
      );
    },
    PROPERTY_TIMEOUT_MS,
  );

  it('Berkeley: a leader cut off from the majority stops its rounds, though it still believes it leads', async () => {
    const sim = new Simulation({
      seed: 5,
      nodes: NODES,
      plugins: [heartbeat(), bully(), berkeley({ intervalMs: 50, pollTimeoutMs: 40 })],
      conditions: { latency: 1 },
    });
    try {
      await sim.start();
      await sim.runFor(600);
      expect(sim.history.events('clockSyncRound', 'n5').length).toBeGreaterThan(0);
      sim.partition(['n5', 'n1'], ['n2', 'n3', 'n4']);
      await sim.runFor(200);
      const quietFrom = sim.now;
      await sim.runFor(1_000);
      expect(sim.node('n5').resolve(Tokens.Election).isLeader).toBe(true);
      expect(sim.history.events('clockSyncRound', 'n5').filter((e) => e.at > quietFrom)).toEqual(
        [],
      );
      expect(sim.history.events('clockSyncRound', 'n4').length).toBeGreaterThan(0);
      // Asked for a round, it waits for a lease it cannot get, then refuses.
      const refused = clockSync(sim, 'n5').syncOnce();
      refused.catch(() => undefined);
      await sim.runFor(100);
      await expect(refused).rejects.toMatchObject({ code: 'ERR_NOT_LEADER' });
    } finally {
      await sim.stop();
    }
  });

  it('Cristian: the elected server answers only once it acts, and members that were refused ask again', async () => {
    const sim = new Simulation({
      seed: 6,
      nodes: 3,
      plugins: [heartbeat(), bully(), cristian({ intervalMs: 3_600_000, timeoutMs: 50 })],
      clocks: { n1: { offsetMs: 900 }, n2: { offsetMs: -300 }, n3: { offsetMs: 40 } },
      conditions: { latency: 1 },
    });
    try {
      await sim.start();
      const election = sim.node('n3').resolve(Tokens.Election);
      await sim.runUntil(() => election.isLeader, 100);
      // Elected, but inside its guard: the members' rounds are refused until it acts.
      expect(election.acting).toBe(false);
      await sim.runUntil(() => election.acting, 1_000);
      const actingAt = sim.now;
      const refused = sim.history
        .events('clockSyncRound')
        .filter((e) => e.node !== 'n3' && e.at <= actingAt);
      expect(refused.length).toBeGreaterThan(0);
      for (const round of refused) {
        expect((round.data as { unreachable: NodeId[] }).unreachable).toEqual(['n3']);
      }
      // Without waiting for the hour-long interval, the members synchronise once it acts.
      await sim.runFor(200);
      for (const id of ['n1', 'n2']) {
        const report = (clockSync(sim, id) as CristianClockSync).lastReport!;
        expect(report.unreachable).toEqual([]);
        expect(sim.history.events('clockSyncRound', id).at(-1)!.at).toBeGreaterThan(actingAt);
      }
      expect(spread(sim, sim.ids)).toBeLessThan(2);
    } finally {
      await sim.stop();
    }
  });
});
