import { derivePeerKeys, JsonCodec } from '@medals/core';
import type { BenchResult } from '@medals/core/testing';
import { benchQuick, benchResult, writeBenchResults } from '@medals/core/testing';
import type { HttpOptions } from '../src';
import { HttpTransport } from '../src';
import { PlainHttpEcho } from './plain-http';

/**
 * Request and reply over HttpTransport against a plain node:http server and
 * keep-alive client answering the same JSON bodies, and over HttpTransport
 * with authentication (pair keys: every message and every answer signed and
 * checked) against HttpTransport without it, for what authentication costs.
 * The contenders run in alternating rounds, and each figure is the median of
 * its rounds, so all see the same machine conditions.
 */

type Call = (payload: unknown) => Promise<unknown>;

const quick = benchQuick();
const ROUNDS = quick ? 5 : 15;
const SEQUENTIAL = quick ? 2_000 : 5_000;
const PIPELINED = quick ? 10_000 : 30_000;
const IN_FLIGHT = 64;
const WARM_UP = 3_000;

function payload(n: number): unknown {
  return { n, event: 'Stone Curling', scores: { Gaul: n % 7, Rome: n % 5 }, authId: 'cacofonix' };
}

/** Microseconds per request with one in flight. */
async function sequential(call: Call, count: number): Promise<number> {
  const start = process.hrtime.bigint();
  for (let n = 0; n < count; n++) await call(payload(n));
  return Number(process.hrtime.bigint() - start) / 1e3 / count;
}

/** Requests per second with `inFlight` at once. */
async function pipelined(call: Call, count: number, inFlight: number): Promise<number> {
  let next = 0;
  const start = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < count) await call(payload(next++));
    }),
  );
  return count / (Number(process.hrtime.bigint() - start) / 1e9);
}

function median(values: number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Runs `measure` on each contender in alternating rounds; medians by contender name. */
async function alternate(
  contenders: Record<string, Call>,
  measure: (call: Call) => Promise<number>,
): Promise<Record<string, number>> {
  const samples: Record<string, number[]> = {};
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, call] of Object.entries(contenders))
      (samples[name] ??= []).push(await measure(call));
  }
  return Object.fromEntries(
    Object.entries(samples).map(([name, values]) => [name, median(values)]),
  );
}

const BENCH_SECRET = 'bench secret';

async function transportPair(authenticated: boolean): Promise<[HttpTransport, HttpTransport]> {
  const codec = new JsonCodec();
  const keys = (self: string): HttpOptions =>
    authenticated ? { peerKeys: derivePeerKeys(BENCH_SECRET, self, ['a', 'b']) } : {};
  const a = new HttpTransport({ nodeId: 'a', codec, ...keys('a') });
  const b = new HttpTransport({ nodeId: 'b', codec, ...keys('b') });
  await Promise.all([a.start(), b.start()]);
  a.addPeer('b', b.address);
  b.handle('echo', (p: unknown) => p);
  return [a, b];
}

async function main(): Promise<void> {
  const plain = new PlainHttpEcho();
  await plain.start();
  const [a, b] = await transportPair(false);
  const [authA, authB] = await transportPair(true);
  const contenders: Record<string, Call> = {
    plain: (p) => plain.request(p),
    transport: (p) => a.request('b', 'echo', p),
    authenticated: (p) => authA.request('b', 'echo', p),
  };
  try {
    for (const call of Object.values(contenders)) await pipelined(call, WARM_UP, IN_FLIGHT);
    const seq = await alternate(contenders, (call) => sequential(call, SEQUENTIAL));
    const pipe = await alternate(contenders, (call) => pipelined(call, PIPELINED, IN_FLIGHT));
    const seqBaseline = { name: 'node:http keep-alive, 1 in flight', value: seq.plain! };
    const pipeBaseline = {
      name: `node:http keep-alive, ${IN_FLIGHT} in flight`,
      value: pipe.plain!,
    };
    const seqUnauthenticated = {
      name: 'HttpTransport without authentication, 1 in flight',
      value: seq.transport!,
    };
    const pipeUnauthenticated = {
      name: `HttpTransport without authentication, ${IN_FLIGHT} in flight`,
      value: pipe.transport!,
    };
    const results: BenchResult[] = [
      benchResult('http.request.sequential', 'us', seq.transport!, true, seqBaseline),
      benchResult('http.request.pipelined', 'req/s', pipe.transport!, false, pipeBaseline),
      benchResult(
        'http.request.sequential.authenticated',
        'us',
        seq.authenticated!,
        true,
        seqUnauthenticated,
      ),
      benchResult(
        'http.request.pipelined.authenticated',
        'req/s',
        pipe.authenticated!,
        false,
        pipeUnauthenticated,
      ),
    ];
    writeBenchResults('transport-http', results);
  } finally {
    await Promise.all([a.stop(), b.stop(), authA.stop(), authB.stop(), plain.stop()]);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
