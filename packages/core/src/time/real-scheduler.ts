import { performance } from 'node:perf_hooks';
import type { ScopedScheduler, Scheduler, Timer } from '../contracts/time';
import { SchedulerScope, sleepOn } from './scheduler-scope';

/** Timers on Node's event loop; the default outside simulations. */
export class RealScheduler implements Scheduler {
  now(): number {
    return performance.now();
  }

  setTimeout(fn: () => void, delayMs: number): Timer {
    // setTimeout(fn, 0) waits at least 1 ms in Node; setImmediate runs after pending I/O instead.
    if (delayMs <= 0) {
      const immediate = setImmediate(fn);
      return { cancel: () => clearImmediate(immediate) };
    }
    const timeout = setTimeout(fn, delayMs);
    return { cancel: () => clearTimeout(timeout) };
  }

  setInterval(fn: () => void, intervalMs: number): Timer {
    const interval = setInterval(fn, Math.max(1, intervalMs));
    return { cancel: () => clearInterval(interval) };
  }

  sleep(delayMs: number, signal?: AbortSignal): Promise<void> {
    return sleepOn(this, delayMs, signal);
  }

  scope(): ScopedScheduler {
    return new SchedulerScope(this);
  }
}
