import { DEFAULT_EVENTS, DEFAULT_TEAMS } from '@medals/core';
import { combineLatency, runLoad, UNIQUE_ID } from '@medals/loadgen';
import type { LatencySummary, LoadResult, RequestSpec } from '@medals/loadgen';
import type { LoadPlacement } from './placement';

const medals = ['gold', 'silver', 'bronze'];

/**
 * The report's workload as the load generator's requests: increments and
 * `getScore` reads alternating, over every team, medal and event in turn.
 * Each increment carries Cacofonix's token as `Authorization: Bearer` and
 * an `Idempotency-Key` of its own, so every one counts.
 */
export function olympicRequests(token: string): RequestSpec[] {
  return medalIncrements(token).flatMap((increment, i) => [
    increment,
    {
      method: 'GET',
      path: `/getScore/${encodeURIComponent(DEFAULT_EVENTS[i % DEFAULT_EVENTS.length])}`,
    },
  ]);
}

/**
 * Increments only, as Cacofonix sends them: `PUT /incrementMedalTally`
 * over every team and medal in turn, each with his token as
 * `Authorization: Bearer` and an `Idempotency-Key` of its own. On the file
 * store each one is fsynced before its answer: the durable-increment
 * workload.
 */
export function medalIncrements(token: string): RequestSpec[] {
  // 2 teams × 3 medals: six requests cover every combination.
  return Array.from({ length: 6 }, (_, i) => ({
    method: 'PUT',
    path: `/incrementMedalTally/${encodeURIComponent(DEFAULT_TEAMS[i % DEFAULT_TEAMS.length])}/${medals[i % medals.length]}`,
    headers: { authorization: `Bearer ${token}`, 'idempotency-key': UNIQUE_ID },
  }));
}

/** Reads only: `GET /getMedalTally/Gaul`, the cheapest request of the lab API. */
export const tallyReads: readonly RequestSpec[] = [{ method: 'GET', path: '/getMedalTally/Gaul' }];

/**
 * Unmeasured load on a run's fresh connections before it measures: their
 * first requests are slower (the server's per-connection and per-client
 * set-up, cold paths), and in a run of 100 requests per client they would
 * raise the mean by a fifth (measured: 1.45 against 1.22 ms at 20 clients).
 */
export const CONNECTION_WARM_UP_MS = 200;

/** A server process whose CPU time per request is measured. */
export interface MeasuredServer {
  readonly pid: number;
  readonly label: string;
}

/** Options of {@link runOlympicLoad}. */
export interface OlympicLoadOptions {
  /** One front-end, or one URL per client (client j uses `urls[j]`, as the dispatcher assigned it). */
  readonly urls: string | readonly string[];
  readonly requests: readonly RequestSpec[];
  /** Clients: keep-alive connections, each one request at a time (closed loop). */
  readonly clients: number;
  /** Each client makes exactly this many measured requests. Give this or `durationMs`. */
  readonly requestsPerClient?: number;
  /** Or: the clients make requests for this long, in ms. */
  readonly durationMs?: number;
  /**
   * Unmeasured load first, on the same connections, in ms. Default
   * {@link CONNECTION_WARM_UP_MS}.
   */
  readonly warmupMs?: number;
  readonly placement: LoadPlacement;
  /** The servers to measure CPU per request of. Default none. */
  readonly servers?: readonly MeasuredServer[];
}

/**
 * Runs the closed-loop load of the report's clients from the load
 * generator's worker processes (never this one) and fails on any error:
 * the experiments measure a working service.
 */
export function runOlympicLoad(options: OlympicLoadOptions): Promise<LoadResult> {
  const clients = options.clients;
  return runLoad({
    url: options.urls,
    requests: options.requests,
    connections: clients,
    ...(options.requestsPerClient === undefined
      ? { durationMs: options.durationMs }
      : { count: clients * options.requestsPerClient }),
    warmupMs: options.warmupMs ?? CONNECTION_WARM_UP_MS,
    // One worker drives 20 connections at well under a core; more would crowd the servers.
    workers: clients >= 32 ? 2 : 1,
    cpus: options.placement.generatorCpus,
    serverPids: options.servers ?? [],
    failOnErrors: true,
  });
}

/** Runs of one cell of a table (one tier, one client count, one placement), pooled. */
export class PooledRuns {
  readonly #runs: LoadResult[] = [];

  add(run: LoadResult): void {
    this.#runs.push(run);
  }

  get runs(): readonly LoadResult[] {
    return this.#runs;
  }

  /** Responses in all. */
  get count(): number {
    return this.#runs.reduce((sum, run) => sum + run.count, 0);
  }

  /** Latencies of every run together (the histograms merged, the mean exact). */
  get latency(): LatencySummary {
    return combineLatency(this.#runs);
  }

  /** Responses per second over the runs' measured time. */
  get throughput(): number {
    const ms = this.#runs.reduce((sum, run) => sum + run.durationMs, 0);
    return ms === 0 ? 0 : (this.count * 1000) / ms;
  }

  /**
   * The measured servers' CPU µs per request over every run: their CPU
   * time summed (a two-tier request costs the front-end and the db) over
   * the responses.
   */
  get serverCpuUsPerRequest(): number {
    const cpuMs = this.#runs.reduce(
      (sum, run) => sum + (run.servers ?? []).reduce((s, server) => s + server.cpuMs, 0),
      0,
    );
    return this.count === 0 ? NaN : (cpuMs * 1000) / this.count;
  }

  /** The generator's own CPU µs per request over every run. */
  get generatorCpuUsPerRequest(): number {
    const cpuMs = this.#runs.reduce((sum, run) => sum + run.generator.cpuMs, 0);
    return this.count === 0 ? NaN : (cpuMs * 1000) / this.count;
  }
}

/** The sentence every result carries about its load. */
export function loadSource(placement: LoadPlacement): string {
  return (
    'Load from `@medals/loadgen` (closed loop: each client a keep-alive connection with one ' +
    "request at a time, as the report's clients), in a worker process of its own, never a " +
    `server's; each run first loads its fresh connections for ${CONNECTION_WARM_UP_MS} ms unmeasured; ` +
    `processes ${placement.description}.`
  );
}
