import type { BenchResult } from './bench';

/** A ratio this close to 1 (under half a percent either way) is reported as the same. */
const SAME_WITHIN = 0.005;

/**
 * How a figure compares with its baseline, in words that take the
 * figure's direction into account: `"13% worse"` for a latency 1.13 times
 * its baseline's, `"33% better"` for a throughput 1.33 times its
 * baseline's, `"4.0x better"` past a factor of two, `"same"` within half a
 * percent. Empty when there is no baseline to compare with.
 */
export function benchVerdict(result: BenchResult): string {
  const ratio = result.ratio;
  if (ratio === undefined || result.baseline === undefined || !(ratio > 0)) return '';
  if (Math.abs(ratio - 1) < SAME_WITHIN) return 'same';
  const better = result.lowerIsBetter ? ratio < 1 : ratio > 1;
  // How many times better or worse, as a factor ≥ 1.
  const factor = ratio > 1 ? ratio : 1 / ratio;
  const amount = factor >= 2 ? `${factor.toFixed(1)}x` : `${Math.round((factor - 1) * 100)}%`;
  return `${amount} ${better ? 'better' : 'worse'}`;
}

/**
 * The results as a plain-text table, one line per figure: its value, which
 * way is better, the baseline, the ratio and the verdict of
 * {@link benchVerdict}. Plain text, with no colour codes, so that it reads
 * the same in a terminal, through `lerna run` and in a CI log.
 */
export function formatBenchTable(results: readonly BenchResult[]): string {
  const rows = [
    ['name', 'value', 'better', 'baseline', 'ratio', 'vs baseline'],
    ...results.map((r) => [
      r.name,
      `${r.value} ${r.unit}`,
      r.lowerIsBetter ? 'lower' : 'higher',
      r.baseline ? `${r.baseline.value} (${r.baseline.name})` : '',
      r.ratio === undefined ? '' : String(r.ratio),
      benchVerdict(r),
    ]),
  ];
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  const line = (row: string[]): string =>
    row
      .map((cell, i) => cell.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  const rule = widths.map((width) => '-'.repeat(width)).join('  ');
  return [line(rows[0]), rule, ...rows.slice(1).map(line)].join('\n') + '\n';
}
