import fc from 'fast-check';
import type { LinkConditions, NodeId, Raffle } from '@medals/core';
import { everyNthRaffle, sequencerMulticast, Simulation, Tokens } from '@medals/core';
import { AppointedLeaders, oracleMembership } from '../multicast/sequencer-test-cluster';
import { PROPERTY_TIMEOUT_MS } from '../property-timeout';

jest.setTimeout(PROPERTY_TIMEOUT_MS);

const GROUP: readonly NodeId[] = ['n1', 'n2', 'n3'];
const CALM: LinkConditions = { latency: { min: 1, max: 5 } };
const FAULTS_UNTIL_MS = 600;
const SETTLE_MS = 2_000;

const trials = fc.record({
  seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
  every: fc.integer({ min: 1, max: 5 }),
  conditions: fc.record({
    latency: fc.record({ min: fc.constant(0), max: fc.integer({ min: 1, max: 8 }) }),
    loss: fc.double({ min: 0, max: 0.15, noNaN: true }),
    duplicate: fc.double({ min: 0, max: 0.15, noNaN: true }),
    reorder: fc.double({ min: 0, max: 0.3, noNaN: true }),
    reorderWindowMs: fc.integer({ min: 1, max: 15 }),
  }),
  crash: fc.option(
    fc.record({
      node: fc.constantFrom(...GROUP),
      at: fc.integer({ min: 0, max: FAULTS_UNTIL_MS }),
    }),
    { freq: 3, nil: null },
  ),
  draws: fc.array(
    fc.record({
      node: fc.constantFrom(...GROUP),
      at: fc.integer({ min: 100, max: FAULTS_UNTIL_MS + 500 }),
    }),
    { maxLength: 4 },
  ),
});

describe('EveryNthRaffle properties', () => {
  it('agrees on entries and winners at every live member under loss, duplication, reordering and a crash (the sequencer’s included)', async () => {
    await fc.assert(
      fc.asyncProperty(trials, async (trial) => {
        const leaders = new AppointedLeaders('n3');
        const sim: Simulation = new Simulation({
          seed: trial.seed,
          nodes: GROUP,
          plugins: [
            oracleMembership((id) => !sim.isCrashed(id)),
            leaders.plugin(),
            sequencerMulticast(),
            everyNthRaffle({ every: trial.every }),
          ],
          conditions: trial.conditions,
          faults: [{ at: FAULTS_UNTIL_MS, type: 'conditions', conditions: CALM }],
        });
        await sim.start();
        const raffleOf = (id: NodeId): Raffle => sim.node(id).resolve(Tokens.Raffle);
        const random = sim.random.fork('requests');
        let recorded = 0;
        for (const id of GROUP) {
          for (let i = 0; i < 8; i++) {
            sim.scheduler.setTimeout(
              () => {
                if (sim.isCrashed(id)) return;
                recorded++;
                void raffleOf(id)
                  .record({ client: `${id}-c${i}` })
                  .catch(() => undefined);
              },
              random.int(100, FAULTS_UNTIL_MS - 1),
            );
          }
        }
        for (const draw of trial.draws) {
          sim.scheduler.setTimeout(() => {
            if (!sim.isCrashed(draw.node))
              void raffleOf(draw.node)
                .draw()
                .catch(() => undefined);
          }, draw.at);
        }
        const { crash } = trial;
        if (crash) {
          sim.scheduler.setTimeout(() => {
            void sim.crash(crash.node);
            if (leaders.current?.leader === crash.node) {
              sim.scheduler.setTimeout(() => leaders.appoint(sim.liveIds.at(-1)!), 100);
            }
          }, crash.at);
        }
        await sim.runFor(FAULTS_UNTIL_MS + SETTLE_MS);
        const live = GROUP.filter((id) => !sim.isCrashed(id));
        const [first, ...others] = live.map(raffleOf);
        for (const raffle of others) {
          expect(raffle.entries()).toEqual(first!.entries());
          expect(raffle.winners()).toEqual(first!.winners());
          expect(raffle.requestCount).toBe(first!.requestCount);
        }
        if (!crash) expect(first!.requestCount).toBe(recorded);
        expect(first!.entries()).toHaveLength(Math.floor(first!.requestCount / trial.every));
        // A crashed member's view is a prefix of the survivors'.
        for (const id of GROUP.filter((n) => sim.isCrashed(n))) {
          const entries = raffleOf(id).entries();
          expect(first!.entries().slice(0, entries.length)).toEqual(entries);
        }
        await sim.stop();
      }),
      { numRuns: 200 },
    );
  });
});
