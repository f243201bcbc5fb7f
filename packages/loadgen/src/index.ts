/**
 * A load generator for HTTP/1.1 servers that costs the server nothing and
 * the machine little: it runs in worker processes of its own, keeps its
 * connections alive, writes requests serialised once (a per-request unique
 * id is patched in place), and reads responses with a parser that looks at
 * the status and the framing and skips the rest. Two modes: **closed loop**
 * (N connections, one request at a time each) and **open loop** (a fixed
 * arrival rate, latency counted from each request's intended send time, so
 * a server stall is not hidden). A closed loop bounded by `count` gives
 * each connection its own share: N clients, k requests each. Several
 * servers can share a run (`url` as a list, one per connection), each
 * measured apart in `result.targets`. Percentiles come from an HDR
 * histogram merged across workers. {@link CpuMeter} gives servers' CPU
 * time per request, the figure that holds on a noisy machine, and
 * {@link calibrateAgainstWrk} measures the generator against wrk.
 *
 * @example
 * ```ts
 * import { runLoad, UNIQUE_ID } from '@medals/loadgen';
 *
 * const result = await runLoad({
 *   url: 'http://127.0.0.1:8080',
 *   requests: [
 *     {
 *       method: 'PUT',
 *       path: '/incrementMedalTally/Gaul/gold',
 *       headers: { authorization: `Bearer ${token}`, 'idempotency-key': UNIQUE_ID },
 *     },
 *     { method: 'GET', path: '/getScore/Stone%20Curling' },
 *   ],
 *   connections: 20,
 *   durationMs: 5_000,
 *   warmupMs: 1_000,
 *   serverPids: [serverPid],
 * });
 * console.log(result.throughput, result.latency.p99, result.servers);
 * ```
 *
 * @packageDocumentation
 * @module @medals/loadgen
 */
export { runLoad } from './run-load';
export type { LoadOptions } from './load-options';
export type { GeneratorProcess, LoadResult, TargetResult } from './load-result';
export { combineLatency } from './latency-histogram';
export type { LatencySummary } from './latency-histogram';
export { UNIQUE_ID } from './request-template';
export type { RequestSpec } from './request-template';
export { RequestsFailedError } from './errors';
export { CpuMeter, clockTicksPerSecond, readProcessCpuTime } from './process-cpu';
export type { ProcessCpuPerRequest, ProcessCpuTime } from './process-cpu';
export { pinProcess, readCpuAffinity } from './cpu-affinity';
export { CALIBRATION_GOALS, calibrateAgainstWrk } from './calibration/calibrate';
export type {
  Calibration,
  CalibrationFigure,
  CalibrationOptions,
  CalibrationRound,
  CalibrationSample,
} from './calibration/calibrate';
export { wrkInstalled } from './calibration/wrk';
export { startPlainServer } from './calibration/start-plain-server';
export type { PlainServer } from './calibration/start-plain-server';
