import fc from 'fast-check';
import type { Fault, LinkConditions } from '@medals/core';
import { SeededRandom, Simulation, randomFaults } from '@medals/core';
import { findActingOverlap, findTermConflict } from '@medals/core/testing';
import type { ElectionPlugins } from './election-runs';
import { FAST_LINKS, actingAgreement, electionOf, termsGoingBack } from './election-runs';
import { PROPERTY_TIMEOUT_MS } from '../property-timeout';

const NODES = ['n1', 'n2', 'n3', 'n4', 'n5'];
/** Faults happen in the first second; everything is healed and restarted at its end. */
const FAULTS_UNTIL_MS = 1_000;
/** Once faults stop, every live node must agree on one live, acting leader within this long. */
export const SETTLE_BOUND_MS = 1_000;

function faultsFor(seed: number): Fault[] {
  return randomFaults(new SeededRandom(seed).fork('faults'), {
    nodes: NODES,
    untilMs: FAULTS_UNTIL_MS,
    crashes: 2,
    partitions: 2,
  });
}

/** Five nodes under the faults of `seed` (crashes with restarts, partitions with heals), over links with `conditions`. */
function simulationOf(
  seed: number,
  plugins: ElectionPlugins,
  conditions: LinkConditions,
): Simulation {
  return new Simulation({
    seed,
    nodes: NODES,
    plugins,
    conditions,
    faults: faultsFor(seed),
    ignoreEvents: ['peerSuspected', 'peerRecovered', 'electionStarted'],
  });
}

/**
 * Declares the safety and liveness properties of an election, each over 200
 * seeds of random crashes, restarts and partitions.
 */
export function electionProperties(name: string, plugins: ElectionPlugins): void {
  describe(`${name} properties`, () => {
    it(
      'never lets two nodes believe different leaders for one term, and terms never go back (200 seeds, 5% loss and duplication)',
      async () => {
        await fc.assert(
          fc.asyncProperty(fc.integer(), async (seed) => {
            const sim = simulationOf(seed, plugins, { ...FAST_LINKS, loss: 0.05, duplicate: 0.05 });
            await sim.start();
            await sim.runFor(FAULTS_UNTIL_MS + 500);
            await sim.stop();
            expect(findTermConflict(sim.history)?.message).toBeUndefined();
            expect(termsGoingBack(sim)).toEqual([]);
          }),
          { numRuns: 200 },
        );
      },
      PROPERTY_TIMEOUT_MS,
    );

    it(
      'never lets two nodes act as leader over overlapping intervals, across incarnations and partitions (200 seeds)',
      async () => {
        await fc.assert(
          fc.asyncProperty(fc.integer(), async (seed) => {
            const sim = simulationOf(seed, plugins, FAST_LINKS);
            await sim.start();
            await sim.runFor(FAULTS_UNTIL_MS + 500);
            await sim.stop();
            expect(findActingOverlap(sim.history)?.message).toBeUndefined();
          }),
          { numRuns: 200 },
        );
      },
      PROPERTY_TIMEOUT_MS,
    );

    it(
      `agrees on one live, acting leader within ${SETTLE_BOUND_MS} ms once faults stop, and still does later (200 seeds)`,
      async () => {
        await fc.assert(
          fc.asyncProperty(fc.integer(), async (seed) => {
            const sim = simulationOf(seed, plugins, FAST_LINKS);
            await sim.start();
            await sim.runFor(FAULTS_UNTIL_MS);
            await sim.runUntil(() => actingAgreement(sim) !== undefined, SETTLE_BOUND_MS);
            const agreed = actingAgreement(sim);
            const views = (): string[] =>
              sim.liveIds.map((id) => {
                const e = electionOf(sim, id);
                return `${id}: ${e.leader ?? '-'}/${e.term}${e.acting ? ' acting' : ''}`;
              });
            const settledViews = views();
            // Agreement must last, though not necessarily on the same term: the failure
            // detector may still be noticing faults that ended just before the bound started.
            await sim.runFor(300);
            const still = actingAgreement(sim);
            const laterViews = views();
            await sim.stop();
            expect({ agreed: agreed !== undefined, settledViews }).toEqual({
              agreed: true,
              settledViews,
            });
            expect({
              stillAgreed: still !== undefined,
              termNotBack: still !== undefined && still.term >= agreed!.term,
              laterViews,
            }).toEqual({ stillAgreed: true, termNotBack: true, laterViews });
          }),
          { numRuns: 200 },
        );
      },
      PROPERTY_TIMEOUT_MS,
    );
  });
}
