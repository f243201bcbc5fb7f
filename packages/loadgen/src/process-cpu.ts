import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** User and system CPU time a process has used since it started. */
export interface ProcessCpuTime {
  /** The process. */
  readonly pid: number;
  /** Its user CPU time, in ms. */
  readonly userMs: number;
  /** Its system CPU time, in ms. */
  readonly systemMs: number;
}

/** One process's CPU time over a run, and per request served. */
export interface ProcessCpuPerRequest {
  /** The process. */
  readonly pid: number;
  /** The label given to {@link CpuMeter.start}, or the pid as text. */
  readonly label: string;
  /** Its user CPU time over the window, in ms. */
  readonly userMs: number;
  /** Its system CPU time over the window, in ms. */
  readonly systemMs: number;
  /** `userMs + systemMs`. */
  readonly cpuMs: number;
  /** CPU µs per request: `cpuMs * 1000 / requests`. */
  readonly usPerRequest: number;
}

let ticksPerSecond: number | undefined;

/**
 * The kernel's clock ticks per second (`getconf CLK_TCK`), the unit of
 * `/proc/<pid>/stat`'s CPU times; 100, Linux's value nearly everywhere,
 * when `getconf` cannot say.
 */
export function clockTicksPerSecond(): number {
  if (ticksPerSecond === undefined) {
    try {
      const value = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
      ticksPerSecond = Number.isInteger(value) && value > 0 ? value : 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/**
 * `utime` and `stime` (fields 14 and 15, in clock ticks) of a
 * `/proc/<pid>/stat` line. The command name (field 2) is in parentheses
 * and may hold spaces and parentheses itself, so fields are counted from
 * the last `)`.
 *
 * @throws Error if the line does not have those fields
 */
export function parseProcStat(line: string): { userTicks: number; systemTicks: number } {
  const fields = line.slice(line.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state), so field n is fields[n - 3].
  const userTicks = Number(fields[11]);
  const systemTicks = Number(fields[12]);
  if (!Number.isInteger(userTicks) || !Number.isInteger(systemTicks)) {
    throw new Error('not a /proc/<pid>/stat line: utime and stime are missing');
  }
  return { userTicks, systemTicks };
}

/**
 * Reads the CPU time process `pid` has used, all its threads together
 * (Linux `/proc`; resolution one clock tick, usually 10 ms).
 *
 * @throws Error if the process is gone or this is not Linux
 */
export function readProcessCpuTime(pid: number): ProcessCpuTime {
  let line: string;
  try {
    line = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch (error) {
    throw new Error(`cannot read the CPU time of process ${pid}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const { userTicks, systemTicks } = parseProcStat(line);
  const msPerTick = 1000 / clockTicksPerSecond();
  return { pid, userMs: userTicks * msPerTick, systemMs: systemTicks * msPerTick };
}

/**
 * CPU per request of server processes: {@link CpuMeter.start} before a
 * run, {@link CpuMeter.stop} after it with the number of requests served.
 * Unlike latency or throughput it hardly moves when other work shares the
 * machine, which makes it the figure to compare across tiers.
 *
 * @example
 * ```ts
 * const meter = CpuMeter.start([{ pid: server.pid, label: 'front-end' }]);
 * const result = await runLoad({ ... });
 * console.log(meter.stop(result.count)); // [{ label: 'front-end', usPerRequest: 41.2, ... }]
 * ```
 */
export class CpuMeter {
  readonly #before: { label: string; time: ProcessCpuTime }[];

  private constructor(before: { label: string; time: ProcessCpuTime }[]) {
    this.#before = before;
  }

  /**
   * Reads the CPU time of each process now.
   *
   * @throws Error if a process is gone or this is not Linux
   */
  static start(processes: readonly (number | { pid: number; label: string })[]): CpuMeter {
    return new CpuMeter(
      processes.map((p) => {
        const { pid, label } = typeof p === 'number' ? { pid: p, label: String(p) } : p;
        return { label, time: readProcessCpuTime(pid) };
      }),
    );
  }

  /**
   * Reads each process's CPU time again and divides what it used since
   * {@link start} by `requests`.
   *
   * @throws RangeError if `requests` is not a positive number
   * @throws Error if a process is gone
   */
  stop(requests: number): ProcessCpuPerRequest[] {
    if (!(requests > 0)) throw new RangeError(`requests must be positive, got ${requests}`);
    return this.#before.map(({ label, time }) => {
      const after = readProcessCpuTime(time.pid);
      const userMs = after.userMs - time.userMs;
      const systemMs = after.systemMs - time.systemMs;
      const cpuMs = userMs + systemMs;
      return {
        pid: time.pid,
        label,
        userMs,
        systemMs,
        cpuMs,
        usPerRequest: (cpuMs * 1000) / requests,
      };
    });
  }
}
