import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/**
 * The CPUs process `pid` may run on, as Linux lists them
 * (`Cpus_allowed_list`, e.g. `0-1` or `0`), or `''` where that is not
 * known (not Linux, or the process is gone).
 */
export function readCpuAffinity(pid: number): string {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return /^Cpus_allowed_list:\s*(\S+)/m.exec(status)?.[1] ?? '';
  } catch {
    return '';
  }
}

const CPU_LIST = /^\d+(-\d+)?(,\d+(-\d+)?)*$/;

/**
 * Restricts every thread of process `pid` to `cpus` (a `taskset` list such
 * as `0` or `1-3`); threads it starts later inherit it.
 *
 * @throws TypeError if `cpus` is not a CPU list
 * @throws Error if `taskset` (util-linux) is missing or fails
 */
export function pinProcess(pid: number, cpus: string): void {
  if (!CPU_LIST.test(cpus))
    throw new TypeError(`cpus must be a CPU list such as 0 or 1-3, got ${cpus}`);
  const result = spawnSync('taskset', ['--all-tasks', '--cpu-list', '--pid', cpus, String(pid)], {
    encoding: 'utf8',
  });
  if (result.error || result.status !== 0) {
    const why = result.error?.message ?? result.stderr.trim();
    throw new Error(`taskset could not pin process ${pid} to CPUs ${cpus}: ${why}`);
  }
}
