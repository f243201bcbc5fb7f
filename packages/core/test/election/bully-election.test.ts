import type { Plugin } from '@medals/core';
import { BullyElection, Simulation, bully, heartbeat } from '@medals/core';
import { FAST_LINKS, agreement, electionOf, settledCluster } from './election-runs';

function cluster(seed: number, election: Plugin): Promise<Simulation> {
  return settledCluster(seed, election);
}

function bullyMessages(sim: Simulation): number {
  return Object.entries(sim.network.stats.sentByType)
    .filter(([type]) => type.startsWith('bully.'))
    .reduce((sum, [, n]) => sum + n, 0);
}

describe('BullyElection', () => {
  let sim: Simulation;
  afterEach(() => sim?.stop());

  it('elects the highest member, and the highest survivor when it crashes', async () => {
    sim = await cluster(1, bully());
    expect(agreement(sim)).toEqual({ leader: 'n5', term: 4 });
    await sim.crash('n5');
    expect(await sim.runUntil(() => agreement(sim)?.leader === 'n4', 400)).toBe(true);
    await sim.crash('n4');
    expect(await sim.runUntil(() => agreement(sim)?.leader === 'n3', 400)).toBe(true);
  });

  it('hands over after a crash with one announcement per survivor, the lower members holding back', async () => {
    sim = await cluster(2, bully());
    await sim.runFor(37);
    const before = bullyMessages(sim);
    const electionsBefore = sim.network.stats.sentByType['bully.election'];
    await sim.crash('n5');
    await sim.runUntil(() => agreement(sim)?.leader === 'n4', 400);
    await sim.runFor(500);
    // n4 announces itself to n1, n2 and n3, each answering: 6 envelopes, no election message.
    expect(bullyMessages(sim) - before).toBe(6);
    expect(sim.network.stats.sentByType['bully.election']).toBe(electionsBefore);
  });

  it('lets a restarted higher member take the leadership back when preemptive (the default)', async () => {
    sim = await cluster(3, bully());
    await sim.crash('n5');
    await sim.runUntil(() => agreement(sim)?.leader === 'n4', 400);
    const { term } = agreement(sim)!;
    await sim.restart('n5');
    expect(await sim.runUntil(() => agreement(sim)?.leader === 'n5', 1_000)).toBe(true);
    expect(agreement(sim)!.term).toBeGreaterThan(term);
  });

  it('lets a restarted higher member follow the leader in place when not preemptive', async () => {
    sim = await cluster(4, bully({ preemptive: false }));
    await sim.crash('n5');
    await sim.runUntil(() => agreement(sim)?.leader === 'n4', 400);
    const leadership = agreement(sim)!;
    await sim.restart('n5');
    await sim.runFor(1_000);
    expect(agreement(sim)).toEqual(leadership);
    expect(electionOf(sim, 'n5').isLeader).toBe(false);
  });

  it('lets a node cut off alone lead itself, then rejoin the others when the partition heals', async () => {
    sim = await cluster(5, bully());
    sim.partition(['n2'], ['n1', 'n3', 'n4', 'n5']);
    expect(await sim.runUntil(() => electionOf(sim, 'n2').isLeader, 400)).toBe(true);
    expect(electionOf(sim, 'n1').leader).toBe('n5');
    sim.heal();
    expect(await sim.runUntil(() => agreement(sim)?.leader === 'n5', 1_000)).toBe(true);
  });

  it('drops a coordinator message with an absurd term, reported by the transport, changing nothing', async () => {
    sim = await cluster(6, bully());
    const before = agreement(sim);
    for (const term of [2 ** 60, -4, Number.NaN]) {
      sim.node('n1').transport.send('n2', 'bully.coordinator', { leader: 'n1', term });
    }
    await sim.runFor(10);
    expect(agreement(sim)).toEqual(before);
    const errors = sim.history
      .events('node:error', 'n2')
      .map((e) => e.data as { code: string; component: string });
    expect(errors).toHaveLength(3);
    for (const error of errors) expect(error).toMatchObject({ code: 'ERR_INVALID_MESSAGE' });
  });

  it('refuses messages from a node outside the group, reported by the election', async () => {
    sim = await cluster(7, bully());
    const before = agreement(sim);
    const stranger = sim.network.transport('mallory');
    await stranger.start();
    stranger.addPeer('n3', sim.network.addressOf('n3'));
    const refused = expect(
      stranger.request('n3', 'bully.coordinator', { leader: 'n1', term: 1_000 }),
    ).rejects.toMatchObject({ remoteCode: 'ERR_INVALID_MESSAGE' });
    await sim.runFor(10);
    await refused;
    expect(agreement(sim)).toEqual(before);
    expect(sim.history.events('node:error', 'n3').map((e) => e.data)).toEqual([
      {
        node: 'n3',
        component: 'bully-election',
        code: 'ERR_INVALID_MESSAGE',
        message: 'bully.coordinator from mallory, who is not in the election group',
      },
    ]);
    await stranger.stop();
  });

  it('elects within a group that is a subset of the cluster', async () => {
    sim = new Simulation({
      seed: 8,
      nodes: 5,
      plugins: (id) =>
        ['n1', 'n2', 'n3'].includes(id)
          ? [heartbeat({ members: ['n1', 'n2', 'n3'] }), bully({ group: ['n1', 'n2', 'n3'] })]
          : [],
      conditions: FAST_LINKS,
    });
    await sim.start();
    await sim.runFor(300);
    for (const id of ['n1', 'n2', 'n3']) expect(electionOf(sim, id).leader).toBe('n3');
  });

  it('refuses options that are not durations', () => {
    const parts = {} as ConstructorParameters<typeof BullyElection>[0];
    expect(
      () => new BullyElection({ ...parts, self: 'a', members: ['a'] }, { answerTimeoutMs: 0 }),
    ).toThrow(RangeError);
    expect(
      () => new BullyElection({ ...parts, self: 'a', members: ['a'] }, { deferMs: -1 }),
    ).toThrow(RangeError);
  });
});
