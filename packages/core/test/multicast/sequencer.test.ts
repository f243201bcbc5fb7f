import type { LinkConditions, NodeId, OrderedMulticast } from '@medals/core';
import { heartbeat, sequencerMulticast, Simulation, staticLeader, Tokens } from '@medals/core';
import { assertMulticastHistory, MulticastRecorder } from '@medals/core/testing';

const GROUP: readonly NodeId[] = ['n1', 'n2', 'n3'];

async function cluster(seed: number, conditions: LinkConditions = { latency: { min: 1, max: 5 } }) {
  // n4 is in the cluster but not in the multicast group; n2 is the sequencer.
  const sim = new Simulation({
    seed,
    nodes: [...GROUP, 'n4'],
    plugins: (id) =>
      GROUP.includes(id)
        ? [
            heartbeat({ members: [...GROUP] }),
            staticLeader('n2'),
            sequencerMulticast({ group: [...GROUP] }),
          ]
        : [],
    conditions,
  });
  await sim.start();
  const recorder = new MulticastRecorder<string>();
  const multicastOf = (id: NodeId) =>
    sim.node(id).resolve(Tokens.OrderedMulticast) as OrderedMulticast<string>;
  for (const id of GROUP) recorder.attach(id, multicastOf(id));
  const burst = async (round: number): Promise<void> => {
    for (let i = 0; i < 5; i++) {
      for (const id of GROUP) void recorder.multicast(id, multicastOf(id), `${id}/${round}/${i}`);
      await sim.runFor(2);
    }
  };
  const errors = (node: NodeId) =>
    sim.history
      .events('node:error', node)
      .map((e) => e.data as { component: string; code: string; message: string });
  return { sim, recorder, multicastOf, burst, errors };
}

describe('SequencerMulticast', () => {
  it('delivers in one order at every member under loss and reordering', async () => {
    const { sim, recorder, burst } = await cluster(1, {
      latency: { min: 1, max: 5 },
      loss: 0.1,
      duplicate: 0.1,
      reorder: 0.2,
    });
    await sim.runFor(100);
    await burst(1);
    await sim.runFor(1_000);
    assertMulticastHistory(recorder.history());
    for (const id of GROUP)
      expect(recorder.deliveredBy(id).map((d) => d.seq)).toEqual(
        Array.from({ length: 15 }, (_, i) => i + 1),
      );
    await sim.stop();
  });

  it('refuses to multicast from a node outside the group', async () => {
    const sim = new Simulation({
      seed: 2,
      nodes: ['n1', 'n2', 'db'],
      plugins: [heartbeat(), staticLeader('db'), sequencerMulticast({ group: ['n1', 'n2'] })],
    });
    await sim.start();
    const db = sim.node('db').resolve(Tokens.OrderedMulticast);
    await expect(db.multicast('x')).rejects.toThrow(/not a member/);
    expect(db.group).toEqual(['n1', 'n2']);
    await sim.stop();
  });

  it('drops a forged order from a node that is not the sequencer, with a node:error event', async () => {
    const { sim, recorder, burst, errors } = await cluster(3);
    await sim.runFor(100);
    await burst(1);
    const forged = {
      term: 1,
      epoch: 1,
      leaderStart: 1,
      stable: 0,
      commit: 16,
      first: 16,
      senders: ['n3'],
      senderSeqs: [6],
      payloads: ['forged'],
    };
    sim.node('n4').transport.send('n1', 'sequencer.order', forged);
    sim.node('n3').transport.send('n1', 'sequencer.order', forged);
    await burst(2);
    await sim.runFor(1_000);
    assertMulticastHistory(recorder.history());
    for (const id of GROUP) expect(recorder.deliveredBy(id)).toHaveLength(30);
    expect(recorder.deliveredBy('n1').map((d) => d.payload)).not.toContain('forged');
    expect(recorder.deliveredBy('n1').map((d) => d.payload)).not.toContain(
      'from outside the group',
    );
    const refused = errors('n1').filter((e) => e.component === 'sequencer-multicast');
    expect(refused.map((e) => e.message).sort()).toEqual([
      'sequencer.order from n3 for term 1, whose sequencer is n2',
      'sequencer.order from n4 for term 1, whose sequencer is n2',
    ]);
    expect(refused.every((e) => e.code === 'ERR_INVALID_MESSAGE')).toBe(true);
    await sim.stop();
  });

  it('refuses an entry numbered far beyond the window, even from the sequencer, keeping the rest of the order', async () => {
    const { sim, recorder, burst, errors } = await cluster(4);
    await sim.runFor(100);
    await burst(1);
    await sim.runFor(200);
    sim.node('n2').transport.send('n1', 'sequencer.order', {
      term: 1,
      epoch: 1,
      leaderStart: 1,
      stable: 0,
      commit: 0,
      first: 1_000_000,
      senders: ['n3'],
      senderSeqs: [1_000],
      payloads: ['far'],
    });
    sim.node('n2').transport.send('n1', 'sequencer.order', {
      term: 1,
      epoch: 1,
      leaderStart: 1,
      stable: 0,
      commit: 0,
      first: 17,
      senders: ['n4'],
      senderSeqs: [1],
      payloads: ['from outside the group'],
    });
    sim.node('n2').transport.send('n1', 'sequencer.sync', {
      term: 1,
      epoch: 1,
      leaderStart: 1,
      head: 5_000_000,
      stable: 0,
      commit: 0,
    });
    await burst(2);
    await sim.runFor(1_000);
    assertMulticastHistory(recorder.history());
    for (const id of GROUP) expect(recorder.deliveredBy(id)).toHaveLength(30);
    const messages = errors('n1').map((e) => e.message);
    expect(messages).toEqual([
      expect.stringMatching(/refused entry 1000000/),
      expect.stringMatching(/refused entry 17 \(sender n4\)/),
      expect.stringMatching(/announces head 5000000/),
    ]);
    await sim.stop();
  });

  it('drops submissions and acknowledgements with absurd numbers or from outside the group', async () => {
    const { sim, recorder, burst, errors } = await cluster(5);
    await sim.runFor(100);
    await burst(1);
    await sim.runFor(200);
    sim.node('n1').transport.send('n2', 'sequencer.submit', {
      term: 1,
      incarnation: 1,
      first: 1_000_000,
      payloads: ['far ahead'],
    });
    sim.node('n4').transport.send('n2', 'sequencer.submit', {
      term: 1,
      incarnation: 1,
      first: 1,
      payloads: ['outsider'],
    });
    sim.node('n3').transport.send('n2', 'sequencer.ack', {
      term: 1,
      epoch: 1,
      leaderStart: 1,
      stored: 999_999,
      delivered: 0,
    });
    const outsiderFetch = sim
      .node('n4')
      .transport.request('n2', 'sequencer.fetch', { term: 1, epoch: 1, from: 1, to: 5 });
    await burst(2);
    await expect(outsiderFetch).rejects.toThrow(/not a replica/);
    await sim.runFor(1_000);
    assertMulticastHistory(recorder.history());
    for (const id of GROUP) expect(recorder.deliveredBy(id)).toHaveLength(30);
    const messages = errors('n2').map((e) => e.message);
    expect(messages).toHaveLength(4);
    expect(messages).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/n1 submitted senderSeq 1000000/),
        expect.stringMatching(/sequencer.submit from n4, who is not a group member/),
        expect.stringMatching(/n3 claims to hold 999999 entries/),
        expect.stringMatching(/sequencer.fetch from n4, who is not a replica/),
      ]),
    );
    await sim.stop();
  });

  it('drops payloads of the wrong shape with a node:error event, changing nothing', async () => {
    const { sim, recorder, burst, errors } = await cluster(6);
    await sim.runFor(100);
    await burst(1);
    const bad: unknown[] = [
      { term: 1, stable: 0, first: 0, senders: ['n3'], senderSeqs: [1], payloads: [1] },
      { term: 1, stable: 0, first: 3, senders: ['n3', 'n1'], senderSeqs: [1], payloads: [] },
      { term: 'one', first: 1, payloads: [] },
      { term: 1, from: 5, to: 2 },
    ];
    for (const payload of bad) {
      for (const type of ['sequencer.order', 'sequencer.submit', 'sequencer.fetch']) {
        sim.node('n2').transport.send('n1', type, payload);
      }
    }
    await burst(2);
    await sim.runFor(1_000);
    assertMulticastHistory(recorder.history());
    for (const id of GROUP) expect(recorder.deliveredBy(id)).toHaveLength(30);
    const invalid = errors('n1').filter((e) => e.code === 'ERR_INVALID_MESSAGE');
    expect(invalid).toHaveLength(12);
    await sim.stop();
  });
});
