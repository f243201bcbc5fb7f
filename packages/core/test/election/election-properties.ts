import fc from 'fast-check';
import type { Fault, LinkConditions } from '@medals/core';
import { SeededRandom, Simulation, randomFaults } from '@medals/core';
import type { ElectionPlugins } from './election-runs';
import { FAST_LINKS, agreement, termsGoingBack, termsWithTwoLeaders } from './election-runs';
import { PROPERTY_TIMEOUT_MS } from '../property-timeout';

const NODES = ['n1', 'n2', 'n3', 'n4', 'n5'];
/** Faults happen in the first second; everything is healed and restarted at its end. */
const FAULTS_UNTIL_MS = 1_000;
/** Once faults stop, every live node must agree on one live leader within this long. */
export const SETTLE_BOUND_MS = 1_000;

function faultsFor(seed: number): Fault[] {
  return randomFaults(new SeededRandom(seed).fork('faults'), {
    nodes: NODES,
    untilMs: FAULTS_UNTIL_MS,
    crashes: 2,
    partitions: 2,
  });
}

/** Five nodes under the faults of `seed`, over links with `conditions`. */
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
      'never names two leaders for one term, and terms never go back (200 seeds, 5% loss and duplication)',
      async () => {
        await fc.assert(
          fc.asyncProperty(fc.integer(), async (seed) => {
            const sim = simulationOf(seed, plugins, { ...FAST_LINKS, loss: 0.05, duplicate: 0.05 });
            await sim.start();
            await sim.runFor(FAULTS_UNTIL_MS + 500);
            await sim.stop();
            expect(termsWithTwoLeaders(sim)).toEqual([]);
            expect(termsGoingBack(sim)).toEqual([]);
          }),
          { numRuns: 200 },
        );
      },
      PROPERTY_TIMEOUT_MS,
    );

    it(
      `agrees on one live leader within ${SETTLE_BOUND_MS} ms once faults stop (200 seeds)`,
      async () => {
        await fc.assert(
          fc.asyncProperty(fc.integer(), async (seed) => {
            const sim = simulationOf(seed, plugins, FAST_LINKS);
            await sim.start();
            await sim.runFor(FAULTS_UNTIL_MS);
            const agreed = await sim.runUntil(() => agreement(sim) !== undefined, SETTLE_BOUND_MS);
            const settledAt = sim.now;
            // Agreement must last: nothing is left to disturb it.
            await sim.runFor(300);
            const still = agreement(sim);
            await sim.stop();
            expect({
              agreed,
              settledAfterMs: settledAt - FAULTS_UNTIL_MS,
              stillAgreed: still !== undefined,
            }).toEqual({
              agreed: true,
              settledAfterMs: settledAt - FAULTS_UNTIL_MS,
              stillAgreed: true,
            });
          }),
          { numRuns: 200 },
        );
      },
      PROPERTY_TIMEOUT_MS,
    );
  });
}
