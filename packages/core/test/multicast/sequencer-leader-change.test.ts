import type { NodeId, OrderedMulticast } from '@medals/core';
import { sequencerMulticast, Simulation, Tokens } from '@medals/core';
import { assertMulticastHistory, MulticastRecorder } from '@medals/core/testing';
import { AppointedLeaders, oracleMembership } from './sequencer-test-cluster';

const GROUP: readonly NodeId[] = ['n1', 'n2', 'n3'];
const LOSSY = { latency: { min: 1, max: 5 }, loss: 0.1, duplicate: 0.1, reorder: 0.2 };

async function cluster(options: {
  seed: number;
  leaders: AppointedLeaders;
  nodes?: readonly NodeId[];
  conditions?: typeof LOSSY;
}) {
  const sim: Simulation = new Simulation({
    seed: options.seed,
    nodes: options.nodes ?? GROUP,
    plugins: [
      oracleMembership((id) => !sim.isCrashed(id)),
      options.leaders.plugin(),
      sequencerMulticast({ group: [...GROUP] }),
    ],
    conditions: options.conditions ?? { latency: { min: 1, max: 5 } },
  });
  await sim.start();
  const recorder = new MulticastRecorder<string>();
  const multicastOf = (id: NodeId) =>
    sim.node(id).resolve(Tokens.OrderedMulticast) as OrderedMulticast<string>;
  for (const id of GROUP) recorder.attach(id, multicastOf(id));
  const send = (id: NodeId, text: string): void => {
    if (!sim.isCrashed(id))
      void recorder.multicast(id, multicastOf(id), text).catch(() => undefined);
  };
  return { sim, recorder, multicastOf, send };
}

describe('SequencerMulticast across leader changes', () => {
  it('continues the numbering with no gap and no repeat after the leader crashes', async () => {
    const leaders = new AppointedLeaders('n3');
    const { sim, recorder, send } = await cluster({ seed: 3, leaders, conditions: LOSSY });
    for (let i = 0; i < 30; i++) {
      for (const id of GROUP) send(id, `${id}/${i}`);
      await sim.runFor(2);
    }
    await sim.crash('n3');
    for (let i = 30; i < 40; i++) {
      for (const id of ['n1', 'n2']) send(id, `${id}/${i}`);
      await sim.runFor(2);
    }
    await sim.runFor(100);
    leaders.appoint('n2');
    for (let i = 40; i < 50; i++) {
      for (const id of ['n1', 'n2']) send(id, `${id}/${i}`);
      await sim.runFor(2);
    }
    sim.network.setConditions({ latency: { min: 1, max: 5 } });
    await sim.runFor(2_000);
    assertMulticastHistory(recorder.history(['n1', 'n2']));
    const seqs = recorder.deliveredBy('n1').map((d) => d.seq);
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));
    for (const id of ['n1', 'n2']) {
      const fromLive = recorder.deliveredBy(id).filter((d) => d.sender !== 'n3');
      expect(fromLive).toHaveLength(100);
    }
    await sim.stop();
  });

  it('refuses entries a deposed sequencer stamps after the new term took over', async () => {
    const leaders = new AppointedLeaders('db');
    const { sim, recorder, send } = await cluster({ seed: 4, leaders, nodes: [...GROUP, 'db'] });
    for (let i = 0; i < 5; i++) for (const id of GROUP) send(id, `${id}/${i}`);
    await sim.runFor(100);
    leaders.appointAt('n2', GROUP);
    await sim.runFor(100);
    // db missed the election and still believes it numbers term 1.
    const stale = {
      term: 1,
      epoch: 1,
      leaderStart: 1,
      stable: 0,
      commit: 16,
      first: 16,
      senders: ['n1'],
      senderSeqs: [6],
      payloads: ['stale'],
    };
    for (const id of GROUP) sim.node('db').transport.send(id, 'sequencer.order', stale);
    for (let i = 5; i < 10; i++) for (const id of GROUP) send(id, `${id}/${i}`);
    await sim.runFor(500);
    assertMulticastHistory(recorder.history(GROUP));
    for (const id of GROUP) {
      expect(recorder.deliveredBy(id)).toHaveLength(30);
      expect(recorder.deliveredBy(id).map((d) => d.payload)).not.toContain('stale');
    }
    // A deposed leader is not a forger: its stale stamps are dropped quietly.
    expect(sim.history.events('node:error')).toHaveLength(0);
    await sim.stop();
  });

  it('sequences from a node outside the group, and fails over to a member', async () => {
    const leaders = new AppointedLeaders('db');
    const { sim, recorder, send } = await cluster({
      seed: 5,
      leaders,
      nodes: [...GROUP, 'db'],
      conditions: LOSSY,
    });
    for (let i = 0; i < 20; i++) {
      for (const id of GROUP) send(id, `${id}/${i}`);
      await sim.runFor(3);
    }
    await sim.crash('db');
    await sim.runFor(150);
    leaders.appoint('n3');
    for (let i = 20; i < 30; i++) {
      for (const id of GROUP) send(id, `${id}/${i}`);
      await sim.runFor(3);
    }
    sim.network.setConditions({ latency: { min: 1, max: 5 } });
    await sim.runFor(2_000);
    assertMulticastHistory(recorder.history(GROUP));
    for (const id of GROUP) expect(recorder.deliveredBy(id)).toHaveLength(90);
    expect(sim.history.events('delivered', 'db')).toHaveLength(0);
    await sim.stop();
  });

  it('lets a restarted member rejoin and continue its own numbering', async () => {
    const leaders = new AppointedLeaders('n3');
    const { sim, recorder, multicastOf } = await cluster({ seed: 6, leaders });
    for (let i = 0; i < 5; i++) void recorder.multicast('n1', multicastOf('n1'), `n1/${i}`);
    await sim.runFor(200);
    expect(recorder.deliveredBy('n2')).toHaveLength(5);
    await sim.crash('n1');
    await sim.runFor(300);
    await sim.restart('n1');
    const reborn = multicastOf('n1');
    const receipt = reborn.multicast('n1/again');
    await sim.runFor(500);
    await expect(receipt).resolves.toEqual({ id: 'n1:6', senderSeq: 6 });
    const seen: string[] = [];
    reborn.onDeliver((d) => seen.push(d.id));
    void multicastOf('n2').multicast('n2/after');
    await sim.runFor(500);
    expect(seen).toContain('n2:1');
    expect(recorder.deliveredBy('n2').map((d) => d.id)).toContain('n1:6');
    await sim.stop();
  });
});
