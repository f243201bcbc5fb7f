import fc from 'fast-check';
import type { NodeId, Plugin } from '@medals/core';
import { bully, heartbeat, sequencerMulticast } from '@medals/core';
import { runMulticastTrial } from '@medals/core/testing';
import { PROPERTY_TIMEOUT_MS } from '../property-timeout';
import { faultyLinks, recoverySchedules } from './recovery-schedules';

jest.setTimeout(PROPERTY_TIMEOUT_MS);

const WARMUP_MS = 300;
const FAULTS_UNTIL_MS = 3_000;
const PER_NODE = 6;

const plugins = (_id: NodeId, group: readonly NodeId[]): Plugin[] => [
  heartbeat({ members: [...group] }),
  bully({ group: [...group] }),
  sequencerMulticast({ group: [...group] }),
];

describe('SequencerMulticast under crash-recovery', () => {
  it('keeps total order and uniform agreement across incarnations through crashes, restarts, partitions and heals, and delivers every live sender’s messages once faults stop', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        faultyLinks,
        recoverySchedules({ fromMs: WARMUP_MS, untilMs: FAULTS_UNTIL_MS }),
        async (seed, conditions, faults) => {
          const { check, history } = await runMulticastTrial({
            seed,
            plugins,
            conditions,
            faults,
            perNode: PER_NODE,
            warmupMs: WARMUP_MS,
            faultsUntilMs: FAULTS_UNTIL_MS,
            settleMs: 3_000,
          });
          if (!check.ok) throw new Error(`seed ${seed}: ${check.violation.message}`);
          // Every correct incarnation ends at the same position (a rejoined one may have delivered nothing since).
          const ends = history.correct!.map(
            (key) => history.delivered[key]!.at(-1)?.seq ?? history.joinedAt?.[key] ?? 0,
          );
          expect(new Set(ends).size).toBe(1);
        },
      ),
      { numRuns: 200 },
    );
  });
});
