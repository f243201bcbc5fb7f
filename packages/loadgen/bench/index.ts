import { fork } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import type { BenchResult } from '@medals/core/testing';
import { benchQuick, benchResult, writeBenchResults } from '@medals/core/testing';
import { CpuMeter, pinProcess, runLoad } from '../src';
import type { LoadResult } from '../src';
import { runWrk, wrkInstalled } from './wrk';
import type { WrkRun } from './wrk';

/**
 * Calibration of the load generator against wrk (DESIGN.md section 6), in
 * the same run, on the same plain node:http server in its own process:
 *
 * - `loadgen.calibration.throughput`: our throughput at 10 connections over
 *   wrk's (one thread against one worker), goal ≥ 0.9;
 * - `loadgen.calibration.latency`: our mean latency at 1 connection over
 *   wrk's, goal ≤ 1.1. Both sides' means come from Little's law
 *   (connections × duration / requests: the time per request, the
 *   generator's own turnaround included), because wrk's reported mean is
 *   not trustworthy (see parseWrkReport); our reported mean, which leaves
 *   our turnaround out, is printed beside;
 * - `loadgen.generator.cpu-per-request`: our CPU µs per request at 10
 *   connections, wrk's beside it;
 * - `loadgen.plain-server.cpu-per-request`: the server's CPU µs per request
 *   under our load, under wrk's beside it (the generator must not change
 *   what it measures).
 *
 * Rounds alternate which generator goes first; medians are reported.
 * Nothing is pinned: that is the headline. With `MEDALS_BENCH_PIN=1`, or
 * when an unpinned goal is missed, the rounds are run again with the
 * generator (ours or wrk) on CPU 0 and the server on the others, and
 * recorded beside as `*.pinned`.
 */
const quick = benchQuick();
/** Many short rounds, each pair back to back: on a shared machine, conditions drift within seconds. */
const rounds = quick ? 3 : 8;
const seconds = quick ? 1 : 3;
const warmupMs = 500;
const THROUGHPUT_GOAL = 0.9;
const LATENCY_GOAL = 1.1;

interface Placement {
  /** Suffix of the figures' names: `''` unpinned, `'.pinned'` pinned. */
  readonly suffix: string;
  /** CPUs of the generator (ours or wrk), or undefined when unpinned. */
  readonly generator?: string;
  readonly server?: string;
}

async function startPlainServer(): Promise<{ url: string; pid: number; stop(): void }> {
  const child = fork(join(__dirname, 'plain-server.js'), [], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    execArgv: [],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (message: { port: number }) => resolve(message.port));
    child.once('exit', () => reject(new Error('the plain server exited before it listened')));
  });
  return {
    url: `http://127.0.0.1:${port}/getMedalTally/Gaul`,
    pid: child.pid as number,
    stop: () => child.disconnect(),
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

interface Sample {
  readonly throughput: number;
  /** By Little's law: connections × duration / requests. */
  readonly meanMs: number;
  /** As the generator reports it. */
  readonly reportedMeanMs: number;
  /** Generator CPU µs per request. */
  readonly generatorUs: number;
  /** Server CPU µs per request. */
  readonly serverUs: number;
}

async function ours(
  url: string,
  serverPid: number,
  connections: number,
  placement: Placement,
): Promise<Sample> {
  const path = new URL(url).pathname;
  const result: LoadResult = await runLoad({
    url,
    requests: [{ method: 'GET', path }],
    connections,
    durationMs: seconds * 1000,
    warmupMs,
    cpus: placement.generator,
    serverPids: [serverPid],
    failOnErrors: true,
  });
  const [server] = result.servers ?? [];
  return {
    throughput: result.throughput,
    meanMs: (connections * result.durationMs) / result.count,
    reportedMeanMs: result.latency.mean,
    generatorUs: result.generator.cpuUsPerRequest,
    serverUs: server.usPerRequest,
  };
}

async function wrk(
  url: string,
  serverPid: number,
  connections: number,
  placement: Placement,
): Promise<Sample> {
  const meter = CpuMeter.start([serverPid]);
  const run: WrkRun = await runWrk(url, connections, seconds, placement.generator);
  const [server] = meter.stop(run.requests);
  return {
    throughput: run.throughput,
    meanMs: (connections * run.durationMs) / run.requests,
    reportedMeanMs: run.reportedMeanMs,
    generatorUs: (run.cpuMs * 1000) / run.requests,
    serverUs: server.usPerRequest,
  };
}

async function calibrate(placement: Placement): Promise<BenchResult[]> {
  const server = await startPlainServer();
  try {
    if (placement.server !== undefined) pinProcess(server.pid, placement.server);
    // wrk has no warm-up of its own: give the server one before the first round.
    await runWrk(server.url, 10, 1, placement.generator);
    const samples = {
      ours10: [] as Sample[],
      wrk10: [] as Sample[],
      ours1: [] as Sample[],
      wrk1: [] as Sample[],
    };
    for (let round = 0; round < rounds; round++) {
      const oursFirst = round % 2 === 0;
      for (const connections of [10, 1]) {
        const pair = [
          async () =>
            (connections === 10 ? samples.ours10 : samples.ours1).push(
              await ours(server.url, server.pid, connections, placement),
            ),
          async () =>
            (connections === 10 ? samples.wrk10 : samples.wrk1).push(
              await wrk(server.url, server.pid, connections, placement),
            ),
        ];
        for (const run of oursFirst ? pair : pair.reverse()) await run();
      }
      const last = (list: Sample[]): Sample => list[list.length - 1];
      console.log(
        `round ${round + 1}/${rounds}${placement.suffix}: ` +
          `10 connections ${last(samples.ours10).throughput.toFixed(0)} req/s (wrk ${last(samples.wrk10).throughput.toFixed(0)}), ` +
          `1 connection mean ${last(samples.ours1).meanMs.toFixed(3)} ms (wrk ${last(samples.wrk1).meanMs.toFixed(3)}); ` +
          `as reported: ours ${last(samples.ours1).reportedMeanMs.toFixed(3)} ms, wrk ${last(samples.wrk1).reportedMeanMs.toFixed(3)} ms`,
      );
    }
    const med = (list: Sample[], key: keyof Sample): number => median(list.map((s) => s[key]));
    const s = placement.suffix;
    return [
      benchResult(
        `loadgen.calibration.throughput${s}`,
        'req/s',
        med(samples.ours10, 'throughput'),
        false,
        {
          name: `wrk.c10${s}`,
          value: med(samples.wrk10, 'throughput'),
        },
      ),
      benchResult(`loadgen.calibration.latency${s}`, 'ms', med(samples.ours1, 'meanMs'), true, {
        name: `wrk.c1.mean${s}`,
        value: med(samples.wrk1, 'meanMs'),
      }),
      benchResult(
        `loadgen.generator.cpu-per-request${s}`,
        'us',
        med(samples.ours10, 'generatorUs'),
        true,
        {
          name: `wrk.c10.cpu-per-request${s}`,
          value: med(samples.wrk10, 'generatorUs'),
        },
      ),
      benchResult(
        `loadgen.plain-server.cpu-per-request${s}`,
        'us',
        med(samples.ours10, 'serverUs'),
        true,
        {
          name: `plain-server.under-wrk.cpu-per-request${s}`,
          value: med(samples.wrk10, 'serverUs'),
        },
      ),
    ];
  } finally {
    server.stop();
  }
}

/** Says whether the two calibration goals are met, and returns whether both are. */
function report(results: BenchResult[], suffix: string): boolean {
  const ratio = (name: string): number =>
    results.find((r) => r.name === `loadgen.calibration.${name}${suffix}`)?.ratio ?? NaN;
  const throughput = ratio('throughput');
  const latency = ratio('latency');
  const met = throughput >= THROUGHPUT_GOAL && latency <= LATENCY_GOAL;
  const place = suffix === '' ? 'unpinned' : 'pinned';
  console.log(
    `calibration (${place}): throughput ${throughput} of wrk's (goal ≥ ${THROUGHPUT_GOAL}), ` +
      `mean latency ${latency} of wrk's (goal ≤ ${LATENCY_GOAL}): ${met ? 'met' : 'MISSED'}`,
  );
  return met;
}

async function main(): Promise<void> {
  if (!wrkInstalled()) {
    console.log(
      'wrk is not installed (apt-get install wrk): the load generator calibration against wrk is SKIPPED',
    );
    writeBenchResults('loadgen', [
      benchResult('loadgen.calibration.skipped', 'wrk missing', 1, true),
    ]);
    return;
  }
  const results = await calibrate({ suffix: '' });
  const unpinnedMet = report(results, '');
  const cpus = availableParallelism();
  if (
    (process.env.MEDALS_BENCH_PIN === '1' || !unpinnedMet) &&
    cpus >= 2 &&
    process.platform === 'linux'
  ) {
    const pinned = await calibrate({
      suffix: '.pinned',
      generator: '0',
      server: cpus === 2 ? '1' : `1-${cpus - 1}`,
    });
    report(pinned, '.pinned');
    results.push(...pinned);
  }
  writeBenchResults('loadgen', results);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
