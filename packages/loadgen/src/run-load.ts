import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { pinProcess } from './cpu-affinity';
import { compiledScript } from './compiled-script';
import { CpuMeter } from './process-cpu';
import { RequestsFailedError } from './errors';
import {
  decodeHistogram,
  encodeHistogram,
  newLatencyHistogram,
  summarizeLatency,
} from './latency-histogram';
import { resolveLoadOptions } from './load-options';
import type { LoadOptions, ResolvedLoadOptions } from './load-options';
import type { LoadResult } from './load-result';
import { UNIQUE_ID_PREFIX_LENGTH } from './request-template';
import type {
  CoordinatorMessage,
  WorkerMessage,
  WorkerPlan,
  WorkerReport,
} from './worker-protocol';

/**
 * Runs a load against an HTTP/1.1 server from worker processes of its own
 * and resolves with what they measured together: the generator never
 * shares a process (or an event loop) with the server it measures.
 *
 * Workers start and connect first; the run (warm-up, then the measured
 * window) begins once every connection is up, in every worker at once.
 *
 * @throws TypeError or RangeError for bad options, before any process starts
 * @throws Error if a worker cannot connect, fails or dies
 * @throws RequestsFailedError with `failOnErrors`, when the run saw errors
 */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const resolved = resolveLoadOptions(options);
  const plans = planWorkers(resolved);
  const script = compiledScript('load-worker.js');
  const workers = plans.map(() => new WorkerProcess(script));
  try {
    if (resolved.cpus !== undefined) {
      for (const worker of workers) pinProcess(worker.pid, resolved.cpus);
    }
    plans.forEach((plan, i) => workers[i].send({ type: 'plan', plan }));
    await Promise.all(workers.map((worker) => worker.next('ready')));
    for (const worker of workers) worker.send({ type: 'start' });
    const measuring = workers.map((worker) => worker.next('measuring'));
    // A failure rejects the race and the Promise.all below alike: once is enough.
    for (const started of measuring) started.catch(() => undefined);
    await Promise.race(measuring);
    // The servers' CPU time counts from the measured window on, as the requests do.
    const meter =
      resolved.serverPids.length === 0 ? undefined : CpuMeter.start(resolved.serverPids);
    await Promise.all(measuring);
    const reports = await Promise.all(workers.map((worker) => worker.next('report')));
    const result = mergeReports(resolved, reports, meter);
    const { non2xx, socketErrors, timeouts, unanswered } = result.errors;
    if (resolved.failOnErrors && non2xx + socketErrors + timeouts + unanswered > 0) {
      throw new RequestsFailedError(result);
    }
    return result;
  } finally {
    for (const worker of workers) worker.stop();
  }
}

/** `total` split into `parts` integers that differ by at most one, larger first. */
function split(total: number, parts: number): number[] {
  return Array.from(
    { length: parts },
    (_, i) => Math.floor(total / parts) + (i < total % parts ? 1 : 0),
  );
}

/**
 * Each worker's share of the run. Connections are numbered across the run,
 * worker 0 taking the first ones: connection `j` has target
 * `connectionTargets[j]` and, in a closed loop bounded by count, the `j`-th
 * share of the count, whichever worker drives it.
 */
function planWorkers(options: ResolvedLoadOptions): WorkerPlan[] {
  const nonce = randomInt(36 ** 6)
    .toString(36)
    .padStart(6, '0');
  const connectionCounts =
    options.mode === 'closed' && options.count !== undefined
      ? split(options.count, options.connections)
      : undefined;
  const openCounts =
    options.mode === 'open' ? split(options.count as number, options.workers) : undefined;
  let firstConnection = 0;
  return split(options.connections, options.workers).map((workerConnections, i) => {
    const first = firstConnection;
    firstConnection += workerConnections;
    return {
      targets: options.targets.map(({ host, port, hostHeader }) => ({ host, port, hostHeader })),
      connectionTargets: options.connectionTargets.slice(first, firstConnection),
      requests: options.requests,
      idPrefix: (nonce + i.toString(36).padStart(2, '0')).slice(0, UNIQUE_ID_PREFIX_LENGTH),
      pipelining: options.pipelining,
      mode: options.mode,
      rate: options.rate === undefined ? undefined : options.rate / options.workers,
      count: openCounts?.[i],
      connectionCounts: connectionCounts?.slice(first, firstConnection),
      durationMs: options.durationMs,
      warmupMs: options.warmupMs,
      requestTimeoutMs: options.requestTimeoutMs,
    };
  });
}

function mergeReports(
  options: ResolvedLoadOptions,
  reports: WorkerReport[],
  meter: CpuMeter | undefined,
): LoadResult {
  const targets = options.targets.map(() => ({
    histogram: newLatencyHistogram(),
    sent: 0,
    count: 0,
    latencySumMs: 0,
  }));
  const statuses: Record<string, number> = {};
  let socketErrors = 0;
  let timeouts = 0;
  let unanswered = 0;
  let elapsedMs = 0;
  let cpuMs = 0;
  let timerLagSumMs = 0;
  for (const report of reports) {
    report.targets.forEach((measured, t) => {
      targets[t].histogram.add(decodeHistogram(measured.histogram));
      targets[t].sent += measured.sent;
      targets[t].count += measured.count;
      targets[t].latencySumMs += measured.latencySumMs;
    });
    for (const [status, n] of Object.entries(report.statuses)) {
      statuses[status] = (statuses[status] ?? 0) + n;
    }
    socketErrors += report.socketErrors;
    timeouts += report.timeouts;
    unanswered += report.unanswered;
    elapsedMs = Math.max(elapsedMs, report.elapsedMs);
    cpuMs += report.cpuUserMs + report.cpuSystemMs;
    timerLagSumMs += report.timerLagSumMs;
  }
  // The run's figures are its targets' together: one histogram per target is all a worker records.
  const histogram = newLatencyHistogram();
  let sent = 0;
  let count = 0;
  let latencySumMs = 0;
  for (const target of targets) {
    histogram.add(target.histogram);
    sent += target.sent;
    count += target.count;
    latencySumMs += target.latencySumMs;
  }
  const throughput = (responses: number): number =>
    elapsedMs === 0 ? 0 : (responses * 1000) / elapsedMs;
  const non2xx = Object.entries(statuses)
    .filter(([status]) => !status.startsWith('2'))
    .reduce((sum, [, n]) => sum + n, 0);
  return {
    mode: options.mode,
    ...(options.rate === undefined ? {} : { rate: options.rate }),
    connections: options.connections,
    pipelining: options.pipelining,
    sent,
    count,
    durationMs: elapsedMs,
    throughput: throughput(count),
    latency: summarizeLatency(histogram, latencySumMs, count),
    latencyHistogram: { encoded: encodeHistogram(histogram), sumMs: latencySumMs },
    targets: options.targets.map((target, t) => ({
      url: target.url,
      connections: options.connectionTargets.filter((of) => of === t).length,
      sent: targets[t].sent,
      count: targets[t].count,
      latency: summarizeLatency(targets[t].histogram, targets[t].latencySumMs, targets[t].count),
      throughput: throughput(targets[t].count),
    })),
    statuses,
    errors: { non2xx, socketErrors, timeouts, unanswered },
    ...(meter === undefined || count === 0 ? {} : { servers: meter.stop(count) }),
    generator: {
      coordinatorPid: process.pid,
      workers: reports.map((r) => ({
        pid: r.pid,
        cpus: r.cpus,
        cpuMs: r.cpuUserMs + r.cpuSystemMs,
      })),
      ...(options.cpus === undefined ? {} : { pinnedTo: options.cpus }),
      cpuMs,
      cpuUsPerRequest: count === 0 ? 0 : (cpuMs * 1000) / count,
      ...(options.mode === 'open' ? { timerLagMs: sent === 0 ? 0 : timerLagSumMs / sent } : {}),
    },
  };
}

/** A worker process and the messages it sends, taken in order. */
class WorkerProcess {
  readonly #child: ChildProcess;
  readonly #inbox: WorkerMessage[] = [];
  #waiter: ((message: WorkerMessage) => void) | undefined;
  #exit: Error | undefined;
  #onExit: ((error: Error) => void) | undefined;

  constructor(script: string) {
    this.#child = fork(script, [], {
      // Buffers (request bodies) cross as they are.
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      // Not the coordinator's flags (an inspector, a loader): a plain node.
      execArgv: [],
    });
    this.#child.on('message', (message: WorkerMessage) => {
      if (this.#waiter) this.#waiter(message);
      else this.#inbox.push(message);
    });
    const exited = (why: string): void => {
      this.#exit ??= new Error(`load worker ${this.#child.pid ?? '?'} ${why}`);
      this.#onExit?.(this.#exit);
    };
    this.#child.on('exit', (code, signal) => exited(`exited (${signal ?? code}) during the run`));
    this.#child.on('error', (error) => exited(`failed: ${error.message}`));
  }

  get pid(): number {
    if (this.#child.pid === undefined) throw new Error('the load worker process did not start');
    return this.#child.pid;
  }

  send(message: CoordinatorMessage): void {
    this.#child.send(message);
  }

  /**
   * The worker's next message, which must be of `type`.
   *
   * @throws Error if the worker reports a failure or exits first
   */
  next(type: 'ready' | 'measuring'): Promise<void>;
  next(type: 'report'): Promise<WorkerReport>;
  next(type: 'ready' | 'measuring' | 'report'): Promise<void | WorkerReport> {
    return new Promise((resolve, reject) => {
      const take = (message: WorkerMessage): void => {
        this.#waiter = undefined;
        this.#onExit = undefined;
        if (message.type === 'failed') reject(new Error(`load worker: ${message.message}`));
        else if (message.type !== type)
          reject(new Error(`load worker sent ${message.type}, not ${type}`));
        else resolve(message.type === 'report' ? message.report : undefined);
      };
      const queued = this.#inbox.shift();
      if (queued) {
        take(queued);
      } else if (this.#exit) {
        reject(this.#exit);
      } else {
        this.#waiter = take;
        this.#onExit = reject;
      }
    });
  }

  /** Ends the worker: it exits when its channel closes. */
  stop(): void {
    if (this.#child.connected) this.#child.disconnect();
    else if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill();
  }
}
