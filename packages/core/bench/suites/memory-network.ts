import { performance } from 'node:perf_hooks';
import type { BenchResult } from '../../src/testing/bench';
import { benchQuick, benchResult } from '../../src/testing/bench';
import { SeededRandom } from '../../src/time';
import type { MemoryTransport } from '../../src/transport';
import { MemoryNetwork } from '../../src/transport';
import type { BenchSuite } from '../suite';

/** A small node-to-node message in the JSON data model. */
const message = {
  type: 'deliver',
  sender: 'fe2',
  lamport: 1234,
  payload: { event: 'Stone Curling', team: 'Gaul', medal: 'gold' },
};

interface Pair {
  a: MemoryTransport;
  b: MemoryTransport;
  stop(): Promise<void>;
}

/** Two started nodes on a fresh zero-latency network over the real scheduler. */
async function pair(codec: boolean): Promise<Pair> {
  const network = new MemoryNetwork({
    random: new SeededRandom(1),
    ...(codec ? {} : { codec: false as const }),
  });
  const a = network.transport('a');
  const b = network.transport('b');
  await Promise.all([a.start(), b.start()]);
  a.addPeer('b', b.address);
  b.addPeer('a', a.address);
  return { a, b, stop: async () => void (await Promise.all([a.stop(), b.stop()])) };
}

/** Messages per second: `count` one-way sends, timed until the receiver has had them all. */
async function sendRate(codec: boolean, count: number): Promise<number> {
  const { a, b, stop } = await pair(codec);
  let received = 0;
  const all = new Promise<void>((resolve) => {
    b.handle('deliver', () => {
      if (++received === count) resolve();
    });
  });
  const start = performance.now();
  for (let i = 0; i < count; i++) a.send('b', 'deliver', message);
  await all;
  const seconds = (performance.now() - start) / 1_000;
  await stop();
  return count / seconds;
}

/** Requests per second with `inFlight` requests outstanding at all times. */
async function requestRate(count: number, inFlight: number): Promise<number> {
  const { a, b, stop } = await pair(true);
  b.handle('deliver', (payload) => payload);
  let issued = 0;
  const worker = async (): Promise<void> => {
    while (issued < count) {
      issued++;
      await a.request('b', 'deliver', message);
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: inFlight }, worker));
  const seconds = (performance.now() - start) / 1_000;
  await stop();
  return count / seconds;
}

function median(values: number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/**
 * Throughput of the in-memory network between two nodes, zero latency, real
 * scheduler. `memory-network.send` uses the default codec (SuperjsonCodec)
 * and is compared with the same sends passing payloads by reference, so the
 * ratio is the codec's share of the cost.
 */
export const memoryNetworkSuite: BenchSuite = {
  name: 'memory-network',
  async run(): Promise<BenchResult[]> {
    const quick = benchQuick();
    const messages = quick ? 50_000 : 200_000;
    const requests = quick ? 20_000 : 100_000;
    const runs = quick ? 3 : 5;
    // Warmed up, then interleaved, so both figures see the same machine conditions.
    const encoded: number[] = [];
    const byReference: number[] = [];
    await sendRate(true, messages);
    await sendRate(false, messages);
    for (let i = 0; i < runs; i++) {
      encoded.push(await sendRate(true, messages));
      byReference.push(await sendRate(false, messages));
    }
    await requestRate(requests, 64);
    const requestRates: number[] = [];
    for (let i = 0; i < runs; i++) requestRates.push(await requestRate(requests, 64));
    const send = median(encoded);
    const noCodec = median(byReference);
    const request = median(requestRates);
    return [
      benchResult('memory-network.send', 'msg/s', send, false, {
        name: 'memory-network.send.no-codec',
        value: noCodec,
      }),
      benchResult('memory-network.request', 'req/s', request, false),
    ];
  },
};
