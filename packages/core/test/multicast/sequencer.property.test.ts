import fc from 'fast-check';
import type { LinkConditions, NodeId, OrderedMulticast } from '@medals/core';
import { bully, heartbeat, sequencerMulticast, Simulation, Tokens } from '@medals/core';
import type { CompliancePayload } from '@medals/core/testing';
import { checkMulticastHistory, MulticastRecorder, runMulticastTrial } from '@medals/core/testing';
import { AppointedLeaders, oracleMembership } from './sequencer-test-cluster';
import { PROPERTY_TIMEOUT_MS } from '../property-timeout';

jest.setTimeout(PROPERTY_TIMEOUT_MS);

const GROUP: readonly NodeId[] = ['n1', 'n2', 'n3'];
const CALM: LinkConditions = { latency: { min: 1, max: 5 } };
const WARMUP_MS = 100;
const FAULTS_UNTIL_MS = 600;
const SETTLE_MS = 2_000;
const PER_NODE = 5;

interface Trial {
  seed: number;
  conditions: LinkConditions;
  /** Whether the first sequencer is `db`, a node outside the group. */
  outsideSequencer: boolean;
  crash: { node: NodeId; at: number } | null;
  /** How long after the leader's crash the next one is appointed. */
  detectionMs: number;
}

/**
 * One run: the members multicast under the trial's link conditions while
 * maybe one node (perhaps the sequencer) crashes for good; a crashed leader
 * is replaced by the highest live node after `detectionMs`, as a perfect
 * election would. Then the network calms down and the run settles.
 */
async function runTrial(trial: Trial) {
  const nodes = trial.outsideSequencer ? [...GROUP, 'db'] : GROUP;
  const leaders = new AppointedLeaders(trial.outsideSequencer ? 'db' : 'n3');
  const sim: Simulation = new Simulation({
    seed: trial.seed,
    nodes,
    plugins: [
      oracleMembership((id) => !sim.isCrashed(id)),
      leaders.plugin(),
      sequencerMulticast({ group: [...GROUP] }),
    ],
    conditions: trial.conditions,
    faults: [{ at: FAULTS_UNTIL_MS, type: 'conditions', conditions: CALM }],
  });
  await sim.start();
  const recorder = new MulticastRecorder<CompliancePayload>();
  const multicastOf = (id: NodeId) =>
    sim.node(id).resolve(Tokens.OrderedMulticast) as OrderedMulticast<CompliancePayload>;
  for (const id of GROUP) recorder.attach(id, multicastOf(id));
  const random = sim.random.fork('workload');
  for (const id of GROUP) {
    const times = Array.from({ length: PER_NODE }, () =>
      random.int(WARMUP_MS, FAULTS_UNTIL_MS - 1),
    ).sort((a, b) => a - b);
    times.forEach((at, i) =>
      sim.scheduler.setTimeout(() => {
        if (sim.isCrashed(id)) return;
        recorder.multicast(id, multicastOf(id), { from: id, n: i + 1 }).catch(() => undefined);
      }, at),
    );
  }
  const { crash } = trial;
  if (crash && nodes.includes(crash.node)) {
    sim.scheduler.setTimeout(() => {
      void sim.crash(crash.node);
      if (leaders.current?.leader !== crash.node) return;
      sim.scheduler.setTimeout(() => {
        const next = [...sim.liveIds].sort().at(-1)!;
        leaders.appoint(next);
      }, trial.detectionMs);
    }, crash.at);
  }
  await sim.runFor(FAULTS_UNTIL_MS + SETTLE_MS);
  const correct = GROUP.filter((id) => !sim.isCrashed(id));
  const history = recorder.history(correct);
  await sim.stop();
  return { history, correct };
}

const conditions = fc.record({
  latency: fc.record({ min: fc.constant(0), max: fc.integer({ min: 1, max: 8 }) }),
  loss: fc.double({ min: 0, max: 0.15, noNaN: true }),
  duplicate: fc.double({ min: 0, max: 0.15, noNaN: true }),
  reorder: fc.double({ min: 0, max: 0.3, noNaN: true }),
  reorderWindowMs: fc.integer({ min: 1, max: 15 }),
});

const trials: fc.Arbitrary<Trial> = fc.record({
  seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
  conditions,
  outsideSequencer: fc.boolean(),
  crash: fc.option(
    fc.record({
      node: fc.constantFrom('n1', 'n2', 'n3', 'db'),
      at: fc.integer({ min: 0, max: FAULTS_UNTIL_MS }),
    }),
    { freq: 4, nil: null },
  ),
  detectionMs: fc.integer({ min: 20, max: 300 }),
});

describe('SequencerMulticast properties', () => {
  it('keeps every property of the checker under loss, duplication, reordering and a crash (the sequencer’s included), numbers from 1 with no gap, and delivers every live sender’s messages once faults stop', async () => {
    await fc.assert(
      fc.asyncProperty(trials, async (trial) => {
        const { history, correct } = await runTrial(trial);
        const check = checkMulticastHistory(history);
        if (!check.ok) throw new Error(`seed ${trial.seed}: ${check.violation.message}`);
        for (const node of correct) {
          const delivered = history.delivered[node]!;
          expect(delivered[0]?.seq).toBe(1);
          const fromLive = delivered.filter((d) => correct.includes(d.sender));
          expect(fromLive).toHaveLength(PER_NODE * correct.length);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('keeps the same properties with the sequencer elected by bully over heartbeats', async () => {
    const plugins = (_id: NodeId, group: readonly NodeId[]) => [
      heartbeat({ members: [...group] }),
      bully({ group: [...group] }),
      sequencerMulticast({ group: [...group] }),
    ];
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        conditions,
        fc.option(
          fc.record({
            node: fc.constantFrom('n1', 'n2', 'n3'),
            at: fc.integer({ min: 0, max: FAULTS_UNTIL_MS }),
          }),
          { freq: 4 },
        ),
        async (seed, linkConditions, crash) => {
          const { check, history } = await runMulticastTrial({
            seed,
            plugins,
            conditions: linkConditions,
            ...(crash ? { crash } : {}),
            perNode: PER_NODE,
          });
          if (!check.ok) throw new Error(`seed ${seed}: ${check.violation.message}`);
          for (const node of history.correct ?? []) {
            const fromLive = history.delivered[node]!.filter((d) =>
              history.correct!.includes(d.sender),
            );
            expect(fromLive).toHaveLength(PER_NODE * history.correct!.length);
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
