import type { NodeId, OrderedMulticast, Plugin } from '@medals/core';
import {
  FifoReceiveWindow,
  HoldBackQueue,
  NoQuorumError,
  Simulation,
  Tokens,
  heartbeat,
  lamportMulticast,
} from '@medals/core';
import type { LamportMulticastOptions } from '@medals/core';
import { MulticastRecorder, assertMulticastHistory } from '@medals/core/testing';

const GROUP: readonly NodeId[] = ['n1', 'n2', 'n3'];

interface Setup {
  seed?: number;
  nodes?: readonly NodeId[];
  detector?: boolean;
  options?: LamportMulticastOptions;
}

async function setup({ seed = 1, nodes = GROUP, detector = true, options = {} }: Setup = {}) {
  const plugins = (id: NodeId): Plugin[] =>
    GROUP.includes(id)
      ? [
          ...(detector ? [heartbeat({ intervalMs: 20, timeoutMs: 200, members: GROUP })] : []),
          lamportMulticast({ ...options, group: GROUP }),
        ]
      : [];
  const sim = new Simulation({ seed, nodes, plugins, conditions: { latency: 1 } });
  await sim.start();
  // The members make their incarnations known to each other before multicasting.
  await sim.runFor(20);
  const multicastOf = (id: NodeId) =>
    sim.node(id).resolve(Tokens.OrderedMulticast) as OrderedMulticast<string>;
  const recorder = new MulticastRecorder<string>();
  for (const id of GROUP) recorder.attach(id, multicastOf(id));
  return { sim, multicastOf, recorder };
}

function lamportErrors(sim: Simulation, node: NodeId) {
  return sim.history
    .events('node:error', node)
    .map((e) => e.data as { component: string; code: string; message: string });
}

describe('LamportMulticast', () => {
  let sims: Simulation[] = [];
  afterEach(async () => {
    for (const sim of sims) await sim.stop();
    sims = [];
  });
  const start = async (config?: Setup) => {
    const s = await setup(config);
    sims.push(s.sim);
    return s;
  };

  it('costs at most 2N network messages for a lone multicast in a group of 3', async () => {
    const { sim, multicastOf, recorder } = await start({ detector: false });
    sim.network.resetStats();
    await recorder.multicast('n1', multicastOf('n1'), 'alone');
    await sim.runFor(200);
    for (const id of GROUP) expect(recorder.deliveredBy(id)).toHaveLength(1);
    expect(sim.network.stats.sent).toBeLessThanOrEqual(6);
  });

  it('batches and piggybacks acknowledgements when every member multicasts', async () => {
    const { sim, multicastOf, recorder } = await start({ detector: false });
    sim.network.resetStats();
    for (let i = 0; i < 50; i++) {
      for (const id of GROUP) void recorder.multicast(id, multicastOf(id), `${id}-${i}`);
      await sim.runFor(1);
    }
    await sim.runFor(500);
    assertMulticastHistory(recorder.history());
    for (const id of GROUP) expect(recorder.deliveredBy(id)).toHaveLength(150);
    expect(sim.network.stats.sent / 150).toBeLessThanOrEqual(2 * GROUP.length);
  });

  it('sets no timers once everything is delivered', async () => {
    const { sim, multicastOf, recorder } = await start({ detector: false });
    await recorder.multicast('n2', multicastOf('n2'), 'x');
    await sim.runFor(500);
    for (const id of GROUP) expect(sim.node(id).scheduler.pending).toBe(0);
  });

  it('drops forged and absurd messages with a node:error event and keeps the order', async () => {
    const { sim, multicastOf, recorder } = await start({
      detector: false,
      nodes: [...GROUP, 'n4'],
    });
    // A genuine message of n1 to tamper with.
    const sent: { type: string; payload: Record<string, unknown> }[] = [];
    const transport = sim.node('n1').transport;
    const send = transport.send.bind(transport);
    transport.send = (peer, type, payload) => {
      sent.push({ type, payload: payload as Record<string, unknown> });
      send(peer, type, payload);
    };
    await recorder.multicast('n1', multicastOf('n1'), 'first');
    await sim.runFor(50);
    transport.send = send;
    const genuine = sent.find((m) => m.type === 'lamport.data')!.payload;
    const ack = genuine.ack as { received: number[] };
    const [message] = genuine.messages as Record<string, unknown>[];
    const data = (changes: Record<string, unknown>) => ({
      ...genuine,
      messages: [{ ...message, ...changes }],
    });
    const forged: [NodeId, string, unknown, RegExp][] = [
      ['n4', 'lamport.data', data({ sender: 'n4' }), /n4 is not in the group/],
      ['n1', 'lamport.data', data({ sender: 'n9' }), /n9 is not in the group/],
      ['n1', 'lamport.data', data({ senderSeq: 2, ts: 10 ** 12 }), /far ahead/],
      ['n1', 'lamport.data', data({ senderSeq: 50_000, ts: 50 }), /far ahead of the 1 received/],
      ['n1', 'lamport.data', data({ sender: 'n3' }), /whom it has not excluded/],
      ['n1', 'lamport.data', data({ senderSeq: 2, ts: 1 }), /not after/],
      ['n1', 'lamport.ack', { ...ack, received: [1, 99, 0] }, /at most 0 can exist/],
      ['n1', 'lamport.ack', { ...ack, clock: 10 ** 12 }, /far ahead/],
      ['n1', 'lamport.ack', { ...ack, excluded: ['n9'] }, /not in the group/],
      ['n1', 'lamport.data', { ...genuine, ack: { ...ack, received: [1, 0] } }, /./],
      ['n1', 'lamport.data', data({ ts: -1 }), /./],
      ['n1', 'lamport.data', { ...genuine, messages: [] }, /./],
      ['n1', 'lamport.ack', { nonsense: true }, /./],
    ];
    for (const [from, type, payload, reason] of forged) {
      const before = lamportErrors(sim, 'n2').length;
      sim.node(from).transport.send('n2', type, payload);
      await sim.runFor(5);
      const errors = lamportErrors(sim, 'n2').slice(before);
      expect(errors).toHaveLength(1);
      expect(errors[0]!.code).toBe('ERR_INVALID_MESSAGE');
      expect(errors[0]!.message).toMatch(reason);
    }
    expect(multicastOf('n2').deliveredCount).toBe(1);
    for (const id of GROUP) await recorder.multicast(id, multicastOf(id), `after-${id}`);
    await sim.runFor(200);
    assertMulticastHistory(recorder.history());
    for (const id of GROUP) expect(recorder.deliveredBy(id).map((d) => d.payload)).toHaveLength(4);
  });

  it('relays a crashed member’s message that only one survivor got, then goes on without it', async () => {
    const { sim, multicastOf, recorder } = await start({ seed: 3 });
    await sim.runFor(100);
    sim.network.setLink('n3', 'n2', { loss: 1 }, { oneWay: true });
    await recorder.multicast('n3', multicastOf('n3'), 'last words');
    await sim.runFor(5);
    await sim.crash('n3');
    await recorder.multicast('n1', multicastOf('n1'), 'after the crash');
    await sim.runFor(100);
    // n2 lacks n3's message, and nobody has heard from n3 past it: nothing may be delivered yet.
    expect(recorder.deliveredBy('n1')).toHaveLength(0);
    await sim.runFor(1_000);
    for (const id of ['n1', 'n2']) {
      expect(recorder.deliveredBy(id).map((d) => d.payload)).toEqual([
        'last words',
        'after the crash',
      ]);
      const changes = sim.history.events('viewChanged', id).map((e) => e.data);
      expect(changes).toEqual([{ node: id, group: ['n1', 'n2'], removed: ['n3'], added: [] }]);
    }
    assertMulticastHistory(recorder.history(['n1', 'n2']));
  });

  it('stops delivering on the minority side of a partition, refuses new multicasts there, and takes that side back after the heal', async () => {
    const { sim, multicastOf, recorder } = await start({ seed: 5 });
    sim.partition(['n1'], ['n2', 'n3']);
    // Taken before n1 notices it is alone: delivered once it is back, never lost.
    await recorder.multicast('n1', multicastOf('n1'), 'alone');
    await recorder.multicast('n2', multicastOf('n2'), 'majority');
    await sim.runFor(1_000);
    expect(recorder.deliveredBy('n1')).toHaveLength(0);
    expect(recorder.deliveredBy('n3').map((d) => d.payload)).toEqual(['majority']);
    await expect(multicastOf('n1').multicast('refused')).rejects.toBeInstanceOf(NoQuorumError);
    sim.heal();
    await sim.runFor(1_000);
    for (const id of GROUP) {
      expect(recorder.deliveredBy(id).map((d) => [d.seq, d.payload])).toEqual([
        [1, 'majority'],
        [2, 'alone'],
      ]);
    }
    // n1 kept its state: it caught up by delivering what it missed, not by a state transfer.
    expect(sim.history.events('stateTransferred', 'n1')).toHaveLength(0);
    assertMulticastHistory(recorder.history());
  });

  it('refuses at once, with NoQuorumError, what a minority is asked to multicast, and holds at most maxInFlight', async () => {
    const members = ['n1', 'n2', 'n3', 'n4', 'n5'];
    const sim = new Simulation({
      seed: 8,
      nodes: members,
      plugins: [
        heartbeat({ intervalMs: 20, timeoutMs: 200 }),
        lamportMulticast({ maxInFlight: 100 }),
      ],
      conditions: { latency: 1 },
    });
    sims.push(sim);
    await sim.start();
    await sim.runFor(20);
    const n1 = sim.node('n1').resolve(Tokens.OrderedMulticast) as OrderedMulticast<number>;
    sim.partition(['n1', 'n2'], ['n3', 'n4', 'n5']);
    const outcomes = new Map<string, number>();
    const count = (key: string) => outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
    const attempt = (i: number) =>
      n1.multicast(i).then(
        () => count('taken'),
        (err: { code?: string }) => count(err.code ?? 'other'),
      );
    // Before the failure detector speaks, n1 takes what its window allows and no more.
    for (let i = 0; i < 3_000; i++) void attempt(i);
    await sim.runFor(1_000);
    expect(outcomes.get('taken')).toBe(100);
    expect(outcomes.get('ERR_BACKPRESSURE')).toBe(2_800);
    // The 100 that waited are refused once n1 sees it is in a minority; so is whatever comes next.
    expect(outcomes.get('ERR_NO_QUORUM')).toBe(100);
    for (let i = 0; i < 10_000; i++) void attempt(i);
    await sim.runFor(1);
    expect(outcomes.get('ERR_NO_QUORUM')).toBe(10_100);
    expect(n1.deliveredCount).toBe(0);
    const majority = sim.node('n3').resolve(Tokens.OrderedMulticast) as OrderedMulticast<number>;
    await majority.multicast(-1);
    await sim.runFor(500);
    expect(majority.deliveredCount).toBe(1);
  });

  it('stops a group of two while one member is away, and resumes when it is back', async () => {
    const sim = new Simulation({
      seed: 6,
      nodes: ['a', 'b'],
      plugins: [heartbeat({ intervalMs: 20, timeoutMs: 200 }), lamportMulticast()],
      conditions: { latency: 1 },
    });
    sims.push(sim);
    await sim.start();
    await sim.runFor(20);
    await sim.crash('b');
    await sim.runFor(500);
    const a = sim.node('a').resolve(Tokens.OrderedMulticast) as OrderedMulticast<string>;
    await expect(a.multicast('alone')).rejects.toBeInstanceOf(NoQuorumError);
    await sim.restart('b');
    await sim.runFor(500);
    await a.multicast('together');
    await sim.runFor(100);
    const b = sim.node('b').resolve(Tokens.OrderedMulticast) as OrderedMulticast<string>;
    expect(a.deliveredCount).toBe(1);
    expect(b.deliveredCount).toBe(1);
  });

  it.each([
    ['b', 50],
    ['b', 500],
    ['a', 50],
    ['a', 500],
  ])(
    'takes back a member of a group of two (%s, down %i ms: before or after the survivor suspects it) with messages in flight, and both deliver the same',
    async (victim, downMs) => {
      const survivor = victim === 'a' ? 'b' : 'a';
      const sim = new Simulation({
        seed: 9,
        nodes: ['a', 'b'],
        plugins: [heartbeat({ intervalMs: 20, timeoutMs: 200 }), lamportMulticast()],
        conditions: { latency: 1 },
      });
      sims.push(sim);
      await sim.start();
      await sim.runFor(20);
      const of = (id: NodeId) =>
        sim.node(id).resolve(Tokens.OrderedMulticast) as OrderedMulticast<string>;
      const recorder = new MulticastRecorder<string>();
      recorder.attach('a', of('a'));
      recorder.attach('b', of('b'));
      await recorder.multicast(survivor, of(survivor), 'before');
      await recorder.multicast(victim, of(victim), 'before too');
      await sim.runFor(10);
      await recorder.multicast(survivor, of(survivor), 'in flight');
      await sim.crash(victim);
      await sim.runFor(downMs);
      await sim.restart(victim);
      const back = `${victim}#2`;
      recorder.attach(back, of(victim));
      // Well within mergeAfterMs: the restarted member learns at once that it must rejoin.
      await sim.runFor(500);
      await recorder.multicast(survivor, of(survivor), 'from the survivor');
      await recorder.multicast(victim, of(victim), 'from the restarted', back);
      await sim.runFor(300);
      const delivered = recorder.deliveredBy(survivor);
      expect(delivered.map((d) => d.payload)).toEqual(
        expect.arrayContaining([
          'before',
          'before too',
          'in flight',
          'from the survivor',
          'from the restarted',
        ]),
      );
      const joinedAt = (sim.history.events('stateTransferred', victim)[0]?.data as { seq: number })
        .seq;
      expect(recorder.deliveredBy(back)).toEqual(delivered.filter((d) => d.seq > joinedAt));
      assertMulticastHistory({
        ...recorder.history([survivor, back]),
        joinedAt: { [back]: joinedAt },
      });
    },
  );

  // The restarted n3 does not vouch for its state; n1 and n2 each suspect the other as the
  // partition heals, so no view keeps a majority and the group re-forms by a merge.
  it('re-forms the group when a partition heals as the failure detector’s timeout runs out and no member is in a majority view', async () => {
    const run = async (mergeAfterMs: number) => {
      const { sim, multicastOf, recorder } = await start({ seed: 2, options: { mergeAfterMs } });
      await recorder.multicast('n1', multicastOf('n1'), 'first');
      await sim.runFor(100);
      await sim.crash('n3');
      await sim.runFor(400);
      await sim.restart('n3');
      recorder.attach('n3#2', multicastOf('n3'));
      await sim.runFor(1);
      sim.partition(['n1'], ['n2', 'n3']);
      await recorder.multicast('n2', multicastOf('n2'), 'cut off');
      await sim.runFor(190);
      sim.heal();
      await sim.runFor(2_500);
      return { sim, multicastOf, recorder };
    };
    // Without a merge (one that would come too late to matter), the group stays stopped.
    const stuck = await run(1e9);
    await expect(stuck.multicastOf('n2').multicast('refused')).rejects.toBeInstanceOf(
      NoQuorumError,
    );
    const { sim, multicastOf, recorder } = await run(1_000);
    await recorder.multicast('n1', multicastOf('n1'), 'after');
    await recorder.multicast('n3', multicastOf('n3'), 'restarted', 'n3#2');
    await sim.runFor(300);
    const n1 = recorder.deliveredBy('n1').map((d) => d.payload);
    expect(n1).toEqual(['first', 'cut off', 'after', 'restarted']);
    expect(recorder.deliveredBy('n2').map((d) => d.payload)).toEqual(n1);
    const joinedAt = (sim.history.events('stateTransferred', 'n3')[0]?.data as { seq: number }).seq;
    expect(recorder.deliveredBy('n3#2').map((d) => d.payload)).toEqual(n1.slice(joinedAt));
    assertMulticastHistory({
      ...recorder.history(['n1', 'n2', 'n3#2']),
      joinedAt: { 'n3#2': joinedAt },
    });
  });

  // n3 delivers n2's message and crashes before n2 hears that it may deliver it too; n1, cut
  // off, holds a message of its own that sorts before it. Merging n1 and n2 must start from
  // n2's state (the later proven view), or position 2 would hold two different messages.
  it('starts a merged view from the member that saw the latest proven view, keeping what a crashed member delivered', async () => {
    const { sim, multicastOf, recorder } = await start({ seed: 3 });
    await recorder.multicast('n1', multicastOf('n1'), 'first');
    await sim.runFor(100);
    sim.partition(['n1'], ['n2', 'n3']);
    await recorder.multicast('n1', multicastOf('n1'), 'cut off');
    await sim.runFor(400);
    await recorder.multicast('n2', multicastOf('n2'), 'seen by n3');
    await sim.runFor(1.5);
    expect(recorder.deliveredBy('n3').map((d) => d.payload)).toEqual(['first', 'seen by n3']);
    expect(recorder.deliveredBy('n2').map((d) => d.payload)).toEqual(['first']);
    await sim.crash('n3');
    await sim.runFor(400);
    sim.heal();
    await sim.runFor(300);
    await sim.restart('n3');
    recorder.attach('n3#2', multicastOf('n3'));
    await sim.runFor(2_500);
    await recorder.multicast('n2', multicastOf('n2'), 'after');
    await sim.runFor(300);
    const n2 = recorder.deliveredBy('n2').map((d) => d.payload);
    expect(n2).toEqual(['first', 'seen by n3', 'cut off', 'after']);
    expect(recorder.deliveredBy('n1').map((d) => d.payload)).toEqual(n2);
    const joinedAt = (sim.history.events('stateTransferred', 'n3')[0]?.data as { seq: number }).seq;
    assertMulticastHistory({
      ...recorder.history(['n1', 'n2', 'n3#2']),
      joinedAt: { 'n3#2': joinedAt },
    });
  });

  it('takes a restarted member back with the registered state; its positions continue the group’s and its ids are new', async () => {
    const { sim, multicastOf, recorder } = await start({ seed: 4 });
    const logs = new Map<NodeId, string[]>();
    const track = (id: NodeId) => {
      const log: string[] = [];
      logs.set(id, log);
      const multicast = multicastOf(id);
      multicast.registerState('log', {
        snapshot: () => [...log],
        restore: (snapshot) => void log.splice(0, log.length, ...(snapshot as string[])),
      });
      multicast.onDeliver((d) => log.push(d.payload));
    };
    for (const id of GROUP) track(id);
    for (let i = 1; i <= 2; i++) {
      for (const id of GROUP) await recorder.multicast(id, multicastOf(id), `${id}-${i}`);
    }
    await sim.runFor(100);
    await sim.crash('n3');
    await sim.runFor(500);
    await recorder.multicast('n1', multicastOf('n1'), 'while n3 is down');
    await sim.runFor(100);
    await sim.restart('n3');
    // The new incarnation registers its state as the application would at start.
    track('n3');
    recorder.attach('n3#2', multicastOf('n3'));
    await sim.runFor(300);
    const transfers = sim.history.events('stateTransferred', 'n3').map((e) => e.data);
    expect(transfers).toEqual([
      { node: 'n3', from: expect.stringMatching(/^n[12]$/), seq: 7, states: ['log'] },
    ]);
    expect(logs.get('n3')).toEqual(logs.get('n1'));
    const receipt = await recorder.multicast('n3', multicastOf('n3'), 'back', 'n3#2');
    expect(receipt.senderSeq).toBeGreaterThan(2);
    await recorder.multicast('n2', multicastOf('n2'), 'welcome');
    await sim.runFor(300);
    const rejoined = recorder.deliveredBy('n3#2').map((d) => [d.seq, d.payload]);
    expect(rejoined.map(([seq]) => seq)).toEqual([8, 9]);
    expect(rejoined.map(([, payload]) => payload).sort()).toEqual(['back', 'welcome']);
    expect(
      recorder
        .deliveredBy('n1')
        .slice(7)
        .map((d) => [d.seq, d.payload]),
    ).toEqual(rejoined);
    expect(logs.get('n3')).toEqual(logs.get('n1'));
    assertMulticastHistory({ ...recorder.history(['n1', 'n2', 'n3#2']), joinedAt: { 'n3#2': 7 } });
  });

  it('makes multicast wait while maxInFlight messages are unacknowledged', async () => {
    const { sim, multicastOf } = await start({ detector: false, options: { maxInFlight: 2 } });
    await sim.crash('n3');
    const multicast = multicastOf('n1');
    const settled: string[] = [];
    for (const label of ['a', 'b', 'c']) {
      multicast.multicast(label).then(
        () => settled.push(`${label} taken`),
        () => settled.push(`${label} refused`),
      );
    }
    await sim.runFor(500);
    expect(settled).toEqual(['a taken', 'b taken']);
    await sim.node('n1').stop();
    await sim.runFor(1);
    expect(settled).toEqual(['a taken', 'b taken', 'c refused']);
  });

  it('keeps the order when a listener multicasts from inside a delivery', async () => {
    const { sim, multicastOf, recorder } = await start({ detector: false });
    const n2 = multicastOf('n2');
    n2.onDeliver((d) => {
      if (d.sender === 'n1') void recorder.multicast('n2', n2, `echo ${d.payload}`);
    });
    for (let i = 0; i < 5; i++) void recorder.multicast('n1', multicastOf('n1'), `m${i}`);
    await sim.runFor(500);
    assertMulticastHistory(recorder.history());
    expect(recorder.deliveredBy('n3')).toHaveLength(10);
  });
});

describe('HoldBackQueue', () => {
  it('yields messages by timestamp, ties broken by sender', () => {
    const queue = new HoldBackQueue<{ ts: number; sender: string }>();
    for (const [ts, sender] of [
      [3, 'b'],
      [1, 'c'],
      [3, 'a'],
      [2, 'a'],
      [1, 'b'],
    ] as const) {
      queue.push({ ts, sender });
    }
    const out: string[] = [];
    while (queue.size > 0) {
      const m = queue.shift()!;
      out.push(`${m.ts}${m.sender}`);
    }
    expect(out).toEqual(['1b', '1c', '2a', '3a', '3b']);
    expect(queue.head).toBeUndefined();
  });
});

describe('FifoReceiveWindow', () => {
  it('releases in order, drops duplicates and refuses numbers too far ahead', () => {
    const window = new FifoReceiveWindow<string>(3);
    expect(window.offer(2, 'two')).toBe('accepted');
    expect(window.next()).toBeUndefined();
    expect(window.offer(1, 'one')).toBe('accepted');
    expect(window.take()).toBe('one');
    expect(window.take()).toBe('two');
    expect(window.received).toBe(2);
    expect(window.offer(2, 'two again')).toBe('duplicate');
    expect(window.offer(6, 'six')).toBe('too-far');
    expect(window.offer(5, 'five')).toBe('accepted');
    expect(window.offer(5, 'five again')).toBe('duplicate');
    window.discardAfter(4);
    expect(window.waiting).toBe(0);
  });
});
