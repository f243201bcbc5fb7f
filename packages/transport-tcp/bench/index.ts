import { performance } from 'node:perf_hooks';
import type { Codec } from '@medals/core';
import { JsonCodec, SuperjsonCodec } from '@medals/core';
import type { BenchResult } from '@medals/core/testing';
import { benchQuick, benchResult, writeBenchResults } from '@medals/core/testing';
import type { TcpTransportOptions } from '../src';
import { TcpTransport, tlsFiles } from '../src';
import { TestCertificates } from '../test/helpers/certificates';
import { multicastFigures } from './multicast';
import { RawEchoClient, startRawEchoServer } from './raw-echo';

/** Something that sends one request and resolves with its reply. */
type Requester = (payload: unknown) => Promise<unknown>;

const IN_FLIGHT = 64;
const quick = benchQuick();
const ROUNDS = quick ? 3 : 5;
const SEQUENTIAL_REQUESTS = quick ? 3_000 : 15_000;
const PIPELINED_REQUESTS = quick ? 30_000 : 150_000;
const SECRET = 'the cluster secret of the benchmark, long and random enough';
/** Issue 13's goals for authenticated links, as ratios to the raw socket: at most this much slower one at a time… */
const AUTHENTICATED_SEQUENTIAL_GOAL = 1.3;
/** …and at least this much of its throughput pipelined. */
const AUTHENTICATED_PIPELINED_GOAL = 0.9;

/** A figure with a goal on its ratio to the baseline, and whether this run met it. */
interface GoalResult extends BenchResult {
  goal: { maxRatio: number; met: boolean } | { minRatio: number; met: boolean };
}

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
  options: Partial<TcpTransportOptions> = {},
): Promise<{ request: Requester; close: () => Promise<void> }> {
  const a = new TcpTransport({ nodeId: 'a', codec, ...options });
  const b = new TcpTransport({ nodeId: 'b', codec, ...options });
  b.handle('echo', (payload: unknown) => payload);
  await Promise.all([a.start(), b.start()]);
  a.addPeer('b', b.address);
  b.addPeer('a', a.address);
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

/** `result` with a goal on its ratio: at most `maxRatio` when lower is better, else at least `minRatio`. */
function withGoal(result: BenchResult, bound: number): GoalResult {
  const ratio = result.ratio!;
  const goal = result.lowerIsBetter
    ? { maxRatio: bound, met: ratio <= bound }
    : { minRatio: bound, met: ratio >= bound };
  console.log(
    `${result.name}: ratio ${ratio} (goal ${result.lowerIsBetter ? '≤' : '≥'} ${bound}: ${goal.met ? 'met' : 'missed'})`,
  );
  return { ...result, goal };
}

async function main(): Promise<void> {
  const certificates = new TestCertificates();
  certificates.authority('ca');
  const tls = tlsFiles(certificates.issue('node', 'ca'));
  const contenders = {
    raw: await rawPair(),
    json: await transportPair(new JsonCodec()),
    superjson: await transportPair(new SuperjsonCodec()),
    authenticated: await transportPair(new JsonCodec(), { secret: SECRET }),
    tls: await transportPair(new JsonCodec(), { secret: SECRET, tls }),
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
    const plainSequential = { name: 'tcp.request.sequential', value: sequential.json! };
    const plainPipelined = { name: 'tcp.request.pipelined', value: pipelined.json! };
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
      // JSON codec, cluster secret: pair-key handshake and a MAC on every frame.
      withGoal(
        benchResult(
          'tcp.request.sequential.authenticated',
          'us',
          sequential.authenticated!,
          true,
          rawSequential,
        ),
        AUTHENTICATED_SEQUENTIAL_GOAL,
      ),
      withGoal(
        benchResult(
          'tcp.request.pipelined.authenticated',
          'req/s',
          pipelined.authenticated!,
          false,
          rawPipelined,
        ),
        AUTHENTICATED_PIPELINED_GOAL,
      ),
      // What authentication itself costs: the same figures against the unauthenticated transport.
      benchResult(
        'tcp.request.sequential.authenticated.vs-plain',
        'us',
        sequential.authenticated!,
        true,
        plainSequential,
      ),
      benchResult(
        'tcp.request.pipelined.authenticated.vs-plain',
        'req/s',
        pipelined.authenticated!,
        false,
        plainPipelined,
      ),
      // JSON codec, cluster secret, and TLS 1.3 around it (mutual certificates): no goal.
      benchResult('tcp.request.sequential.tls', 'us', sequential.tls!, true, rawSequential),
      benchResult('tcp.request.pipelined.tls', 'req/s', pipelined.tls!, false, rawPipelined),
    ];
    results.push(...(await multicastFigures()));
    writeBenchResults('transport-tcp', results);
  } finally {
    await Promise.all(Object.values(contenders).map((contender) => contender.close()));
    certificates.remove();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
