import fc from 'fast-check';
import type { ClockSyncReport, Election, HistoryEntry, NodeId } from '@medals/core';
import { Simulation, Tokens, berkeley, bully, heartbeat } from '@medals/core';
import { clockSync, spread } from './support/clock-sync-cluster';

const MAX_DRIFT_PPM = 100;
const INTERVAL_MS = 500;

interface RoundEvent {
  node: NodeId;
  round: number;
  term: number | undefined;
  unreachable: NodeId[];
}

const rounds = (sim: Simulation, after: number): (HistoryEntry & { data: RoundEvent })[] =>
  sim.history.events('clockSyncRound').filter((e) => e.at > after) as (HistoryEntry & {
    data: RoundEvent;
  })[];

const election = (sim: Simulation, id: NodeId): Election => sim.node(id).resolve(Tokens.Election);

describe('Berkeley rounds follow the leadership', () => {
  it('after the leader crashes, the newly elected leader runs the rounds, leaving the old one out', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer(),
        fc.integer({ min: 3, max: 5 }),
        fc.integer({ min: 600, max: 1_500 }),
        fc.integer({ min: 0, max: 3 }),
        async (seed, size, crashAt, jitterMs) => {
          const sim = new Simulation({
            seed,
            nodes: size,
            plugins: [
              heartbeat({ intervalMs: 50, timeoutMs: 150 }),
              bully(),
              berkeley({ intervalMs: INTERVAL_MS, pollTimeoutMs: 50 }),
            ],
            // Whole-millisecond latencies keep virtual times integers, clear of the rounding
            // that can make the heartbeat detector re-check a deadline at the same instant forever.
            conditions: { latency: (random) => 1 + random.int(0, jitterMs) },
            clocks: (_id, random) => ({
              offsetMs: random.float(-5_000, 5_000),
              driftPpm: random.float(-MAX_DRIFT_PPM, MAX_DRIFT_PPM),
            }),
            ignoreEvents: ['peerSuspected', 'peerRecovered'],
          });
          await sim.start();
          try {
            await sim.runFor(crashAt);
            const old = election(sim, 'n1').leader;
            expect(old).toBe(sim.ids[size - 1]);
            expect(rounds(sim, 0).some((e) => e.node === old)).toBe(true);
            const oldTerm = election(sim, 'n1').term;
            await sim.crash(old!);
            const crashedAt = sim.now;

            const byNewLeader = (): boolean =>
              rounds(sim, crashedAt).some(
                (e) => e.node !== old && e.node === election(sim, e.node).leader,
              );
            expect(await sim.runUntil(byNewLeader, 3_000)).toBe(true);
            const first = rounds(sim, crashedAt).find((e) => e.node !== old)!;
            const leader = first.node;
            // Bully: the highest member alive leads, in a later term.
            expect(leader).toBe(sim.ids[size - 2]);
            expect(first.data.term).toBeGreaterThan(oldTerm);
            expect(first.data.unreachable).toEqual([old]);
            for (const id of sim.liveIds) expect(election(sim, id).leader).toBe(leader);

            const report: ClockSyncReport = clockSync(sim, leader).lastReport!;
            expect(report).toMatchObject({ server: leader, term: first.data.term });
            // The survivors end the new leader's round within the jitter of each other,
            // plus what drift opens up over the round.
            const slack = 4 * MAX_DRIFT_PPM * 1e-6 * (sim.now - first.at + 200) + 1e-3;
            expect(spread(sim, sim.liveIds)).toBeLessThanOrEqual(jitterMs + slack);
            // No round is run by anyone but the leader after the election settled.
            expect(rounds(sim, first.at).every((e) => e.node === leader)).toBe(true);
          } finally {
            await sim.stop();
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
