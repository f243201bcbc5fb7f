import { performance } from 'node:perf_hooks';
import type { Codec } from '@medals/core';
import { JsonCodec, SuperjsonCodec } from '@medals/core';
import type { BenchResult } from '@medals/core/testing';
import { benchQuick, benchResult, writeBenchResults } from '@medals/core/testing';
import { TcpTransport } from '../src';
import { multicastFigures } from './multicast';
import { RawEchoClient, startRawEchoServer } from './raw-echo';

/** Something that sends one request and resolves with its reply. */
type Requester = (payload: unknown) => Promise<unknown>;

const IN_FLIGHT = 64;
const quick = benchQuick();
const ROUNDS = quick ? 3 : 5;
const SEQUENTIAL_REQUESTS = quick ? 3_000 : 15_000;
const PIPELINED_REQUESTS = quick ? 30_000 : 150_000;

/** A small node-to-node message, in the JSON data model so that both codecs and the baseline carry it. */
function message(seq: number): unknown {
  return { seq, from: 'fe1', event: 'Stone Curling', scores: { Rome: 3, Gaul: 5 }, final: false };
}

/** Microseconds per request with one request in flight at a time. */
async function sequentialMicros(request: Requester, count: number): Promise<number> {
  const start = performance.now();
  for (let i = 0; i < count; i += 1) await request(message(i));
  return ((performance.now() - start) * 1000) / count;
}

/** Requests per second with `IN_FLIGHT` requests outstanding at all times. */
async function pipelinedPerSecond(request: Requester, count: number): Promise<number> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) await request(message(next++));
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  return count / ((performance.now() - start) / 1000);
}

function median(values: number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Two transports in this process over loopback, `a` asking `b` to echo. */
async function transportPair(
  codec: Codec,
): Promise<{ request: Requester; close: () => Promise<void> }> {
  const a = new TcpTransport({ nodeId: 'a', codec });
  const b = new TcpTransport({ nodeId: 'b', codec });
  b.handle('echo', (payload: unknown) => payload);
  await Promise.all([a.start(), b.start()]);
  a.addPeer('b', b.address);
  return {
    request: (payload) => a.request('b', 'echo', payload),
    close: () => Promise.all([a.stop(), b.stop()]).then(() => undefined),
  };
}

async function rawPair(): Promise<{ request: Requester; close: () => Promise<void> }> {
  const { server, port } = await startRawEchoServer();
  const client = await RawEchoClient.connect(port);
  return {
    request: (payload) => client.request(payload),
    close: async () => {
      client.close();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/**
 * Runs each contender in turn, round after round, so that all see the same
 * machine conditions, and keeps each one's median.
 */
async function compare(
  contenders: Record<string, { request: Requester }>,
  measure: (request: Requester) => Promise<number>,
): Promise<Record<string, number>> {
  const samples: Record<string, number[]> = {};
  for (const name of Object.keys(contenders)) {
    await measure(contenders[name]!.request); // warm up
    samples[name] = [];
  }
  for (let round = 0; round < ROUNDS; round += 1) {
    for (const [name, contender] of Object.entries(contenders))
      samples[name]!.push(await measure(contender.request));
  }
  return Object.fromEntries(
    Object.entries(samples).map(([name, values]) => [name, median(values)]),
  );
}

async function main(): Promise<void> {
  const contenders = {
    raw: await rawPair(),
    json: await transportPair(new JsonCodec()),
    superjson: await transportPair(new SuperjsonCodec()),
  };
  try {
    console.log('# tcp.request.sequential');
    const sequential = await compare(contenders, (request) =>
      sequentialMicros(request, SEQUENTIAL_REQUESTS),
    );
    console.log('# tcp.request.pipelined');
    const pipelined = await compare(contenders, (request) =>
      pipelinedPerSecond(request, PIPELINED_REQUESTS),
    );
    const rawSequential = {
      name: 'raw net socket echo, same framing, JSON bodies',
      value: sequential.raw!,
    };
    const rawPipelined = {
      name: `raw net socket echo, same framing, JSON bodies, ${IN_FLIGHT} in flight`,
      value: pipelined.raw!,
    };
    const results: BenchResult[] = [
      benchResult('tcp.request.sequential', 'us', sequential.json!, true, rawSequential),
      benchResult('tcp.request.pipelined', 'req/s', pipelined.json!, false, rawPipelined),
      benchResult(
        'tcp.request.sequential.superjson',
        'us',
        sequential.superjson!,
        true,
        rawSequential,
      ),
      benchResult(
        'tcp.request.pipelined.superjson',
        'req/s',
        pipelined.superjson!,
        false,
        rawPipelined,
      ),
    ];
    results.push(...(await multicastFigures()));
    writeBenchResults('transport-tcp', results);
  } finally {
    await Promise.all(Object.values(contenders).map((contender) => contender.close()));
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
