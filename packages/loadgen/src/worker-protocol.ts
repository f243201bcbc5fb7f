import type { RequestSpec } from './request-template';

/** One worker's share of a run, as the coordinator hands it over. */
export interface WorkerPlan {
  readonly host: string;
  readonly port: number;
  /** `Host` header value for requests that do not set one. */
  readonly hostHeader: string;
  readonly requests: readonly RequestSpec[];
  /** The run's nonce and this worker's number, written into every `UNIQUE_ID`. */
  readonly idPrefix: string;
  readonly connections: number;
  readonly pipelining: number;
  readonly mode: 'closed' | 'open';
  /** Open loop: this worker's arrivals per second. */
  readonly rate?: number;
  /** Measured requests to send; open loop always has one. */
  readonly count?: number;
  /** Closed loop bounded by time: how long to send measured requests, in ms. */
  readonly durationMs?: number;
  readonly warmupMs: number;
  readonly requestTimeoutMs: number;
}

/** What a worker measured, to be merged with the other workers'. */
export interface WorkerReport {
  readonly pid: number;
  /** CPU affinity of the worker process (`Cpus_allowed_list`), or `''` where unknown. */
  readonly cpus: string;
  /** Measured requests written. */
  readonly sent: number;
  /** Measured responses received, whatever their status. */
  readonly count: number;
  /** Sum of the measured latencies, in ms, for an exact mean. */
  readonly latencySumMs: number;
  /** Latencies in µs, HdrHistogram's compressed base64 form. */
  readonly histogram: string;
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
