import type { HistoryEntry, NodeId, Plugin, Simulation } from '@medals/core';
import { bully, leaseGuardMs, ring } from '@medals/core';
import { actingIntervals, findActingOverlap } from '@medals/core/testing';
import { actingAgreement, agreement, electionOf, settledCluster } from './election-runs';

/** heartbeat()'s default timeout T, and the lease's default guard (T + 100 ms of margin). */
const T = 150;
const GUARD = T + 100;

function cluster(seed: number, election: Plugin): Promise<Simulation> {
  return settledCluster(seed, election, actingAgreement);
}

const last = (sim: Simulation, event: string, node: NodeId): HistoryEntry | undefined =>
  sim.history.events(event, node).at(-1);

describe.each([
  ['BullyElection', bully()],
  ['RingElection', ring()],
])('%s acting leadership', (_name, election) => {
  let sim: Simulation;
  afterEach(() => sim?.stop());

  it('acts only once the guard has passed since the node started and was elected', async () => {
    sim = await cluster(11, election);
    const { leader, term } = actingAgreement(sim)!;
    const elected = sim.history
      .events('elected', leader)
      .find((e) => (e.data as { term: number }).term === term)!;
    const acting = last(sim, 'leadershipActing', leader)!;
    expect(acting.data).toEqual({ node: leader, term });
    expect(acting.at).toBeGreaterThanOrEqual(elected.at + GUARD);
    expect(acting.at).toBeGreaterThanOrEqual(GUARD);
  });

  it('stops the minority leader acting when a partition cuts it off, before the majority elects one that acts', async () => {
    sim = await cluster(12, election);
    const { leader: old } = actingAgreement(sim)!;
    const others = sim.ids.filter((id) => id !== old);
    const minority = [old, others[0]!];
    const majority = others.slice(1);
    const cutAt = sim.now;
    sim.partition(minority, majority);
    expect(await sim.runUntil(() => majority.some((id) => electionOf(sim, id).acting), 2_000)).toBe(
      true,
    );
    // The old leader still believes it leads, but no longer acts: it lost its majority within T.
    expect(electionOf(sim, old).isLeader).toBe(true);
    expect(electionOf(sim, old).acting).toBe(false);
    const released = last(sim, 'leadershipReleased', old)!;
    expect(released.data).toMatchObject({ node: old, reason: 'majority' });
    expect(released.at).toBeLessThanOrEqual(cutAt + T + 2);
    sim.heal();
    expect(await sim.runUntil(() => actingAgreement(sim) !== undefined, 2_000)).toBe(true);
    expect(findActingOverlap(sim.history)?.message).toBeUndefined();
  });

  it('makes a restarted member wait out the guard before it acts, after the old leader released', async () => {
    // Bully lets the restarted highest member take over; ring keeps the stand-in.
    sim = await cluster(13, election);
    const top = sim.ids.at(-1)!;
    await sim.crash(top);
    expect(await sim.runUntil(() => actingAgreement(sim) !== undefined, 2_000)).toBe(true);
    const { leader: standIn } = actingAgreement(sim)!;
    await sim.restart(top);
    const restartedAt = sim.now;
    await sim.runFor(2_000);
    expect(agreement(sim)).toBeDefined();
    const intervals = actingIntervals(sim.history).filter(
      (i) => i.node === top && i.incarnation === 2,
    );
    for (const interval of intervals)
      expect(interval.from).toBeGreaterThanOrEqual(restartedAt + GUARD);
    if (agreement(sim)!.leader === top) {
      // Bully preempts: the stand-in released its term before the restarted member acted.
      const released = last(sim, 'leadershipReleased', standIn)!;
      expect(released.data).toMatchObject({ node: standIn, reason: 'term' });
      expect(released.at).toBeLessThan(last(sim, 'leadershipActing', top)!.at);
    }
    expect(findActingOverlap(sim.history)?.message).toBeUndefined();
  });
});

it('lets a leader whose view regains a majority wait out the guard before it acts again', async () => {
  const sim = await cluster(14, bully());
  try {
    // n5 leads; cut n1, n2 and n3 away from it, then bring them back.
    sim.partition(['n5', 'n4'], ['n1', 'n2', 'n3']);
    await sim.runFor(400);
    expect(electionOf(sim, 'n5').acting).toBe(false);
    sim.heal();
    const healedAt = sim.now;
    expect(await sim.runUntil(() => actingAgreement(sim) !== undefined, 2_000)).toBe(true);
    const next = actingIntervals(sim.history).find((i) => i.from > healedAt)!;
    expect(next.from).toBeGreaterThanOrEqual(healedAt + GUARD);
    expect(findActingOverlap(sim.history)?.message).toBeUndefined();
  } finally {
    await sim.stop();
  }
});

it('checks the lease options', () => {
  expect(leaseGuardMs({}, 'bully-election')).toBe(GUARD);
  expect(leaseGuardMs({ failureTimeoutMs: 300, leaseMarginMs: 0 }, 'x')).toBe(300);
  expect(() => leaseGuardMs({ failureTimeoutMs: 0 }, 'x')).toThrow(RangeError);
  expect(() => leaseGuardMs({ leaseMarginMs: -1 }, 'x')).toThrow(RangeError);
  expect(() => leaseGuardMs({ leaseMarginMs: NaN }, 'x')).toThrow(RangeError);
});

it('takes its guard from the options', async () => {
  const sim = await cluster(15, bully({ failureTimeoutMs: 150, leaseMarginMs: 400 }));
  try {
    const acting = sim.history.events('leadershipActing')[0];
    // cluster() waits at most 1,000 ms for an acting leader; with a 550 ms guard it gets one after 550 ms.
    expect(acting?.at).toBeGreaterThanOrEqual(550);
  } finally {
    await sim.stop();
  }
});
