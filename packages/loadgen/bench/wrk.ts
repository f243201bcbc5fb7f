import { spawn, spawnSync } from 'node:child_process';

/** What one wrk run measured. */
export interface WrkRun {
  readonly requests: number;
  /** How long wrk ran, by its own clock, in ms. */
  readonly durationMs: number;
  readonly throughput: number;
  /** Mean latency in ms, as wrk reports it (see {@link parseWrkReport}). */
  readonly reportedMeanMs: number;
  /** wrk's own CPU time (user + system), in ms. */
  readonly cpuMs: number;
}

/** Whether `wrk` can be run here. */
export function wrkInstalled(): boolean {
  // `wrk --version` prints `wrk 4.1.0 [epoll] Copyright …` (and exits 1).
  const probe = spawnSync('wrk', ['--version'], { encoding: 'utf8' });
  return probe.error === undefined && /^wrk \S+/.test(probe.stdout);
}

const UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000 };

/**
 * The parts of wrk's report the bench uses. wrk's own mean latency is kept
 * for the record only: Debian's wrk 4.1.0 records more latency samples than
 * it completes requests (37,516 for 29,675 in one run here), so its mean
 * breaks Little's law (one connection, 1.3 requests in flight on average).
 */
export function parseWrkReport(text: string): Omit<WrkRun, 'cpuMs'> {
  const latency = /^\s*Latency\s+([\d.]+)(us|ms|s|m)\b/m.exec(text);
  const requests = /^\s*(\d+) requests in ([\d.]+)(us|ms|s|m)\b/m.exec(text);
  const throughput = /^Requests\/sec:\s+([\d.]+)/m.exec(text);
  if (!latency || !requests || !throughput) throw new Error(`unexpected wrk output:\n${text}`);
  return {
    requests: Number(requests[1]),
    durationMs: Number(requests[2]) * UNIT_MS[requests[3]],
    throughput: Number(throughput[1]),
    reportedMeanMs: Number(latency[1]) * UNIT_MS[latency[2]],
  };
}

/**
 * Runs wrk with one thread (as our generator's one worker) and
 * `connections` keep-alive connections for `seconds`. The shell's `times`
 * reports wrk's CPU time once it has exited.
 *
 * @param pinTo a `taskset` CPU list to run wrk on, or undefined
 */
export async function runWrk(
  url: string,
  connections: number,
  seconds: number,
  pinTo?: string,
): Promise<WrkRun> {
  const wrk = `wrk -t1 -c${connections} -d${seconds}s ${url}`;
  const command = `${pinTo === undefined ? '' : `taskset -c ${pinTo} `}${wrk} && times`;
  const output = await new Promise<string>((resolve, reject) => {
    const child = spawn('sh', ['-c', command], { stdio: ['ignore', 'pipe', 'inherit'] });
    let text = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve(text) : reject(new Error(`${command} exited with ${code}`)),
    );
  });
  // `times`: the shell's own user and system time, then its children's.
  const times = output.trim().split('\n').slice(-1)[0];
  const cpuSeconds = [...times.matchAll(/(\d+)m([\d.]+)s/g)].map(
    (m) => Number(m[1]) * 60 + Number(m[2]),
  );
  if (cpuSeconds.length !== 2) throw new Error(`unexpected output of times: ${times}`);
  return { ...parseWrkReport(output), cpuMs: (cpuSeconds[0] + cpuSeconds[1]) * 1000 };
}
