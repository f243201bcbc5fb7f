import { spawn, spawnSync } from 'node:child_process';

/** What one wrk run measured. */
export interface WrkRun {
  readonly requests: number;
  /** How long wrk ran, by its own clock, in ms. */
  readonly durationMs: number;
  readonly throughput: number;
  /** Mean latency in ms, as wrk reports it (see {@link parseWrkReport}). */
  readonly reportedMeanMs: number;
  /** Socket errors of all kinds (connect, read, write, timeout); 0 when wrk reports none. */
  readonly socketErrors: number;
  /** Responses outside 2xx and 3xx; 0 when wrk reports none. */
  readonly non2xx: number;
  /** wrk's own CPU time (user + system), in ms. */
  readonly cpuMs: number;
}

/**
 * Whether `wrk` can be run here (on the `PATH`). Linux packages it
 * (`apt-get install wrk`); the calibration against it needs it.
 */
export function wrkInstalled(): boolean {
  // `wrk --version` prints `wrk 4.1.0 [epoll] Copyright …` (and exits 1).
  const probe = spawnSync('wrk', ['--version'], { encoding: 'utf8' });
  return probe.error === undefined && /^wrk \S+/.test(probe.stdout);
}

const UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000 };

/**
 * The parts of wrk's report the calibration uses. wrk's own mean latency
 * is kept for the record only: Debian's wrk 4.1.0 records more latency
 * samples than it completes requests (37,516 for 29,675 in one run here),
 * so its mean breaks Little's law (one connection, 1.3 requests in flight
 * on average).
 *
 * @throws Error if `text` is not a wrk report
 */
export function parseWrkReport(text: string): Omit<WrkRun, 'cpuMs'> {
  const latency = /^\s*Latency\s+([\d.]+)(us|ms|s|m)\b/m.exec(text);
  const requests = /^\s*(\d+) requests in ([\d.]+)(us|ms|s|m)\b/m.exec(text);
  const throughput = /^Requests\/sec:\s+([\d.]+)/m.exec(text);
  if (!latency || !requests || !throughput) throw new Error(`unexpected wrk output:\n${text}`);
  const socketErrors =
    /^\s*Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/m.exec(text);
  const non2xx = /^\s*Non-2xx or 3xx responses: (\d+)/m.exec(text);
  return {
    requests: Number(requests[1]),
    durationMs: Number(requests[2]) * UNIT_MS[requests[3]],
    throughput: Number(throughput[1]),
    reportedMeanMs: Number(latency[1]) * UNIT_MS[latency[2]],
    socketErrors: socketErrors ? socketErrors.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0,
    non2xx: non2xx ? Number(non2xx[1]) : 0,
  };
}

/**
 * Runs wrk with one thread (as our generator's one worker) and
 * `connections` keep-alive connections for `seconds`, GETting `url`. A
 * shell runs it, for its `times`: wrk's CPU time once it has exited.
 *
 * @param seconds whole seconds: wrk takes no fractions
 * @param pinTo a `taskset` CPU list to run wrk on, or undefined
 * @throws Error if wrk fails or its report cannot be read
 */
export async function runWrk(
  url: string,
  connections: number,
  seconds: number,
  pinTo?: string,
): Promise<WrkRun> {
  const argv = [
    ...(pinTo === undefined ? [] : ['taskset', '--cpu-list', pinTo]),
    'wrk',
    '-t1',
    `-c${connections}`,
    `-d${seconds}s`,
    url,
  ];
  const command = argv.join(' ');
  const output = await new Promise<string>((resolve, reject) => {
    // The arguments reach the shell as its positional parameters, never as code.
    const child = spawn('sh', ['-c', '"$@" && times', 'sh', ...argv], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let text = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve(text) : reject(new Error(`${command} exited with ${code}`)),
    );
  });
  // `times`: a line of the shell's own user and system time, then one of its children's.
  const times = output.trim().split('\n').slice(-1)[0];
  const cpuSeconds = [...times.matchAll(/(\d+)m([\d.]+)s/g)].map(
    (m) => Number(m[1]) * 60 + Number(m[2]),
  );
  if (cpuSeconds.length !== 2) throw new Error(`unexpected output of times: ${times}`);
  return { ...parseWrkReport(output), cpuMs: (cpuSeconds[0] + cpuSeconds[1]) * 1000 };
}
