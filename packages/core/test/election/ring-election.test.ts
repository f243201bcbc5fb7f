import type { Plugin, Simulation } from '@medals/core';
import { RingElection, ring } from '@medals/core';
import { agreement, settledCluster } from './election-runs';

function cluster(seed: number, election: Plugin = ring()): Promise<Simulation> {
  return settledCluster(seed, election);
}

function ringMessages(sim: Simulation, type: string): number {
  return sim.network.stats.sentByType[type] ?? 0;
}

describe('RingElection', () => {
  let sim: Simulation;
  afterEach(() => sim?.stop());

  it('elects the highest member, and the highest survivor when it crashes', async () => {
    sim = await cluster(1);
    expect(agreement(sim)?.leader).toBe('n5');
    await sim.crash('n5');
    expect(await sim.runUntil(() => agreement(sim)?.leader === 'n4', 400)).toBe(true);
  });

  it('skips dead successors: with n5 and n1 down, the ring n2 → n3 → n4 still elects n4', async () => {
    sim = await cluster(2);
    await sim.crash('n1');
    await sim.runFor(300);
    await sim.crash('n5');
    expect(await sim.runUntil(() => agreement(sim)?.leader === 'n4', 400)).toBe(true);
  });

  it('skips a successor that crashed but is not suspected yet, after its hop timeout', async () => {
    sim = await cluster(3);
    await sim.crash('n5');
    // n1 dies just before the others notice n5 is gone: n4's election message
    // reaches n1 while n4 still believes it alive.
    await sim.runFor(120);
    await sim.crash('n1');
    expect(await sim.runUntil(() => agreement(sim)?.leader === 'n4', 600)).toBe(true);
    expect(
      sim.history.events('elected').filter((e) => (e.data as { leader: string }).leader === 'n4'),
    ).toHaveLength(3);
  });

  it('hands over after a crash with one election lap and one elected lap, the highest survivor first', async () => {
    sim = await cluster(4);
    await sim.runFor(23);
    const elections = ringMessages(sim, 'ring.election');
    const elected = ringMessages(sim, 'ring.elected');
    await sim.crash('n5');
    await sim.runUntil(() => agreement(sim)?.leader === 'n4', 400);
    await sim.runFor(500);
    // n4 → n1 → n2 → n3 → n4, then n4 → n1 → n2 → n3: 7 hops, each acknowledged.
    expect(ringMessages(sim, 'ring.election') - elections).toBe(8);
    expect(ringMessages(sim, 'ring.elected') - elected).toBe(6);
  });

  it('lets a restarted node rejoin the current leadership without an election', async () => {
    sim = await cluster(5);
    await sim.crash('n5');
    await sim.runUntil(() => agreement(sim)?.leader === 'n4', 400);
    const leadership = agreement(sim)!;
    const elections = ringMessages(sim, 'ring.election');
    await sim.restart('n5');
    await sim.runUntil(() => agreement(sim) !== undefined, 400);
    await sim.runFor(500);
    expect(agreement(sim)).toEqual(leadership);
    expect(ringMessages(sim, 'ring.election')).toBe(elections);
  });

  it('ignores an election message from before the current leadership while its leader is alive', async () => {
    sim = await cluster(6);
    const before = agreement(sim)!;
    const answer = sim.node('n1').transport.request('n2', 'ring.election', {
      candidate: 'n1',
      term: before.term - 1,
    });
    await sim.runFor(300);
    await expect(answer).resolves.toEqual(before);
    expect(agreement(sim)).toEqual(before);
  });

  it('drops an elected message whose term belongs to another member, changing nothing', async () => {
    sim = await cluster(7);
    const before = agreement(sim);
    sim.node('n1').transport.send('n2', 'ring.elected', { leader: 'n1', term: 1_001 });
    await sim.runFor(10);
    expect(agreement(sim)).toEqual(before);
    expect(sim.history.events('node:error', 'n2')).toHaveLength(1);
  });

  it('refuses a backoff that is not a whole number of ms', () => {
    const parts = {} as ConstructorParameters<typeof RingElection>[0];
    expect(
      () => new RingElection({ ...parts, self: 'a', members: ['a'] }, { backoffMs: 1.5 }),
    ).toThrow(RangeError);
    expect(
      () => new RingElection({ ...parts, self: 'a', members: ['a'] }, { electionTimeoutMs: 0 }),
    ).toThrow(RangeError);
  });
});
