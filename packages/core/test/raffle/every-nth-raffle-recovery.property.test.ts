import fc from 'fast-check';
import type { NodeId, Raffle } from '@medals/core';
import {
  bully,
  everyNthRaffle,
  heartbeat,
  sequencerMulticast,
  Simulation,
  Tokens,
} from '@medals/core';
import { PROPERTY_TIMEOUT_MS } from '../property-timeout';
import { faultyLinks, recoverySchedules } from '../multicast/recovery-schedules';

jest.setTimeout(PROPERTY_TIMEOUT_MS);

const GROUP: readonly NodeId[] = ['n1', 'n2', 'n3'];
const WARMUP_MS = 300;
const FAULTS_UNTIL_MS = 2_000;
const SETTLE_MS = 2_000;

describe('EveryNthRaffle under crash-recovery', () => {
  it('agrees on every entry and every draw across incarnations, through crashes, restarts, partitions and heals', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        fc.integer({ min: 1, max: 4 }),
        faultyLinks,
        recoverySchedules({ fromMs: WARMUP_MS, untilMs: FAULTS_UNTIL_MS }),
        async (seed, every, conditions, faults) => {
          const sim = new Simulation({
            seed,
            nodes: GROUP,
            plugins: [
              heartbeat(),
              bully(),
              sequencerMulticast(),
              everyNthRaffle({ every, drawEveryMs: 200 }),
            ],
            conditions,
            faults: [
              ...faults,
              {
                at: FAULTS_UNTIL_MS,
                type: 'conditions',
                conditions: { latency: { min: 1, max: 5 } },
              },
            ],
          });
          await sim.start();
          const raffleOf = (id: NodeId): Raffle => sim.node(id).resolve(Tokens.Raffle);
          const random = sim.random.fork('requests');
          for (const id of GROUP) {
            for (let i = 0; i < 8; i++) {
              sim.scheduler.setTimeout(
                () => {
                  if (sim.isCrashed(id)) return;
                  void raffleOf(id)
                    .record({ client: `${id}-c${i}` })
                    .catch(() => undefined);
                },
                random.int(WARMUP_MS, FAULTS_UNTIL_MS - 1),
              );
            }
          }
          await sim.runFor(FAULTS_UNTIL_MS + SETTLE_MS);
          // Every draw any incarnation made picked the same winner among the same candidates.
          const draws = new Map<number, string>();
          for (const { node, data } of sim.history.events('raffleWinner')) {
            const {
              draw,
              seed: drawSeed,
              winner,
              candidates,
            } = data as {
              draw: number;
              seed: number;
              winner: { entry: number; client: string };
              candidates: number;
            };
            const seen = JSON.stringify({ drawSeed, winner, candidates });
            const earlier = draws.get(draw);
            if (earlier !== undefined && earlier !== seen) {
              throw new Error(
                `seed ${seed}: draw ${draw} at ${node} was ${seen}, elsewhere ${earlier}`,
              );
            }
            draws.set(draw, seen);
          }
          // The live members, rejoined ones included, end with the same entries and winners.
          const views = GROUP.map((id) => ({
            count: raffleOf(id).requestCount,
            entries: raffleOf(id).entries(),
            winners: raffleOf(id).winners(),
          }));
          for (const view of views.slice(1)) expect(view).toEqual(views[0]);
          expect(views[0]!.entries).toHaveLength(Math.floor(views[0]!.count / every));
          await sim.stop();
        },
      ),
      { numRuns: 200 },
    );
  });
});
