import type { LatencySummary } from './latency-histogram';
import type { ProcessCpuPerRequest } from './process-cpu';

/** One worker process of a run: where the load came from. */
export interface GeneratorProcess {
  /** The worker's process id. */
  readonly pid: number;
  /** CPUs the process was allowed to run on (Linux `Cpus_allowed_list`), `''` where unknown. */
  readonly cpus: string;
  /** Its CPU time (user + system) over the measured window, in ms. */
  readonly cpuMs: number;
}

/**
 * What {@link runLoad} measured of one of its servers (one entry of
 * `url`). Latencies in ms.
 */
export interface TargetResult {
  /** The URL as given in `url`. */
  readonly url: string;
  /** Connections of the run that went to this server. */
  readonly connections: number;
  /** Measured requests written to it. */
  readonly sent: number;
  /** Measured responses it gave, whatever their status. */
  readonly count: number;
  /** Its latencies, from its own histogram, merged across workers. */
  readonly latency: LatencySummary;
  /** Its responses per second over the run's `durationMs`: the targets' throughputs add up to the run's. */
  readonly throughput: number;
}

/** What {@link runLoad} measured. Latencies in ms. */
export interface LoadResult {
  /** Closed loop (each connection sends when answered) or open loop (at a fixed rate). */
  readonly mode: 'closed' | 'open';
  /** Open loop: the arrival rate asked for, requests per second. */
  readonly rate?: number;
  /** Connections the load was spread over. */
  readonly connections: number;
  /** Requests in flight per connection at most. */
  readonly pipelining: number;
  /** Measured requests written. */
  readonly sent: number;
  /** Measured responses received, whatever their status. */
  readonly count: number;
  /** From the start of the measured window to its last response, in ms. */
  readonly durationMs: number;
  /** Responses per second over `durationMs`. */
  readonly throughput: number;
  /** From the send (closed loop) or the intended send (open loop) to the whole response. */
  readonly latency: LatencySummary;
  /**
   * The latencies themselves: an HdrHistogram (µs) in its compressed base64
   * form, and their exact sum in ms, so that runs can be pooled with
   * {@link combineLatency} (percentiles cannot be averaged).
   */
  readonly latencyHistogram: {
    /** The histogram, compressed and base64-encoded. */
    readonly encoded: string;
    /** The exact sum of the latencies, in ms. */
    readonly sumMs: number;
  };
  /**
   * By server: one entry per distinct URL of `url`, in the order first
   * given (one entry when `url` is a string).
   */
  readonly targets: readonly TargetResult[];
  /** Responses by status code, e.g. `{ "200": 9000, "503": 12 }`. */
  readonly statuses: Readonly<Record<string, number>>;
  /** What went wrong, by kind. */
  readonly errors: {
    /** Responses with a status outside 200–299. */
    readonly non2xx: number;
    /** Connections refused, reset, closed unannounced, or answering what is not HTTP. */
    readonly socketErrors: number;
    /** Connections dropped because a request waited past `requestTimeoutMs`. */
    readonly timeouts: number;
    /** Measured requests that got no response (lost with a connection or a timeout). */
    readonly unanswered: number;
  };
  /**
   * With `serverPids`: each server process's CPU time over the measured
   * window, and per response.
   */
  readonly servers?: readonly ProcessCpuPerRequest[];
  /** The generator itself: its processes, their placement and what they cost. */
  readonly generator: {
    /** The process that called {@link runLoad}; it only coordinates. */
    readonly coordinatorPid: number;
    /** The worker processes that sent the load. */
    readonly workers: readonly GeneratorProcess[];
    /** Whether the workers were pinned (`cpus` given), and to what. */
    readonly pinnedTo?: string;
    /** All workers' CPU time over the measured window, in ms. */
    readonly cpuMs: number;
    /** The generator's CPU µs per response: what it costs next to the server it measures. */
    readonly cpuUsPerRequest: number;
    /**
     * Open loop: mean time a request that had a free connection waited for
     * the generator's timer (Node's timers have 1 ms resolution). It is the
     * generator's lateness, so it is left out of `latency`; waiting for a
     * busy connection is not, and counts in full.
     */
    readonly timerLagMs?: number;
  };
}
