import { arch, cpus, totalmem } from 'node:os';
import type { LoadResult } from '@medals/loadgen';
import type { ServiceOptions } from '../service';
import { linePanelChart } from './chart';
import { markdownTable } from './markdown';
import type { MemorySample, MissedSample } from './memory-sampler';
import { fixed, median } from './stats';

/** How a soak run was set up. */
export interface SoakSetup {
  /** The service's options (the token aside, nothing secret). */
  readonly options: ServiceOptions;
  readonly frontEnds: number;
  /** Requests per second asked of the load generator. */
  readonly rate: number;
  /** Keep-alive connections of the load, shared by the front-ends. */
  readonly connections: number;
  /** How long the load ran, in ms. */
  readonly durationMs: number;
  readonly sampleEveryMs: number;
  /** Samples before this, in ms from the start, are left out of the growth figures. */
  readonly warmUpMs: number;
}

/** A node that exited while the run went on. */
export interface UnexpectedExit {
  readonly node: string;
  readonly atMs: number;
  readonly code: number | null;
  readonly signal: string | null;
}

/** The growth of one figure between the first and the last quarter after warm-up. */
export interface Growth {
  /** Median of the first quarter's samples, in bytes. */
  readonly first: number;
  /** Median of the last quarter's samples, in bytes. */
  readonly last: number;
  /** `(last / first − 1) × 100`; NaN when a quarter has no sample. */
  readonly percent: number;
}

/** What {@link runSoak} measured. */
export interface SoakResult {
  readonly setup: SoakSetup;
  /** The nodes sampled, in the order shown: the db, the front-ends, the dispatcher. */
  readonly nodes: readonly string[];
  readonly load: LoadResult;
  readonly samples: readonly MemorySample[];
  readonly missed: readonly MissedSample[];
  readonly exits: readonly UnexpectedExit[];
}

/** A number of bytes in MB (10^6), for tables and charts. */
function mb(bytes: number): number {
  return Math.round(bytes / 1e4) / 100;
}

/**
 * The growth of `value` over a run: the run after `warmUpMs` (to its last
 * sample) is cut in four equal spans of time, and the median of the last
 * span's samples is set against the median of the first's. Medians, so
 * that one reading taken in a burst does not make the figure.
 */
export function growthAfterWarmUp(
  points: readonly { readonly atMs: number; readonly value: number }[],
  warmUpMs: number,
): Growth {
  const measured = points.filter((p) => p.atMs >= warmUpMs);
  if (measured.length === 0) return { first: NaN, last: NaN, percent: NaN };
  const endMs = Math.max(...measured.map((p) => p.atMs));
  const quarterMs = (endMs - warmUpMs) / 4;
  const firstValues = measured.filter((p) => p.atMs <= warmUpMs + quarterMs).map((p) => p.value);
  const lastValues = measured.filter((p) => p.atMs >= endMs - quarterMs).map((p) => p.value);
  const first = firstValues.length === 0 ? NaN : median(firstValues);
  const last = lastValues.length === 0 ? NaN : median(lastValues);
  return { first, last, percent: (last / first - 1) * 100 };
}

/** The growth of node `node`'s heap used (after GC) or RSS over `result`. */
export function nodeGrowth(
  result: SoakResult,
  node: string,
  figure: 'heapUsedBytes' | 'rssBytes',
): Growth {
  return growthAfterWarmUp(
    result.samples.filter((s) => s.node === node).map((s) => ({ atMs: s.atMs, value: s[figure] })),
    result.setup.warmUpMs,
  );
}

/**
 * The bench figures: the heap growth of the db, and of the front-end that
 * grew most (each must stay bounded, not their average), in percent.
 */
export function soakHeapGrowth(result: SoakResult): { frontend: number; db: number } {
  const frontEnds = result.nodes.filter((node) => node.startsWith('fe'));
  return {
    frontend: Math.max(
      ...frontEnds.map((node) => nodeGrowth(result, node, 'heapUsedBytes').percent),
    ),
    db: nodeGrowth(result, 'db', 'heapUsedBytes').percent,
  };
}

/** `ms` as minutes and seconds, `m:ss`. */
function clockTime(ms: number): string {
  const seconds = Math.round(ms / 1000);
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`;
}

/** The times of the rounds of samples, in order. */
function roundTimes(samples: readonly MemorySample[]): number[] {
  return [...new Set(samples.map((s) => s.atMs))].sort((a, b) => a - b);
}

/** At most `count` of `items`, evenly spread, the first and the last always among them. */
function spread<T>(items: readonly T[], count: number): T[] {
  if (items.length <= count) return [...items];
  return Array.from(
    { length: count },
    (_, i) => items[Math.round((i * (items.length - 1)) / (count - 1))],
  );
}

function sampleOf(
  samples: readonly MemorySample[],
  node: string,
  atMs: number,
): MemorySample | undefined {
  return samples.find((s) => s.node === node && s.atMs === atMs);
}

function percent(value: number): string {
  return Number.isFinite(value) ? `${value >= 0 ? '+' : ''}${value.toFixed(1)} %` : '–';
}

/** The report of a soak run: `soak.md`. */
export function soakMarkdown(result: SoakResult): string {
  const { setup, load, nodes, samples } = result;
  const o = setup.options;
  const errors = load.errors;
  const errorCount = errors.non2xx + errors.socketErrors + errors.timeouts + errors.unanswered;
  const growthRows = nodes.map((node) => {
    const heap = nodeGrowth(result, node, 'heapUsedBytes');
    const rss = nodeGrowth(result, node, 'rssBytes');
    return [
      node,
      fixed(mb(heap.first)),
      fixed(mb(heap.last)),
      percent(heap.percent),
      fixed(mb(rss.first), 1),
      fixed(mb(rss.last), 1),
      percent(rss.percent),
    ];
  });
  const times = spread(roundTimes(samples), 16);
  const sampleRows = times.map((atMs) => [
    clockTime(atMs),
    ...nodes.map((node) => fixed(mb(sampleOf(samples, node, atMs)?.heapUsedBytes ?? NaN))),
    ...nodes.map((node) => fixed(mb(sampleOf(samples, node, atMs)?.rssBytes ?? NaN), 1)),
  ]);
  const afterGc = samples.every((s) => s.afterGc);
  const gcMs = samples.map((s) => s.gcMs);
  const gcPauses = afterGc
    ? ` Each collection paused its node for ${fixed(median(gcMs), 1)} ms (median; longest ${fixed(Math.max(...gcMs), 1)} ms), once per reading: the price of the measure.`
    : '';
  const growth = soakHeapGrowth(result);
  const cpu = cpus();
  const quarterS = (Math.max(0, ...samples.map((s) => s.atMs)) - setup.warmUpMs) / 4000;
  return `# Soak: memory under steady load

The Olympic cluster as \`medals cluster\` runs it: the db, ${setup.frontEnds} front-ends and the
dispatcher, one process each on 127.0.0.1 (${o.transport}, ${o.election}, clock sync ${o.clockSync},
${o.multicast}, raffle every ${o.raffleEvery}, ${o.store} store in a fresh directory). Load from
\`@medals/loadgen\` in a worker process of its own: open loop at ${setup.rate} requests/s for
${fixed(setup.durationMs / 60_000, 1)} min on ${setup.connections} keep-alive connections spread over the
front-ends (each request sent when due, whatever the servers do), half \`PUT /incrementMedalTally\` with
an \`Idempotency-Key\` of its own (every one counts, and is remembered), half \`GET /getScore\`.

Every ${fixed(setup.sampleEveryMs / 1000, 1)} s each node reported its resident set size (RSS) and its V8
heap in use, ${afterGc ? 'right after a full garbage collection (the nodes were started with `--expose-gc`; only the launcher can ask, over its IPC channel with each node)' : 'as it stood (no garbage collection could be asked for in some readings)'}.${gcPauses}
Machine: ${cpu.length} × ${cpu[0]?.model.trim() ?? 'unknown CPU'} (${arch()}), ${fixed(totalmem() / 2 ** 30, 1)} GiB,
Node ${process.versions.node}; shared with other work, so latencies are indicative only.

## Load

${markdownTable(
  [
    'rate asked (req/s)',
    'achieved (req/s)',
    'answered',
    'errors',
    'non-2xx',
    'socket errors',
    'timeouts',
    'unanswered',
    'p50 (ms)',
    'p99 (ms)',
    'max (ms)',
  ],
  [
    [
      setup.rate,
      fixed(load.throughput, 0),
      load.count,
      errorCount,
      errors.non2xx,
      errors.socketErrors,
      errors.timeouts,
      errors.unanswered,
      fixed(load.latency.p50, 2),
      fixed(load.latency.p99, 2),
      fixed(load.latency.max, 1),
    ],
  ],
)}
${
  result.exits.length === 0
    ? 'No node exited during the run.'
    : `**Nodes exited during the run:** ${result.exits
        .map((e) => `${e.node} at ${clockTime(e.atMs)} (${e.signal ?? `code ${e.code}`})`)
        .join(', ')}.`
}${result.missed.length === 0 ? '' : ` ${result.missed.length} reading(s) failed, the first: ${result.missed[0].node} at ${clockTime(result.missed[0].atMs)}: ${result.missed[0].reason}.`}

## Growth after warm-up

The first ${fixed(setup.warmUpMs / 1000, 0)} s are warm-up (caches, JIT, bounded structures filling) and
left out; the rest is cut in four spans of ${fixed(quarterS, 0)} s, and the median of the last span's
readings is set against the median of the first's (MB, 10^6 bytes). Goal: heap growth ≤ 10 %. The
bench figures are \`soak.heap-growth.frontend\` = ${percent(growth.frontend)} (the front-end that grew
most) and \`soak.heap-growth.db\` = ${percent(growth.db)}.

${markdownTable(
  [
    'node',
    'heap, first quarter (MB)',
    'heap, last quarter (MB)',
    'heap growth',
    'RSS, first quarter (MB)',
    'RSS, last quarter (MB)',
    'RSS growth',
  ],
  growthRows,
)}
## Samples

Heap in use${afterGc ? ' after a full GC' : ''}, then RSS, in MB, at ${times.length} of the ${roundTimes(samples).length} readings
(time since the load started, m:ss). The chart \`soak.svg\` shows them all.

${markdownTable(
  ['time', ...nodes.map((node) => `${node} heap`), ...nodes.map((node) => `${node} RSS`)],
  sampleRows,
)}`;
}

/** The chart of a soak run: `soak.svg`, heap and RSS of every node over time. */
export function soakChart(result: SoakResult): string {
  const { nodes, samples, setup } = result;
  const times = spread(roundTimes(samples), 60);
  const series = (
    figure: 'heapUsedBytes' | 'rssBytes',
  ): { name: string; values: (number | null)[] }[] =>
    nodes.map((node) => ({
      name: node,
      values: times.map((atMs) => {
        const sample = sampleOf(samples, node, atMs);
        return sample === undefined ? null : mb(sample[figure]);
      }),
    }));
  return linePanelChart({
    title: 'Soak: memory of each node over time',
    subtitle: `open loop at ${setup.rate} req/s for ${fixed(setup.durationMs / 60_000, 1)} min, half increments, half getScore; ${setup.options.store} store`,
    categories: times.map(clockTime),
    xLabel: 'time since the load started (m:ss)',
    labelEvery: Math.max(1, Math.ceil(times.length / 8)),
    panels: [
      {
        title: samples.every((s) => s.afterGc)
          ? 'V8 heap in use after a full GC'
          : 'V8 heap in use',
        yLabel: 'MB',
        series: series('heapUsedBytes'),
      },
      { title: 'resident set size', yLabel: 'MB', series: series('rssBytes') },
    ],
  });
}
