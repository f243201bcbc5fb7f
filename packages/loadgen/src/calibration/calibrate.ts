import { pinProcess, readCpuAffinity } from '../cpu-affinity';
import { CpuMeter } from '../process-cpu';
import { runLoad } from '../run-load';
import { runWrk } from './wrk';

/**
 * What the load generator must achieve against wrk, ours over wrk's:
 * throughput at 10 connections at least 0.9 of wrk's, mean latency at one
 * connection at most 1.1 times wrk's.
 */
export const CALIBRATION_GOALS = {
  /** Our throughput at least this fraction of wrk's. */
  throughput: 0.9,
  /** Our mean latency at most this multiple of wrk's. */
  latency: 1.1,
} as const;

/** A calibration against wrk: see {@link calibrateAgainstWrk}. */
export interface CalibrationOptions {
  /**
   * What to GET: an `http://` URL of a server that answers every request
   * the same, such as {@link startPlainServer}'s.
   */
  readonly url: string;
  /** The server's process, whose CPU time per request is measured under each generator. */
  readonly serverPid: number;
  /**
   * Rounds: in each, both generators run at 10 connections, then both at
   * one, back to back, which goes first alternating from round to round.
   * Medians over the rounds are reported.
   */
  readonly rounds: number;
  /** Length of each measured run, in whole seconds (wrk takes no fractions). */
  readonly seconds: number;
  /**
   * Our generator's warm-up before each measured run, in ms; wrk has none,
   * so before the first round wrk warms the server up for as long
   * (rounded up to whole seconds; not at all when 0). Default 500.
   */
  readonly warmupMs?: number;
  /** CPUs (a `taskset` list such as `0`) to run either generator on. Default: not pinned. */
  readonly generatorCpus?: string;
  /**
   * CPUs to pin the server to for the calibration; its affinity is put back
   * afterwards. Default: left as it is.
   */
  readonly serverCpus?: string;
  /** Called after each round, e.g. to print progress. */
  readonly onRound?: (round: CalibrationRound, index: number) => void;
}

/** One generator's run against the server. */
export interface CalibrationSample {
  /** Responses per second. */
  readonly throughput: number;
  /**
   * Mean latency by Little's law, connections × duration / requests, in
   * ms: the time per request, the generator's own turnaround included.
   */
  readonly meanMs: number;
  /** Mean latency as the generator reports it, in ms. */
  readonly reportedMeanMs: number;
  /** The generator's CPU time per request, in µs. */
  readonly generatorCpuUsPerRequest: number;
  /** The server's CPU time per request, in µs. */
  readonly serverCpuUsPerRequest: number;
}

/** Both generators at both loads, in one round. */
export interface CalibrationRound {
  /** Which generator ran first in each pair of the round. */
  readonly first: 'ours' | 'wrk';
  /** Both generators at 10 connections. */
  readonly tenConnections: {
    /** Our generator's run. */
    readonly ours: CalibrationSample;
    /** wrk's run. */
    readonly wrk: CalibrationSample;
  };
  /** Both generators at one connection. */
  readonly oneConnection: {
    /** Our generator's run. */
    readonly ours: CalibrationSample;
    /** wrk's run. */
    readonly wrk: CalibrationSample;
  };
}

/** Medians over the rounds of a figure, ours and wrk's, and ours over wrk's. */
export interface CalibrationFigure {
  /** Our generator's figure (the median over the rounds). */
  readonly ours: number;
  /** wrk's figure (the median over the rounds). */
  readonly wrk: number;
  /** `ours / wrk`. */
  readonly ratio: number;
}

/**
 * What {@link calibrateAgainstWrk} measured: medians over the rounds, the
 * rounds themselves, and whether the goals were met.
 */
export interface Calibration {
  /** Throughput at 10 connections, responses per second; goal: ratio ≥ `goals.throughput`. */
  readonly throughput: CalibrationFigure & {
    /** Whether the goal is met. */
    readonly met: boolean;
  };
  /**
   * Mean latency at one connection in ms, by Little's law on both sides
   * (wrk's own mean cannot be trusted: see `parseWrkReport`); goal: ratio
   * ≤ `goals.latency`. Beside it, the means as each generator reports them
   * (ours leaves its own turnaround out).
   */
  readonly latency: CalibrationFigure & {
    /** Whether the goal is met. */
    readonly met: boolean;
    /** The mean latency our generator reports, in ms. */
    readonly oursReported: number;
    /** The mean latency wrk reports, in ms. */
    readonly wrkReported: number;
  };
  /** Each generator's own CPU µs per request, at 10 connections. */
  readonly generatorCpuUsPerRequest: CalibrationFigure;
  /**
   * The server's CPU µs per request at 10 connections, under our load and
   * under wrk's: the generator must not change what it measures.
   */
  readonly serverCpuUsPerRequest: CalibrationFigure;
  /** The goals the ratios were held to ({@link CALIBRATION_GOALS}). */
  readonly goals: typeof CALIBRATION_GOALS;
  /** Both goals met. */
  readonly met: boolean;
  /** Every round's runs, in order. */
  readonly samples: readonly CalibrationRound[];
  /** Where the processes ran: the CPUs asked for, or undefined where not pinned. */
  readonly placement: {
    /** The CPUs of either generator. */
    readonly generatorCpus?: string;
    /** The CPUs of the server. */
    readonly serverCpus?: string;
  };
}

/**
 * Measures this load generator against wrk in the same run, on the same
 * server, in alternating rounds: throughput at 10 connections (one wrk
 * thread against one worker), mean latency at one connection, and CPU per
 * request of each generator and of the server under each. The server is
 * the caller's (see {@link startPlainServer}), started before and stopped
 * after. Needs wrk ({@link wrkInstalled}) and Linux (`/proc`, `taskset`).
 *
 * @throws TypeError or RangeError for bad options
 * @throws Error if wrk or our generator fails, or either sees an error response or socket error
 */
export async function calibrateAgainstWrk(options: CalibrationOptions): Promise<Calibration> {
  const { url, serverPid, rounds, seconds, generatorCpus, serverCpus } = options;
  const warmupMs = options.warmupMs ?? 500;
  if (!/^http:\/\//.test(url)) throw new TypeError(`url must be an http:// URL, got ${url}`);
  for (const [name, value] of [
    ['serverPid', serverPid],
    ['rounds', rounds],
    ['seconds', seconds],
  ] as const) {
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new RangeError(`${name} must be a positive integer, got ${String(value)}`);
    }
  }
  if (!Number.isFinite(warmupMs) || warmupMs < 0) {
    throw new RangeError(`warmupMs must be a finite number ≥ 0, got ${warmupMs}`);
  }
  const placement = { generatorCpus, serverCpus };
  const affinityBefore = serverCpus === undefined ? '' : readCpuAffinity(serverPid);
  if (serverCpus !== undefined) pinProcess(serverPid, serverCpus);
  try {
    if (warmupMs > 0) await runWrk(url, 10, Math.ceil(warmupMs / 1000), generatorCpus);
    const samples: CalibrationRound[] = [];
    for (let index = 0; index < rounds; index++) {
      // On a shared machine conditions drift within seconds: each pair runs back to back.
      const first = index % 2 === 0 ? 'ours' : 'wrk';
      const round: CalibrationRound = {
        first,
        tenConnections: await measurePair(options, 10, warmupMs, first),
        oneConnection: await measurePair(options, 1, warmupMs, first),
      };
      samples.push(round);
      options.onRound?.(round, index);
    }
    return summarize(samples, placement);
  } finally {
    if (serverCpus !== undefined && affinityBefore !== '') pinProcess(serverPid, affinityBefore);
  }
}

/** Both generators at `connections`, one after the other. */
async function measurePair(
  options: CalibrationOptions,
  connections: number,
  warmupMs: number,
  first: 'ours' | 'wrk',
): Promise<{ ours: CalibrationSample; wrk: CalibrationSample }> {
  if (first === 'ours') {
    const ours = await measureOurs(options, connections, warmupMs);
    return { ours, wrk: await measureWrk(options, connections) };
  }
  const wrk = await measureWrk(options, connections);
  return { ours: await measureOurs(options, connections, warmupMs), wrk };
}

async function measureOurs(
  options: CalibrationOptions,
  connections: number,
  warmupMs: number,
): Promise<CalibrationSample> {
  const { pathname, search } = new URL(options.url);
  const result = await runLoad({
    url: options.url,
    // What wrk asks for: the URL's path and query.
    requests: [{ method: 'GET', path: pathname + search }],
    connections,
    durationMs: options.seconds * 1000,
    warmupMs,
    cpus: options.generatorCpus,
    serverPids: [options.serverPid],
    failOnErrors: true,
  });
  const [server] = result.servers ?? [];
  return {
    throughput: result.throughput,
    meanMs: (connections * result.durationMs) / result.count,
    reportedMeanMs: result.latency.mean,
    generatorCpuUsPerRequest: result.generator.cpuUsPerRequest,
    serverCpuUsPerRequest: server.usPerRequest,
  };
}

async function measureWrk(
  options: CalibrationOptions,
  connections: number,
): Promise<CalibrationSample> {
  const meter = CpuMeter.start([options.serverPid]);
  const run = await runWrk(options.url, connections, options.seconds, options.generatorCpus);
  const [server] = meter.stop(run.requests);
  if (run.socketErrors + run.non2xx > 0) {
    throw new Error(
      `wrk saw ${run.socketErrors} socket errors and ${run.non2xx} non-2xx responses from ${options.url}`,
    );
  }
  return {
    throughput: run.throughput,
    meanMs: (connections * run.durationMs) / run.requests,
    reportedMeanMs: run.reportedMeanMs,
    generatorCpuUsPerRequest: (run.cpuMs * 1000) / run.requests,
    serverCpuUsPerRequest: server.usPerRequest,
  };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function summarize(
  samples: readonly CalibrationRound[],
  placement: Calibration['placement'],
): Calibration {
  const figure = (
    load: 'tenConnections' | 'oneConnection',
    key: keyof CalibrationSample,
  ): CalibrationFigure => {
    const ours = median(samples.map((round) => round[load].ours[key]));
    const wrk = median(samples.map((round) => round[load].wrk[key]));
    return { ours, wrk, ratio: wrk === 0 ? 0 : ours / wrk };
  };
  const throughput = figure('tenConnections', 'throughput');
  const latency = figure('oneConnection', 'meanMs');
  const reported = figure('oneConnection', 'reportedMeanMs');
  const throughputMet = throughput.ratio >= CALIBRATION_GOALS.throughput;
  const latencyMet = latency.ratio <= CALIBRATION_GOALS.latency;
  return {
    throughput: { ...throughput, met: throughputMet },
    latency: {
      ...latency,
      met: latencyMet,
      oursReported: reported.ours,
      wrkReported: reported.wrk,
    },
    generatorCpuUsPerRequest: figure('tenConnections', 'generatorCpuUsPerRequest'),
    serverCpuUsPerRequest: figure('tenConnections', 'serverCpuUsPerRequest'),
    goals: CALIBRATION_GOALS,
    met: throughputMet && latencyMet,
    samples,
    placement: {
      ...(placement.generatorCpus === undefined ? {} : { generatorCpus: placement.generatorCpus }),
      ...(placement.serverCpus === undefined ? {} : { serverCpus: placement.serverCpus }),
    },
  };
}
