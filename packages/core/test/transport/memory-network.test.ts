import type { LinkConditions, MemoryNetworkOptions, MemoryTransport, NodeId } from '@medals/core';
import {
  EncodeError,
  MemoryNetwork,
  sampleLatency,
  SeededRandom,
  TimeoutError,
  TransportClosedError,
  validateConditions,
  VirtualScheduler,
} from '@medals/core';

/** What a receiver saw: sender, receiver, payload and virtual time of arrival. */
interface Arrival {
  from: NodeId;
  to: NodeId;
  payload: unknown;
  at: number;
}

interface Cluster {
  scheduler: VirtualScheduler;
  network: MemoryNetwork;
  nodes: Record<string, MemoryTransport>;
  arrivals: Arrival[];
  /** Payloads that reached `to`, in arrival order. */
  payloadsAt(to: NodeId): unknown[];
}

/**
 * Started transports on one network over virtual time, every pair introduced,
 * each recording `msg` arrivals and answering `echo` requests with their payload.
 */
async function cluster(
  ids: NodeId[],
  options: Omit<MemoryNetworkOptions, 'scheduler'> = {},
): Promise<Cluster> {
  const scheduler = new VirtualScheduler();
  const network = new MemoryNetwork({ scheduler, random: new SeededRandom(1), ...options });
  const arrivals: Arrival[] = [];
  const nodes: Record<string, MemoryTransport> = {};
  for (const id of ids) nodes[id] = network.transport(id);
  for (const id of ids) {
    const node = nodes[id]!;
    await node.start();
    for (const peer of ids) if (peer !== id) node.addPeer(peer, network.addressOf(peer));
    node.handle('msg', (payload, { from }) => {
      arrivals.push({ from, to: id, payload, at: scheduler.now() });
    });
    node.handle('echo', (payload) => payload);
  }
  return {
    scheduler,
    network,
    nodes,
    arrivals,
    payloadsAt: (to) => arrivals.filter((a) => a.to === to).map((a) => a.payload),
  };
}

/** Settles a promise into a record of how and when (in virtual time) it settled. */
function watch<T>(
  scheduler: VirtualScheduler,
  promise: Promise<T>,
): { settled?: { ok: boolean; value: unknown; at: number } } {
  const state: { settled?: { ok: boolean; value: unknown; at: number } } = {};
  promise.then(
    (value) => (state.settled = { ok: true, value, at: scheduler.now() }),
    (err: unknown) => (state.settled = { ok: false, value: err, at: scheduler.now() }),
  );
  return state;
}

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

describe('MemoryNetwork on the real scheduler', () => {
  it('keeps a link FIFO under jittered latency, though Node rounds timer delays', async () => {
    const network = new MemoryNetwork({
      random: new SeededRandom(3),
      conditions: { latency: { min: 0, max: 5 } },
    });
    const a = network.transport('a');
    const b = network.transport('b');
    await Promise.all([a.start(), b.start()]);
    a.addPeer('b', b.address);
    const got: number[] = [];
    const count = 600;
    const all = new Promise<void>((resolve) => {
      b.handle('msg', (n: number) => {
        if (got.push(n) === count) resolve();
      });
    });
    for (const i of range(count)) {
      a.send('b', 'msg', i);
      // Real milliseconds pass between bursts, so sends see different loop times.
      if (i % 10 === 9) await new Promise((resolve) => setTimeout(resolve, 1));
    }
    await all;
    await Promise.all([a.stop(), b.stop()]);
    expect(got).toEqual(range(count));
  });
});

describe('MemoryNetwork on virtual time', () => {
  describe('latency', () => {
    it('delays every message by exactly a fixed latency', async () => {
      const { scheduler, nodes, arrivals } = await cluster(['a', 'b'], {
        conditions: { latency: 25 },
      });
      await scheduler.advance(7);
      nodes.a!.send('b', 'msg', 'hello');
      await scheduler.advance(24);
      expect(arrivals).toEqual([]);
      await scheduler.advance(1);
      expect(arrivals).toEqual([{ from: 'a', to: 'b', payload: 'hello', at: 32 }]);
    });

    it('answers a request after one latency each way', async () => {
      const { scheduler, nodes } = await cluster(['a', 'b'], { conditions: { latency: 10 } });
      const reply = watch(scheduler, nodes.a!.request('b', 'echo', 'x'));
      await scheduler.runUntilIdle();
      expect(reply.settled).toEqual({ ok: true, value: 'x', at: 20 });
    });

    it('keeps a uniform latency within its bounds and spreads it across them', async () => {
      const { scheduler, nodes, arrivals } = await cluster(['a', 'b'], {
        conditions: { latency: { min: 5, max: 15 } },
      });
      // Spaced further apart than the largest latency, so FIFO never holds one back.
      for (const i of range(400)) {
        nodes.a!.send('b', 'msg', scheduler.now());
        if (i < 399) await scheduler.advance(20);
      }
      await scheduler.runUntilIdle();
      const delays = arrivals.map((a) => a.at - (a.payload as number));
      expect(delays).toHaveLength(400);
      expect(Math.min(...delays)).toBeGreaterThanOrEqual(5);
      expect(Math.max(...delays)).toBeLessThan(15);
      expect(Math.min(...delays)).toBeLessThan(6);
      expect(Math.max(...delays)).toBeGreaterThan(14);
    });

    it('keeps each link FIFO even when latency jitters', async () => {
      const { scheduler, nodes, payloadsAt } = await cluster(['a', 'b', 'c'], {
        conditions: { latency: { min: 1, max: 50 } },
      });
      for (const i of range(3_000)) {
        nodes.a!.send('b', 'msg', i);
        nodes.c!.send('b', 'msg', 10_000 + i);
        if (i % 3 === 0) await scheduler.advance(1);
      }
      await scheduler.runUntilIdle();
      const atB = payloadsAt('b') as number[];
      expect(atB.filter((n) => n < 10_000)).toEqual(range(3_000));
      expect(atB.filter((n) => n >= 10_000)).toEqual(range(3_000).map((i) => 10_000 + i));
      // The two links are independent: their messages interleave.
      expect(atB.slice(0, 3_000).some((n) => n >= 10_000)).toBe(true);
    });

    it('lets reordered messages overtake later ones, and still delivers all of them', async () => {
      const { scheduler, nodes, payloadsAt } = await cluster(['a', 'b'], {
        conditions: { latency: { min: 1, max: 3 }, reorder: 0.3, reorderWindowMs: 20 },
      });
      for (const i of range(200)) {
        nodes.a!.send('b', 'msg', i);
        await scheduler.advance(1);
      }
      await scheduler.runUntilIdle();
      const atB = payloadsAt('b') as number[];
      expect([...atB].sort((x, y) => x - y)).toEqual(range(200));
      const inversions = atB.filter((n, i) => i > 0 && n < atB[i - 1]!).length;
      expect(inversions).toBeGreaterThan(10);
    });
  });

  describe('loss', () => {
    it('drops everything at loss 1, and a request then times out at exactly its timeout', async () => {
      const { scheduler, network, nodes, arrivals } = await cluster(['a', 'b'], {
        conditions: { loss: 1, latency: 5 },
      });
      for (const i of range(50)) nodes.a!.send('b', 'msg', i);
      await scheduler.advance(3);
      const reply = watch(scheduler, nodes.a!.request('b', 'echo', 'x', { timeoutMs: 300 }));
      await scheduler.runUntilIdle();
      expect(arrivals).toEqual([]);
      expect(reply.settled?.ok).toBe(false);
      expect(reply.settled?.value).toBeInstanceOf(TimeoutError);
      expect(reply.settled?.at).toBe(303);
      expect(network.stats).toMatchObject({ sent: 51, delivered: 0, dropped: 51 });
    });

    it('times a request out after the network default when no timeout is given', async () => {
      const { scheduler, nodes } = await cluster(['a', 'b'], {
        conditions: { loss: 1 },
        requestTimeoutMs: 1_234,
      });
      const reply = watch(scheduler, nodes.a!.request('b', 'echo', 'x'));
      await scheduler.runUntilIdle();
      expect(reply.settled).toMatchObject({ ok: false, at: 1_234 });
      expect(reply.settled?.value).toBeInstanceOf(TimeoutError);
    });

    it('drops about 30% of messages at loss 0.3', async () => {
      const { scheduler, network, nodes, arrivals } = await cluster(['a', 'b'], {
        conditions: { loss: 0.3 },
      });
      for (const i of range(5_000)) nodes.a!.send('b', 'msg', i);
      await scheduler.runUntilIdle();
      const { dropped, delivered } = network.stats;
      expect(dropped + delivered).toBe(5_000);
      expect(dropped).toBeGreaterThan(5_000 * 0.27);
      expect(dropped).toBeLessThan(5_000 * 0.33);
      expect(arrivals).toHaveLength(delivered);
      // What gets through is still in order.
      const got = arrivals.map((a) => a.payload as number);
      expect(got).toEqual([...got].sort((x, y) => x - y));
    });
  });

  describe('duplication', () => {
    it('delivers every message twice at duplicate 1', async () => {
      const { scheduler, network, nodes, payloadsAt } = await cluster(['a', 'b'], {
        conditions: { duplicate: 1, latency: 2 },
      });
      nodes.a!.send('b', 'msg', 'p');
      nodes.a!.send('b', 'msg', 'q');
      await scheduler.runUntilIdle();
      expect(payloadsAt('b')).toEqual(['p', 'p', 'q', 'q']);
      expect(network.stats).toMatchObject({ sent: 2, delivered: 4, duplicated: 2, dropped: 0 });
    });

    it('settles each request once with its own reply when requests and replies are duplicated', async () => {
      const { scheduler, nodes } = await cluster(['a', 'b'], {
        conditions: { duplicate: 1, latency: { min: 1, max: 10 } },
      });
      let handled = 0;
      nodes.b!.handle('double', (n: number) => {
        handled++;
        return n * 2;
      });
      const resolutions: number[] = [];
      const replies = range(20).map((i) =>
        nodes.a!.request<number>('b', 'double', i).then((value) => {
          resolutions.push(value);
          return value;
        }),
      );
      await scheduler.runUntilIdle();
      expect(await Promise.all(replies)).toEqual(range(20).map((i) => i * 2));
      expect(handled).toBe(40);
      expect(resolutions).toHaveLength(20);
      // A late copy of a reply must not satisfy a later request with the same peer.
      const later = watch(scheduler, nodes.a!.request('b', 'double', 100));
      await scheduler.runUntilIdle();
      expect(later.settled).toMatchObject({ ok: true, value: 200 });
    });
  });

  it('lets other timers run between a message and the ones its handler sends on the same link', async () => {
    const { scheduler, network } = await cluster([]);
    const loop = network.transport('loop');
    await loop.start();
    loop.addPeer('self', loop.address);
    const seen: string[] = [];
    loop.handle('hop', (n: number) => {
      seen.push(`hop ${n}`);
      if (n < 3) loop.send('self', 'hop', n + 1);
    });
    loop.send('self', 'hop', 1);
    scheduler.setTimeout(() => seen.push('timer'), 0);
    await scheduler.runUntilIdle();
    expect(seen).toEqual(['hop 1', 'timer', 'hop 2', 'hop 3']);
  });

  it('keeps a link flowing after an error listener throws during a delivery', async () => {
    const { scheduler, nodes, payloadsAt } = await cluster(['a', 'b']);
    nodes.b!.on('error', () => {
      throw new Error('listener failed');
    });
    nodes.a!.send('b', 'unhandled type', 'boom');
    nodes.a!.send('b', 'msg', 'queued behind it');
    await expect(scheduler.runUntilIdle()).rejects.toThrow('listener failed');
    nodes.a!.send('b', 'msg', 'sent after');
    await scheduler.runUntilIdle();
    expect(payloadsAt('b')).toEqual(['queued behind it', 'sent after']);
  });

  describe('per-link conditions', () => {
    it('overrides the global conditions on a link, both ways', async () => {
      const { scheduler, network, nodes, arrivals } = await cluster(['a', 'b', 'c'], {
        conditions: { latency: 100 },
      });
      network.setLink('a', 'b', { latency: 5 });
      nodes.a!.send('b', 'msg', 'a-b');
      nodes.b!.send('a', 'msg', 'b-a');
      nodes.a!.send('c', 'msg', 'a-c');
      await scheduler.runUntilIdle();
      expect(arrivals.map((a) => [a.payload, a.at])).toEqual([
        ['a-b', 5],
        ['b-a', 5],
        ['a-c', 100],
      ]);
    });

    it('sets only one direction with oneWay', async () => {
      const { scheduler, network, nodes, arrivals } = await cluster(['a', 'b']);
      network.setLink('a', 'b', { loss: 1 }, { oneWay: true });
      nodes.a!.send('b', 'msg', 'a-b');
      nodes.b!.send('a', 'msg', 'b-a');
      await scheduler.runUntilIdle();
      expect(arrivals.map((a) => a.payload)).toEqual(['b-a']);
    });

    it('falls back to the global conditions after clearLinks', async () => {
      const { scheduler, network, nodes, arrivals } = await cluster(['a', 'b']);
      network.setLink('a', 'b', { loss: 1 });
      network.clearLinks();
      nodes.a!.send('b', 'msg', 'through');
      await scheduler.runUntilIdle();
      expect(arrivals.map((a) => a.payload)).toEqual(['through']);
    });

    it('applies new global conditions from setConditions', async () => {
      const { scheduler, network, nodes, arrivals } = await cluster(['a', 'b']);
      network.setConditions({ latency: 40 });
      nodes.a!.send('b', 'msg', 'slow');
      await scheduler.runUntilIdle();
      expect(arrivals).toMatchObject([{ payload: 'slow', at: 40 }]);
    });
  });

  describe('partitions', () => {
    it('blocks messages across groups, both ways, and heal restores them', async () => {
      const { scheduler, network, nodes, arrivals } = await cluster(['a', 'b', 'c']);
      network.partition(['a', 'b'], ['c']);
      expect(network.canReach('a', 'b')).toBe(true);
      expect(network.canReach('a', 'c')).toBe(false);
      nodes.a!.send('b', 'msg', 'a-b');
      nodes.a!.send('c', 'msg', 'a-c');
      nodes.c!.send('a', 'msg', 'c-a');
      await scheduler.runUntilIdle();
      expect(arrivals.map((a) => a.payload)).toEqual(['a-b']);
      network.heal();
      nodes.a!.send('c', 'msg', 'a-c after heal');
      nodes.c!.send('a', 'msg', 'c-a after heal');
      await scheduler.runUntilIdle();
      expect(arrivals.map((a) => a.payload)).toEqual(['a-b', 'a-c after heal', 'c-a after heal']);
    });

    it('drops messages already in flight when the partition starts', async () => {
      const { scheduler, network, nodes, arrivals } = await cluster(['a', 'b', 'c'], {
        conditions: { latency: 50 },
      });
      nodes.a!.send('c', 'msg', 'in flight across');
      nodes.a!.send('b', 'msg', 'in flight within');
      await scheduler.advance(10);
      network.partition(['a', 'b'], ['c']);
      await scheduler.runUntilIdle();
      expect(arrivals.map((a) => a.payload)).toEqual(['in flight within']);
      expect(network.stats.dropped).toBe(1);
    });

    it('makes a request across the partition time out', async () => {
      const { scheduler, network, nodes } = await cluster(['a', 'b']);
      network.partition(['a'], ['b']);
      const reply = watch(scheduler, nodes.a!.request('b', 'echo', 1, { timeoutMs: 500 }));
      await scheduler.runUntilIdle();
      expect(reply.settled).toMatchObject({ ok: false, at: 500 });
      expect(reply.settled?.value).toBeInstanceOf(TimeoutError);
    });

    it('puts the nodes named in no group together in one more group', async () => {
      const { scheduler, network, nodes, arrivals } = await cluster(['a', 'b', 'c', 'd']);
      network.partition(['a'], ['b']);
      expect(network.canReach('c', 'd')).toBe(true);
      expect(network.canReach('a', 'c')).toBe(false);
      expect(network.canReach('b', 'd')).toBe(false);
      nodes.c!.send('d', 'msg', 'c-d');
      nodes.a!.send('c', 'msg', 'a-c');
      nodes.d!.send('b', 'msg', 'd-b');
      await scheduler.runUntilIdle();
      expect(arrivals.map((a) => a.payload)).toEqual(['c-d']);
    });

    it('refuses a node named in two groups', async () => {
      const { network } = await cluster(['a', 'b']);
      expect(() => network.partition(['a', 'b'], ['b'])).toThrow(RangeError);
    });
  });

  describe('crash and restart', () => {
    it('stops a crashed node from handling anything and loses what it sends', async () => {
      const { scheduler, network, nodes, arrivals } = await cluster(['a', 'b', 'c']);
      network.crash('b');
      expect(network.isUp('b')).toBe(false);
      nodes.a!.send('b', 'msg', 'to b');
      nodes.b!.send('c', 'msg', 'from b');
      nodes.a!.send('c', 'msg', 'a-c');
      await scheduler.runUntilIdle();
      expect(arrivals.map((a) => a.payload)).toEqual(['a-c']);
    });

    it('loses messages that were in flight to or from a node when it crashes', async () => {
      const { scheduler, network, nodes, arrivals } = await cluster(['a', 'b'], {
        conditions: { latency: 30 },
      });
      nodes.a!.send('b', 'msg', 'to b');
      nodes.b!.send('a', 'msg', 'from b');
      await scheduler.advance(10);
      network.crash('b');
      await scheduler.runUntilIdle();
      expect(arrivals).toEqual([]);
    });

    it("rejects the crashed node's own pending requests with TransportClosedError", async () => {
      const { scheduler, network, nodes } = await cluster(['a', 'b'], {
        conditions: { latency: 100 },
      });
      const pending = watch(scheduler, nodes.b!.request('a', 'echo', 1, { timeoutMs: 5_000 }));
      await scheduler.advance(10);
      network.crash('b');
      await scheduler.advance(0);
      expect(pending.settled).toMatchObject({ ok: false, at: 10 });
      expect(pending.settled?.value).toBeInstanceOf(TransportClosedError);
    });

    it("lets others' requests to a crashed node time out", async () => {
      const { scheduler, network, nodes } = await cluster(['a', 'b']);
      network.crash('b');
      const reply = watch(scheduler, nodes.a!.request('b', 'echo', 1, { timeoutMs: 750 }));
      await scheduler.runUntilIdle();
      expect(reply.settled).toMatchObject({ ok: false, at: 750 });
      expect(reply.settled?.value).toBeInstanceOf(TimeoutError);
    });

    it('lets the same running transport receive again after restart', async () => {
      const { scheduler, network, nodes, arrivals } = await cluster(['a', 'b']);
      network.crash('b');
      nodes.a!.send('b', 'msg', 'while down');
      await scheduler.runUntilIdle();
      network.restart('b');
      expect(network.isUp('b')).toBe(true);
      expect(network.transport('b')).toBe(nodes.b);
      nodes.a!.send('b', 'msg', 'after restart');
      const reply = watch(scheduler, nodes.a!.request('b', 'echo', 'hi'));
      await scheduler.runUntilIdle();
      expect(arrivals.map((a) => a.payload)).toEqual(['after restart']);
      expect(reply.settled).toMatchObject({ ok: true, value: 'hi' });
    });
  });

  describe('stopped transports', () => {
    it('replaces a stopped transport with a fresh one that receives', async () => {
      const { scheduler, network, nodes } = await cluster(['a', 'b']);
      const old = nodes.b!;
      await old.stop();
      await expect(old.start()).rejects.toBeInstanceOf(TransportClosedError);
      const fresh = network.transport('b');
      expect(fresh).not.toBe(old);
      const got: unknown[] = [];
      fresh.handle('msg', (payload) => void got.push(payload));
      await fresh.start();
      nodes.a!.send('b', 'msg', 'to the new b');
      await scheduler.runUntilIdle();
      expect(got).toEqual(['to the new b']);
    });

    it('does not let a reply meant for a stopped transport answer a request of its successor', async () => {
      const { scheduler, network, nodes } = await cluster(['a', 'b'], {
        conditions: { latency: 10 },
      });
      const old = watch(scheduler, nodes.b!.request('a', 'echo', 'for the old b'));
      await scheduler.advance(15); // a has answered; its reply is on the wire
      await nodes.b!.stop();
      const fresh = network.transport('b');
      await fresh.start();
      fresh.addPeer('a', network.addressOf('a'));
      const answer = watch(scheduler, fresh.request('a', 'echo', 'for the new b'));
      await scheduler.runUntilIdle();
      expect(old.settled?.value).toBeInstanceOf(TransportClosedError);
      expect(answer.settled).toMatchObject({ ok: true, value: 'for the new b', at: 35 });
    });

    it('loses, and counts as dropped, the messages still in flight from a sender that stopped', async () => {
      const { scheduler, network, nodes, arrivals } = await cluster(['a', 'b'], {
        conditions: { latency: 20 },
      });
      nodes.a!.send('b', 'msg', 'first');
      await scheduler.advance(5);
      nodes.a!.send('b', 'msg', 'second');
      await nodes.a!.stop();
      await scheduler.runUntilIdle();
      expect(arrivals).toEqual([]);
      expect(network.stats).toMatchObject({ sent: 2, delivered: 0, dropped: 2 });
    });

    it('drops messages that arrive after their receiver stopped', async () => {
      const { scheduler, network, nodes, arrivals } = await cluster(['a', 'b'], {
        conditions: { latency: 20 },
      });
      nodes.a!.send('b', 'msg', 'late');
      await scheduler.advance(5);
      await nodes.b!.stop();
      await scheduler.runUntilIdle();
      expect(arrivals).toEqual([]);
      expect(network.stats).toMatchObject({ delivered: 0, dropped: 1 });
    });
  });

  describe('stats', () => {
    it('counts sent, delivered, dropped and duplicated envelopes, and sends by type', async () => {
      const { scheduler, network, nodes } = await cluster(['a', 'b', 'c']);
      for (const i of range(3)) nodes.a!.send('b', 'msg', i);
      const reply = watch(scheduler, nodes.a!.request('b', 'echo', 'x'));
      await scheduler.runUntilIdle();
      expect(reply.settled?.ok).toBe(true);
      network.setLink('a', 'c', { loss: 1 }, { oneWay: true });
      nodes.a!.send('c', 'msg', 'lost');
      network.setLink('a', 'b', { duplicate: 1 }, { oneWay: true });
      nodes.a!.send('b', 'ping', 'twice');
      await scheduler.runUntilIdle();
      expect(network.stats).toEqual({
        sent: 7,
        delivered: 7,
        dropped: 1,
        duplicated: 1,
        sentByType: { msg: 4, echo: 2, ping: 1 },
      });
    });

    it('hands out a copy of the counters and zeroes them on resetStats', async () => {
      const { scheduler, network, nodes } = await cluster(['a', 'b']);
      nodes.a!.send('b', 'msg', 1);
      await scheduler.runUntilIdle();
      const snapshot = network.stats;
      snapshot.sentByType.msg = 99;
      expect(network.stats.sentByType).toEqual({ msg: 1 });
      network.resetStats();
      expect(network.stats).toEqual({
        sent: 0,
        delivered: 0,
        dropped: 0,
        duplicated: 0,
        sentByType: {},
      });
      expect(snapshot.sent).toBe(1);
    });
  });

  describe('codec', () => {
    it('passes payloads by reference with codec: false', async () => {
      const { scheduler, nodes, arrivals } = await cluster(['a', 'b'], { codec: false });
      const payload = { list: [1, 2, 3], greet: () => 'functions survive too' };
      nodes.a!.send('b', 'msg', payload);
      await scheduler.runUntilIdle();
      expect(arrivals[0]!.payload).toBe(payload);
    });

    it('isolates receivers from later mutations by the sender with the default codec', async () => {
      const { scheduler, nodes, arrivals } = await cluster(['a', 'b'], {
        conditions: { latency: 10 },
      });
      const payload = { list: [1, 2, 3], when: new Date(0) };
      nodes.a!.send('b', 'msg', payload);
      payload.list.push(4);
      payload.when.setTime(1_000);
      await scheduler.runUntilIdle();
      const received = arrivals[0]!.payload as typeof payload;
      expect(received).not.toBe(payload);
      expect(received).toEqual({ list: [1, 2, 3], when: new Date(0) });
    });

    it('throws EncodeError from send, and rejects a request, for a payload it cannot encode', async () => {
      const { scheduler, network, nodes } = await cluster(['a', 'b']);
      const payload = { callback: () => undefined };
      expect(() => nodes.a!.send('b', 'msg', payload)).toThrow(EncodeError);
      await expect(nodes.a!.request('b', 'echo', payload)).rejects.toBeInstanceOf(EncodeError);
      await scheduler.runUntilIdle();
      expect(network.stats.sent).toBe(0);
    });
  });

  describe('replay', () => {
    const faulty: LinkConditions = {
      latency: { exponentialMean: 8 },
      loss: 0.2,
      duplicate: 0.1,
      reorder: 0.2,
    };

    async function trace(seed: number): Promise<string[]> {
      const { scheduler, nodes, arrivals } = await cluster(['a', 'b', 'c'], {
        random: new SeededRandom(seed),
        conditions: faulty,
      });
      for (const i of range(100)) {
        nodes.a!.send('b', 'msg', i);
        nodes.b!.send('c', 'msg', i);
        nodes.c!.send('a', 'msg', i);
        if (i % 10 === 0) await scheduler.advance(3);
      }
      await scheduler.runUntilIdle();
      return arrivals.map((a) => `${a.from}>${a.to}:${String(a.payload)}@${a.at.toFixed(6)}`);
    }

    it('delivers the same trace for the same seed', async () => {
      const first = await trace(7);
      expect(first.length).toBeGreaterThan(200);
      expect(await trace(7)).toEqual(first);
    });

    it('delivers a different trace for a different seed', async () => {
      expect(await trace(8)).not.toEqual(await trace(7));
    });
  });

  describe('latency models', () => {
    const stats = (xs: number[]): { mean: number; sd: number } => {
      const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
      return { mean, sd: Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length) };
    };

    it('draws exponential latency around its mean', () => {
      const random = new SeededRandom(5);
      const xs = range(20_000).map(() => sampleLatency({ exponentialMean: 10 }, random));
      expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
      expect(stats(xs).mean).toBeGreaterThan(9.6);
      expect(stats(xs).mean).toBeLessThan(10.4);
    });

    it('draws normal latency with its mean and deviation, cut at zero', () => {
      const random = new SeededRandom(5);
      const xs = range(20_000).map(() => sampleLatency({ mean: 20, stddev: 2 }, random));
      expect(stats(xs).mean).toBeCloseTo(20, 0);
      expect(stats(xs).sd).toBeGreaterThan(1.9);
      expect(stats(xs).sd).toBeLessThan(2.1);
      const near = range(2_000).map(() => sampleLatency({ mean: 0, stddev: 5 }, random));
      expect(Math.min(...near)).toBe(0);
      expect(near.filter((x) => x === 0).length).toBeGreaterThan(800);
    });

    it('calls a latency function with the seeded random, and never goes below zero', () => {
      const random = new SeededRandom(5);
      expect(sampleLatency((r) => (r === random ? 7 : -1), random)).toBe(7);
      expect(sampleLatency(() => -3, random)).toBe(0);
      expect(sampleLatency(-3, random)).toBe(0);
      expect(sampleLatency(undefined, random)).toBe(0);
    });
  });

  describe('validateConditions', () => {
    it.each<[string, LinkConditions]>([
      ['loss below 0', { loss: -0.1 }],
      ['loss above 1', { loss: 1.5 }],
      ['loss NaN', { loss: NaN }],
      ['duplicate above 1', { duplicate: 2 }],
      ['reorder below 0', { reorder: -1 }],
      ['a negative reorder window', { reorderWindowMs: -1 }],
    ])('rejects %s everywhere conditions are set', async (_what, conditions) => {
      expect(() => validateConditions(conditions)).toThrow(RangeError);
      expect(() => new MemoryNetwork({ conditions })).toThrow(RangeError);
      const { network } = await cluster(['a', 'b']);
      expect(() => network.setConditions(conditions)).toThrow(RangeError);
      expect(() => network.setLink('a', 'b', conditions)).toThrow(RangeError);
    });

    it('accepts probabilities of exactly 0 and 1', () => {
      expect(() => validateConditions({ loss: 0, duplicate: 1, reorder: 1 })).not.toThrow();
    });
  });
});

describe('latency settings', () => {
  it('refuses latencies that are NaN, negative or inverted', () => {
    expect(() => validateConditions({ latency: Number.NaN })).toThrow(RangeError);
    expect(() => validateConditions({ latency: -1 })).toThrow(RangeError);
    expect(() => validateConditions({ latency: { min: 5, max: 1 } })).toThrow(RangeError);
    expect(() =>
      validateConditions({ latency: { exponentialMean: Number.POSITIVE_INFINITY } }),
    ).toThrow(RangeError);
    expect(() => validateConditions({ latency: { mean: 3, stddev: Number.NaN } })).toThrow(
      RangeError,
    );
    expect(() => validateConditions({ latency: { min: 1, max: 1 } })).not.toThrow();
  });
});
