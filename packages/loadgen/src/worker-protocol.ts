import type { RequestSpec } from './request-template';

/** Where a worker's connections go. */
export interface WorkerTarget {
  readonly host: string;
  readonly port: number;
  /** `Host` header value for requests that do not set one. */
  readonly hostHeader: string;
}

/** One worker's share of a run, as the coordinator hands it over. */
export interface WorkerPlan {
  /** Every server of the run (not only this worker's), so figures merge by index. */
  readonly targets: readonly WorkerTarget[];
  /** This worker's connections: for each, the index in `targets` of its server. */
  readonly connectionTargets: readonly number[];
  readonly requests: readonly RequestSpec[];
  /** The run's nonce and this worker's number, written into every `UNIQUE_ID`. */
  readonly idPrefix: string;
  readonly pipelining: number;
  readonly mode: 'closed' | 'open';
  /** Open loop: this worker's arrivals per second. */
  readonly rate?: number;
  /** Open loop: this worker's measured arrivals. */
  readonly count?: number;
  /**
   * Closed loop bounded by count: for each of this worker's connections,
   * the measured requests it sends before it stops.
   */
  readonly connectionCounts?: readonly number[];
  /** Closed loop bounded by time: how long to send measured requests, in ms. */
  readonly durationMs?: number;
  readonly warmupMs: number;
  readonly requestTimeoutMs: number;
}

/** What a worker measured of one server. */
export interface WorkerTargetReport {
  /** Measured requests written. */
  readonly sent: number;
  /** Measured responses received, whatever their status. */
  readonly count: number;
  /** Sum of the measured latencies, in ms, for an exact mean. */
  readonly latencySumMs: number;
  /** Latencies in µs, HdrHistogram's compressed base64 form. */
  readonly histogram: string;
}

/** What a worker measured, to be merged with the other workers'. */
export interface WorkerReport {
  readonly pid: number;
  /** CPU affinity of the worker process (`Cpus_allowed_list`), or `''` where unknown. */
  readonly cpus: string;
  /** By server, as indexed in the plan's `targets`: the run's totals are their sums. */
  readonly targets: readonly WorkerTargetReport[];
  /** Responses by status code. */
  readonly statuses: Readonly<Record<string, number>>;
  readonly socketErrors: number;
  readonly timeouts: number;
  /** Measured requests lost with a broken connection or a timeout. */
  readonly unanswered: number;
  /**
   * Open loop: summed over measured requests, how long a free connection
   * waited for this worker's timer before sending (left out of latencies).
   */
  readonly timerLagSumMs: number;
  /** From the start of the measured window to the last measured response, in ms. */
  readonly elapsedMs: number;
  /** CPU time of the worker process over the measured window, in ms. */
  readonly cpuUserMs: number;
  readonly cpuSystemMs: number;
}

/** Coordinator to worker. */
export type CoordinatorMessage = { type: 'plan'; plan: WorkerPlan } | { type: 'start' };

/** Worker to coordinator. */
export type WorkerMessage =
  | { type: 'ready' }
  /** The measured window starts (the warm-up is over). */
  | { type: 'measuring' }
  | { type: 'report'; report: WorkerReport }
  | { type: 'failed'; message: string };
