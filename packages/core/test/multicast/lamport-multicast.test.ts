import type { NodeId, OrderedMulticast, Plugin } from '@medals/core';
import {
  FifoReceiveWindow,
  HoldBackQueue,
  LifecycleError,
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

  it('stops delivering on the minority side of a partition, and that side is removed after the heal', async () => {
    const { sim, multicastOf, recorder } = await start({ seed: 5 });
    await sim.runFor(50);
    sim.partition(['n1'], ['n2', 'n3']);
    await recorder.multicast('n1', multicastOf('n1'), 'alone');
    await recorder.multicast('n2', multicastOf('n2'), 'majority');
    await sim.runFor(1_000);
    expect(recorder.deliveredBy('n1')).toHaveLength(0);
    expect(recorder.deliveredBy('n3').map((d) => d.payload)).toEqual(['majority']);
    sim.heal();
    await sim.runFor(1_000);
    expect(lamportErrors(sim, 'n1').map((e) => e.code)).toContain('ERR_REMOVED');
    expect(recorder.deliveredBy('n1')).toHaveLength(0);
    assertMulticastHistory(recorder.history(['n2', 'n3']));
  });

  it('goes on alone in a group of two after the other member crashes', async () => {
    const sim = new Simulation({
      seed: 6,
      nodes: ['a', 'b'],
      plugins: [heartbeat({ intervalMs: 20, timeoutMs: 200 }), lamportMulticast()],
      conditions: { latency: 1 },
    });
    sims.push(sim);
    await sim.start();
    await sim.crash('b');
    const a = sim.node('a').resolve(Tokens.OrderedMulticast) as OrderedMulticast<string>;
    await a.multicast('still here');
    await sim.runFor(1_000);
    expect(a.deliveredCount).toBe(1);
  });

  it('keeps a restarted member out of the group', async () => {
    const { sim, multicastOf, recorder } = await start({ seed: 4 });
    await sim.runFor(50);
    await sim.crash('n3');
    await sim.runFor(500);
    await sim.restart('n3');
    const reborn = multicastOf('n3');
    await reborn.multicast('hello again');
    await sim.runFor(100);
    expect(sim.history.events('viewChanged', 'n3').map((e) => e.data)).toEqual([
      { node: 'n3', group: [], removed: ['n3'], added: [] },
    ]);
    expect(lamportErrors(sim, 'n3').map((e) => e.code)).toContain('ERR_REMOVED');
    await expect(reborn.multicast('again')).rejects.toBeInstanceOf(LifecycleError);
    expect(reborn.deliveredCount).toBe(0);
    await recorder.multicast('n2', multicastOf('n2'), 'still going');
    await sim.runFor(100);
    expect(recorder.deliveredBy('n1').map((d) => d.payload)).toEqual(['still going']);
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
