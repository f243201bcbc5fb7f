import { availableParallelism } from 'node:os';
import type { BenchResult } from '@medals/core/testing';
import { benchQuick, benchResult, writeBenchResults } from '@medals/core/testing';
import { calibrateAgainstWrk, startPlainServer, wrkInstalled } from '../src';
import type { Calibration, CalibrationRound } from '../src';

/**
 * Calibration of the load generator against wrk (DESIGN.md section 6), in
 * the same run, on the same plain node:http server in its own process, by
 * the package's own `calibrateAgainstWrk`:
 *
 * - `loadgen.calibration.throughput`: our throughput at 10 connections over
 *   wrk's (one thread against one worker), goal ≥ 0.9;
 * - `loadgen.calibration.latency`: our mean latency at 1 connection over
 *   wrk's, goal ≤ 1.1, both by Little's law (our reported mean is printed
 *   beside);
 * - `loadgen.generator.cpu-per-request`: our CPU µs per request at 10
 *   connections, wrk's beside it;
 * - `loadgen.plain-server.cpu-per-request`: the server's CPU µs per request
 *   under our load, under wrk's beside it.
 *
 * Nothing is pinned: that is the headline. With `MEDALS_BENCH_PIN=1`, or
 * when an unpinned goal is missed, the rounds are run again with the
 * generator (ours or wrk) on CPU 0 and the server on the others, and
 * recorded beside as `*.pinned`.
 */
const quick = benchQuick();
/** Many short rounds, each pair back to back: on a shared machine, conditions drift within seconds. */
const rounds = quick ? 3 : 8;
const seconds = quick ? 1 : 3;

interface Placement {
  /** Suffix of the figures' names: `''` unpinned, `'.pinned'` pinned. */
  readonly suffix: string;
  /** CPUs of the generator (ours or wrk), or undefined when unpinned. */
  readonly generator?: string;
  readonly server?: string;
}

function logRound(round: CalibrationRound, index: number, suffix: string): void {
  const { tenConnections: ten, oneConnection: one } = round;
  console.log(
    `round ${index + 1}/${rounds}${suffix}: ` +
      `10 connections ${ten.ours.throughput.toFixed(0)} req/s (wrk ${ten.wrk.throughput.toFixed(0)}), ` +
      `1 connection mean ${one.ours.meanMs.toFixed(3)} ms (wrk ${one.wrk.meanMs.toFixed(3)}); ` +
      `as reported: ours ${one.ours.reportedMeanMs.toFixed(3)} ms, wrk ${one.wrk.reportedMeanMs.toFixed(3)} ms`,
  );
}

async function calibrate(placement: Placement): Promise<Calibration> {
  const server = await startPlainServer();
  try {
    return await calibrateAgainstWrk({
      url: server.url,
      serverPid: server.pid,
      rounds,
      seconds,
      warmupMs: 500,
      generatorCpus: placement.generator,
      serverCpus: placement.server,
      onRound: (round, index) => logRound(round, index, placement.suffix),
    });
  } finally {
    await server.stop();
  }
}

/** The calibration's figures under this bench's names. */
function benchResults(calibration: Calibration, suffix: string): BenchResult[] {
  const { throughput, latency, generatorCpuUsPerRequest, serverCpuUsPerRequest } = calibration;
  return [
    benchResult(`loadgen.calibration.throughput${suffix}`, 'req/s', throughput.ours, false, {
      name: `wrk.c10${suffix}`,
      value: throughput.wrk,
    }),
    benchResult(`loadgen.calibration.latency${suffix}`, 'ms', latency.ours, true, {
      name: `wrk.c1.mean${suffix}`,
      value: latency.wrk,
    }),
    benchResult(
      `loadgen.generator.cpu-per-request${suffix}`,
      'us',
      generatorCpuUsPerRequest.ours,
      true,
      { name: `wrk.c10.cpu-per-request${suffix}`, value: generatorCpuUsPerRequest.wrk },
    ),
    benchResult(
      `loadgen.plain-server.cpu-per-request${suffix}`,
      'us',
      serverCpuUsPerRequest.ours,
      true,
      { name: `plain-server.under-wrk.cpu-per-request${suffix}`, value: serverCpuUsPerRequest.wrk },
    ),
  ];
}

/** Says whether the two calibration goals are met. */
function report(calibration: Calibration, suffix: string): void {
  const { throughput, latency, goals, met } = calibration;
  console.log(
    `calibration (${suffix === '' ? 'unpinned' : 'pinned'}): ` +
      `throughput ${throughput.ratio.toFixed(4)} of wrk's (goal ≥ ${goals.throughput}), ` +
      `mean latency ${latency.ratio.toFixed(4)} of wrk's (goal ≤ ${goals.latency}); ` +
      `as reported ${latency.oursReported.toFixed(3)} ms, wrk ${latency.wrkReported.toFixed(3)} ms: ` +
      (met ? 'met' : 'MISSED'),
  );
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
  const unpinned = await calibrate({ suffix: '' });
  report(unpinned, '');
  const results = benchResults(unpinned, '');
  const cpus = availableParallelism();
  if (
    (process.env.MEDALS_BENCH_PIN === '1' || !unpinned.met) &&
    cpus >= 2 &&
    process.platform === 'linux'
  ) {
    const pinned = await calibrate({
      suffix: '.pinned',
      generator: '0',
      server: cpus === 2 ? '1' : `1-${cpus - 1}`,
    });
    report(pinned, '.pinned');
    results.push(...benchResults(pinned, '.pinned'));
  }
  writeBenchResults('loadgen', results);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
