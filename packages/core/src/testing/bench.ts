import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { formatBenchTable } from './bench-table';

/** One figure of a benchmark run, as the packages' benches write it to `bench-results/<package>.json`. */
export interface BenchResult {
  /** Dotted name such as `codec.superjson.roundtrip`. */
  name: string;
  /** Unit of `value`: `ops/s`, `msg/s`, `us`, `ms`, `messages`… */
  unit: string;
  /** The figure measured. */
  value: number;
  /** Whether a smaller value is better (times, messages) or worse (throughputs). */
  lowerIsBetter: boolean;
  /** What the figure is measured against, in the same run on the same machine. */
  baseline?: {
    /** The baseline's own name. */
    name: string;
    /** Its figure, in the same unit. */
    value: number;
  };
  /** `value / baseline.value`, when there is a baseline. */
  ratio?: number;
}

/** True when `BENCH_QUICK=1`: keep a whole package's bench under 60 seconds. */
export function benchQuick(): boolean {
  return process.env.BENCH_QUICK === '1' || process.env.BENCH_QUICK === 'true';
}

/** Builds a result, computing `ratio` from the baseline when there is one. */
export function benchResult(
  name: string,
  unit: string,
  value: number,
  lowerIsBetter: boolean,
  baseline?: { name: string; value: number },
): BenchResult {
  const result: BenchResult = { name, unit, value: round(value), lowerIsBetter };
  if (baseline) {
    result.baseline = { name: baseline.name, value: round(baseline.value) };
    result.ratio = baseline.value === 0 ? 0 : round(value / baseline.value, 4);
  }
  return result;
}

function round(value: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** Finds the repository root: the nearest folder above `from` whose package.json has workspaces. */
export function repoRoot(from: string = process.cwd()): string {
  let dir = resolve(from);
  for (;;) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const pkg = require(join(dir, 'package.json')) as { workspaces?: unknown };
      if (pkg.workspaces) return dir;
    } catch {
      // no package.json here; keep climbing
    }
    const parent = dirname(dir);
    if (parent === dir) return resolve(from);
    dir = parent;
  }
}

/**
 * Prints a table of the results ({@link formatBenchTable}: each figure
 * against its baseline, in words) and writes them to
 * `bench-results/<pkg>.json` at the repo root.
 */
export function writeBenchResults(pkg: string, results: BenchResult[], root = repoRoot()): string {
  const file = join(root, 'bench-results', `${pkg}.json`);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(results, null, 2) + '\n');
  process.stdout.write(formatBenchTable(results));
  console.log(`wrote ${file}`);
  return file;
}

/**
 * `results` plus the figures of `bench-results/<pkg>.json` that `results`
 * does not replace, for runs of only some suites.
 */
export function mergeWithPrevious(
  pkg: string,
  results: BenchResult[],
  root = repoRoot(),
): BenchResult[] {
  const file = join(root, 'bench-results', `${pkg}.json`);
  if (!existsSync(file)) return results;
  let previous: BenchResult[];
  try {
    previous = JSON.parse(readFileSync(file, 'utf8')) as BenchResult[];
  } catch {
    return results;
  }
  const fresh = new Set(results.map((r) => r.name));
  return [...previous.filter((r) => !fresh.has(r.name)), ...results];
}
