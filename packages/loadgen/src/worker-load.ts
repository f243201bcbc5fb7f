import { performance } from 'node:perf_hooks';
import type { Histogram } from 'hdr-histogram-js';
import { readCpuAffinity } from './cpu-affinity';
import { encodeHistogram, newLatencyHistogram } from './latency-histogram';
import { LoadConnection } from './load-connection';
import type { BreakReason, ConnectionListener } from './load-connection';
import { RequestTemplate } from './request-template';
import type { WorkerPlan, WorkerReport } from './worker-protocol';

/** How often in-flight requests are checked against their timeout, at most, in ms. */
const TIMEOUT_CHECK_MS = 100;

/**
 * One worker's load: its connections, its share of the schedule and what
 * it measures, server by server. Closed loop: each connection sends its
 * next request as soon as the previous one is answered; bounded by count,
 * each connection sends its own share and stops. Open loop: request k is due at
 * `start + k / rate` whatever happened before, goes out on the first
 * connection with room, and its latency counts from when it was due, so a
 * server stall shows in full in the percentiles (coordinated omission
 * corrected, as wrk2 does).
 */
export class WorkerLoad implements ConnectionListener {
  readonly #plan: WorkerPlan;
  /** By target (as the plan indexes them): the workload with that server's `Host`; empty where unused. */
  readonly #templates: RequestTemplate[][];
  readonly #connections: LoadConnection[] = [];
  /** Connections with room for a request, one entry per freed slot (open loop). */
  readonly #free = new ConnectionQueue();
  // What is measured, by target: indexed by a connection's targetIndex, no lookup per response.
  readonly #histograms: Histogram[];
  readonly #sent: Float64Array;
  readonly #count: Float64Array;
  readonly #latencySumMs: Float64Array;
  /**
   * Closed loop bounded by count: measured requests each connection has
   * yet to send, by connection index, and how many connections have some.
   */
  readonly #shareLeft: Float64Array | undefined;
  #connectionsWithShareLeft = 0;
  readonly #statuses = new Map<number, number>();
  #nextTemplate = 0;
  #requestNumber = 0;
  #running = false;
  #sendingDone = false;
  #inResponse = false;
  #measureStartMs = 0;
  #sendEndMs = Infinity;
  #lastResponseMs = 0;
  #lastMeasuredResponseMs = 0;
  #socketErrors = 0;
  #timeouts = 0;
  #unanswered = 0;
  #timerLagSumMs = 0;
  #cpuAtMeasureStart: NodeJS.CpuUsage | undefined;
  // Open loop's schedule: request k is due at #scheduleStartMs + k * #intervalMs.
  #intervalMs = 0;
  #scheduleStartMs = 0;
  #nextDue = 0;
  #firstMeasured = 0;
  #endBefore = 0;
  #pollTimer: NodeJS.Timeout | undefined;
  #timers: NodeJS.Timeout[] = [];
  #onConnected: ((error?: Error) => void) | undefined;
  #onFinished: ((report: WorkerReport) => void) | undefined;

  constructor(plan: WorkerPlan) {
    this.#plan = plan;
    const used = new Set(plan.connectionTargets);
    this.#templates = plan.targets.map((target, t) =>
      used.has(t)
        ? plan.requests.map((spec) => new RequestTemplate(spec, target.hostHeader, plan.idPrefix))
        : [],
    );
    this.#histograms = plan.targets.map(() => newLatencyHistogram());
    this.#sent = new Float64Array(plan.targets.length);
    this.#count = new Float64Array(plan.targets.length);
    this.#latencySumMs = new Float64Array(plan.targets.length);
    if (plan.connectionCounts !== undefined) {
      this.#shareLeft = Float64Array.from(plan.connectionCounts);
      this.#connectionsWithShareLeft = plan.connectionCounts.filter((n) => n > 0).length;
    }
  }

  /**
   * Opens every connection.
   *
   * @throws Error if a connection fails before all are up
   */
  connect(): Promise<void> {
    return new Promise((resolve, reject) => {
      let up = 0;
      this.#onConnected = (error) => {
        if (error) {
          this.#onConnected = undefined;
          this.#stopConnections();
          reject(error);
        } else if (++up === this.#plan.connectionTargets.length) {
          this.#onConnected = undefined;
          resolve();
        }
      };
      for (const [index, targetIndex] of this.#plan.connectionTargets.entries()) {
        const connection = new LoadConnection(
          this.#plan.targets[targetIndex],
          this.#plan.pipelining,
          this,
          { index, targetIndex },
        );
        this.#connections.push(connection);
        connection.open();
      }
    });
  }

  /**
   * Runs the warm-up and the measured window; resolves once every measured
   * request is settled.
   *
   * @param onMeasuring called as the measured window starts
   */
  run(onMeasuring: () => void = () => undefined): Promise<WorkerReport> {
    const plan = this.#plan;
    return new Promise((resolve) => {
      this.#onFinished = resolve;
      const now = performance.now();
      this.#running = true;
      this.#lastResponseMs = now;
      if (plan.mode === 'open') {
        this.#intervalMs = 1000 / (plan.rate as number);
        this.#scheduleStartMs = now;
        this.#firstMeasured = Math.ceil(plan.warmupMs / this.#intervalMs);
        this.#endBefore = this.#firstMeasured + (plan.count as number);
        this.#measureStartMs = now + this.#firstMeasured * this.#intervalMs;
      } else {
        this.#measureStartMs = now + plan.warmupMs;
        if (plan.durationMs !== undefined) {
          this.#sendEndMs = this.#measureStartMs + plan.durationMs;
          this.#later(this.#sendEndMs - now, () => this.#stopSending());
        }
      }
      this.#later(this.#measureStartMs - now, () => {
        this.#cpuAtMeasureStart = process.cpuUsage();
        onMeasuring();
        // Bounded by count with no share for any of this worker's connections: nothing to measure.
        if (this.#shareLeft !== undefined && this.#connectionsWithShareLeft === 0) {
          this.#stopSending();
        }
      });
      const checkEvery = Math.min(TIMEOUT_CHECK_MS, plan.requestTimeoutMs / 4);
      this.#timers.push(setInterval(() => this.#checkTimeouts(), checkEvery));
      for (const connection of this.#connections) this.onWritable(connection);
    });
  }

  onWritable(connection: LoadConnection): void {
    this.#onConnected?.();
    if (!this.#running) return;
    if (this.#plan.mode === 'closed') {
      this.#fill(connection);
    } else {
      const now = performance.now();
      for (let i = 0; i < this.#plan.pipelining; i++) this.#free.push(connection, now);
      this.#poll();
    }
  }

  onResponse(connection: LoadConnection, status: number, startMs: number, measured: boolean): void {
    const now = performance.now();
    this.#lastResponseMs = now;
    // The next request goes out before this answer is recorded: the server
    // waits on the send, nobody waits on the bookkeeping.
    this.#inResponse = true;
    if (!this.#sendingDone && this.#plan.mode === 'closed') {
      this.#fill(connection);
    } else if (!this.#sendingDone) {
      this.#free.push(connection, now);
      this.#poll();
    }
    this.#inResponse = false;
    if (measured) {
      const latencyMs = now - startMs;
      const target = connection.targetIndex;
      this.#histograms[target].recordValue(Math.round(latencyMs * 1000));
      this.#latencySumMs[target] += latencyMs;
      this.#count[target]++;
      this.#statuses.set(status, (this.#statuses.get(status) ?? 0) + 1);
      this.#lastMeasuredResponseMs = now;
    }
    if (this.#sendingDone) this.#finishIfSettled();
  }

  onBroken(connection: LoadConnection, reason: BreakReason, lostMeasured: number): void {
    if (this.#onConnected) {
      const { host, port } = connection.target;
      this.#onConnected(new Error(`could not connect to ${host}:${port} before the run started`));
      return;
    }
    if (reason === 'error') this.#socketErrors++;
    if (reason === 'timeout') this.#timeouts++;
    this.#unanswered += lostMeasured;
    if (this.#sendingDone) this.#finishIfSettled();
  }

  /**
   * Closed loop: keeps `connection` as full as pipelining allows while it
   * has work: until the window closes or, bounded by count, until it has
   * sent its share (the worker stops once every connection has).
   */
  #fill(connection: LoadConnection): void {
    const shareLeft = this.#shareLeft;
    while (connection.canSend && !this.#sendingDone) {
      const now = performance.now();
      const measured = now >= this.#measureStartMs;
      let lastShare = false;
      if (measured) {
        if (now >= this.#sendEndMs) {
          this.#stopSending();
          return;
        }
        if (shareLeft !== undefined) {
          const left = shareLeft[connection.index];
          if (left === 0) return;
          shareLeft[connection.index] = left - 1;
          lastShare = left === 1 && --this.#connectionsWithShareLeft === 0;
        }
        this.#sent[connection.targetIndex]++;
      }
      connection.send(this.#takeTemplate(connection), this.#requestNumber++, now, measured);
      // After the send, so the worker finishes once that last request is answered.
      if (lastShare) this.#stopSending();
    }
  }

  /** Open loop: sends every request now due, as far as connections have room. */
  #poll(): void {
    const now = performance.now();
    while (this.#nextDue < this.#endBefore) {
      const dueMs = this.#scheduleStartMs + this.#nextDue * this.#intervalMs;
      if (dueMs > now) {
        if (this.#pollTimer === undefined) {
          // Node truncates a delay to whole ms: round up, or wake early for nothing.
          this.#pollTimer = setTimeout(
            () => {
              this.#pollTimer = undefined;
              this.#poll();
            },
            Math.ceil(dueMs - now),
          );
        }
        return;
      }
      const connection = this.#free.take();
      // No room anywhere: the next response or reconnection polls again.
      if (connection === undefined) return;
      // Time a free connection waited for this worker's timer is the
      // generator's lateness, not the server's: latency counts from when
      // the request was due, less that lag. Waiting for a busy connection
      // (a stalled server) still counts in full.
      const lagMs = Math.max(0, now - Math.max(dueMs, this.#free.takenFreeSinceMs));
      const measured = this.#nextDue >= this.#firstMeasured;
      if (measured) {
        this.#sent[connection.targetIndex]++;
        this.#timerLagSumMs += lagMs;
      }
      connection.send(
        this.#takeTemplate(connection),
        this.#requestNumber++,
        dueMs + lagMs,
        measured,
      );
      this.#nextDue++;
    }
    this.#stopSending();
  }

  /** The workload's next request, as written for `connection`'s server. */
  #takeTemplate(connection: LoadConnection): RequestTemplate {
    const template = this.#templates[connection.targetIndex][this.#nextTemplate];
    this.#nextTemplate = (this.#nextTemplate + 1) % this.#plan.requests.length;
    return template;
  }

  #checkTimeouts(): void {
    const now = performance.now();
    const timeout = this.#plan.requestTimeoutMs;
    for (const connection of this.#connections) {
      if (now - connection.oldestSentMs > timeout) connection.abortForTimeout();
    }
    // Nothing answered for a whole timeout while requests wait or no
    // connection is up (the server is gone): stop, and the shortfall shows
    // as errors instead of a run that never ends.
    if (
      !this.#sendingDone &&
      now - this.#lastResponseMs > timeout &&
      this.#connections.some((c) => c.inFlight > 0 || !c.connected)
    ) {
      this.#stopSending();
    }
  }

  #stopSending(): void {
    if (this.#sendingDone) return;
    this.#sendingDone = true;
    clearTimeout(this.#pollTimer);
    this.#finishIfSettled();
  }

  #finishIfSettled(): void {
    // Within onResponse the answer in hand is not recorded yet: it finishes after.
    if (this.#inResponse || !this.#running || this.#connections.some((c) => c.inFlight > 0)) {
      return;
    }
    this.#running = false;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#stopConnections();
    const cpu = process.cpuUsage(this.#cpuAtMeasureStart);
    const finish = this.#onFinished;
    this.#onFinished = undefined;
    const count = this.#count.reduce((sum, n) => sum + n, 0);
    finish?.({
      pid: process.pid,
      cpus: readCpuAffinity(process.pid),
      targets: this.#histograms.map((histogram, t) => ({
        sent: this.#sent[t],
        count: this.#count[t],
        latencySumMs: this.#latencySumMs[t],
        histogram: encodeHistogram(histogram),
      })),
      statuses: Object.fromEntries(this.#statuses),
      socketErrors: this.#socketErrors,
      timeouts: this.#timeouts,
      unanswered: this.#unanswered,
      timerLagSumMs: this.#timerLagSumMs,
      elapsedMs: count === 0 ? 0 : Math.max(0, this.#lastMeasuredResponseMs - this.#measureStartMs),
      cpuUserMs: cpu.user / 1000,
      cpuSystemMs: cpu.system / 1000,
    });
  }

  #later(delayMs: number, action: () => void): void {
    if (delayMs <= 0) action();
    else this.#timers.push(setTimeout(action, delayMs));
  }

  #stopConnections(): void {
    for (const connection of this.#connections) connection.stop();
  }
}

/**
 * FIFO of connections with a free slot, each with when it freed. An entry
 * may be stale (the connection filled up, or broke and came back since);
 * {@link take} skips those.
 */
class ConnectionQueue {
  #connections: LoadConnection[] = [];
  #epochs: number[] = [];
  #freeSinceMs: number[] = [];
  #head = 0;
  /** When the slot {@link take} last returned became free. */
  takenFreeSinceMs = 0;

  push(connection: LoadConnection, freeSinceMs: number): void {
    this.#connections.push(connection);
    this.#epochs.push(connection.epoch);
    this.#freeSinceMs.push(freeSinceMs);
  }

  take(): LoadConnection | undefined {
    while (this.#head < this.#connections.length) {
      const at = this.#head++;
      const connection = this.#connections[at];
      const current = connection.epoch === this.#epochs[at];
      this.takenFreeSinceMs = this.#freeSinceMs[at];
      if (this.#head > 1024 && this.#head * 2 > this.#connections.length) {
        this.#connections = this.#connections.slice(this.#head);
        this.#epochs = this.#epochs.slice(this.#head);
        this.#freeSinceMs = this.#freeSinceMs.slice(this.#head);
        this.#head = 0;
      }
      if (current && connection.canSend) return connection;
    }
    return undefined;
  }
}
