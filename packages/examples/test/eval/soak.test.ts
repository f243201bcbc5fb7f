import { NodeProcessGroup } from '../../src/cli/node-process-group';
import { runSoak } from '../../src/eval/soak';
import {
  growthAfterWarmUp,
  soakChart,
  soakHeapGrowth,
  soakMarkdown,
} from '../../src/eval/soak-report';
import type { SoakResult } from '../../src/eval/soak-report';
import { requireBuiltCli, testOptions } from '../cli/support';

jest.setTimeout(60_000);

/** The rows of the markdown table under `heading`, each split into its cells. */
function tableUnder(markdown: string, heading: string): string[][] {
  const section = markdown.split(`## ${heading}\n`)[1] ?? '';
  const lines = section.split('\n');
  const start = lines.findIndex((line) => line.startsWith('|'));
  const table: string[][] = [];
  for (const line of lines.slice(start)) {
    if (!line.startsWith('|')) break;
    table.push(line.slice(2, -2).split(' | '));
  }
  return table;
}

describe('growthAfterWarmUp', () => {
  it('sets the median of the last quarter after warm-up against the first', () => {
    // Warm-up to 10 s (left out, however large), then 10–50 s: quarters 10–20 and 40–50.
    const points = [
      { atMs: 0, value: 1_000 },
      { atMs: 5_000, value: 500 },
      { atMs: 10_000, value: 100 },
      { atMs: 15_000, value: 90 },
      { atMs: 20_000, value: 110 },
      { atMs: 30_000, value: 300 },
      { atMs: 40_000, value: 120 },
      { atMs: 45_000, value: 125 },
      { atMs: 50_000, value: 130 },
    ];
    const growth = growthAfterWarmUp(points, 10_000);
    expect(growth.first).toBe(100);
    expect(growth.last).toBe(125);
    expect(growth.percent).toBeCloseTo(25, 10);
  });

  it('is NaN with nothing after warm-up, and negative when memory was given back', () => {
    expect(growthAfterWarmUp([{ atMs: 1_000, value: 5 }], 2_000).percent).toBeNaN();
    // Quarters of 1 s: 200 and 175 at first (median 187.5), 125 and 100 at last (112.5).
    const shrinking = [0, 1, 2, 3, 4].map((i) => ({ atMs: i * 1_000, value: 200 - i * 25 }));
    expect(growthAfterWarmUp(shrinking, 0).percent).toBeCloseTo(-40, 10);
  });
});

describe('a soak run', () => {
  const nodes = ['db', 'fe1', 'fe2', 'dispatcher'];
  let result: SoakResult;

  beforeAll(async () => {
    requireBuiltCli();
    result = await runSoak({
      options: testOptions({ store: 'file' }),
      durationMs: 3_000,
      rate: 200,
      sampleEveryMs: 500,
      warmUpMs: 500,
      connections: 4,
    });
  });

  it('reads the heap after a full GC and the RSS of every node, all through the run', () => {
    expect(result.nodes).toEqual(nodes);
    expect(result.missed).toEqual([]);
    expect(result.exits).toEqual([]);
    for (const node of nodes) {
      const own = result.samples.filter((s) => s.node === node);
      // A round at the start, one every 500 ms for 3 s, one after the load.
      expect(own.length).toBeGreaterThanOrEqual(5);
      for (const sample of own) {
        expect(sample.afterGc).toBe(true);
        expect(sample.gcMs).toBeGreaterThan(0);
        expect(sample.heapUsedBytes).toBeGreaterThan(1e6);
        expect(sample.rssBytes).toBeGreaterThan(sample.heapUsedBytes);
      }
    }
    expect(result.load.count).toBe(600);
    expect(result.load.errors).toEqual({ non2xx: 0, socketErrors: 0, timeouts: 0, unanswered: 0 });
  });

  it('writes a report with the load, the growth of every node and their samples', () => {
    const markdown = soakMarkdown(result);
    expect(markdown).toMatch(/^# Soak: memory under steady load\n/);
    expect(markdown).toContain('open loop at 200 requests/s');
    expect(markdown).toContain('right after a full garbage collection');
    expect(markdown).toMatch(/paused its node for \d+\.\d ms \(median; longest \d+\.\d ms\)/);
    expect(markdown).toContain('No node exited during the run.');

    const load = tableUnder(markdown, 'Load');
    expect(load).toHaveLength(3);
    const [asked, achieved, answered, errors] = load[2];
    expect([asked, answered, errors]).toEqual(['200', '600', '0']);
    expect(achieved).toMatch(/^\d+$/);

    const growth = tableUnder(markdown, 'Growth after warm-up');
    expect(growth.map((row) => row[0])).toEqual(['node', '---', ...nodes]);
    for (const row of growth.slice(2)) {
      expect(row).toHaveLength(7);
      expect(row[3]).toMatch(/^[+-]\d+\.\d %$/);
    }
    const figures = soakHeapGrowth(result);
    expect(markdown).toContain(
      `\`soak.heap-growth.db\` = ${figures.db >= 0 ? '+' : ''}${figures.db.toFixed(1)} %`,
    );
    expect(Number.isFinite(figures.frontend)).toBe(true);

    const samples = tableUnder(markdown, 'Samples');
    expect(samples[0]).toEqual([
      'time',
      ...nodes.map((node) => `${node} heap`),
      ...nodes.map((node) => `${node} RSS`),
    ]);
    expect(samples.length - 2).toBeGreaterThanOrEqual(5);
    for (const row of samples.slice(2)) {
      expect(row[0]).toMatch(/^\d+:\d\d$/);
      expect(row.slice(1)).toHaveLength(8);
      for (const cell of row.slice(1)) expect(cell).toMatch(/^\d+\.\d+$/);
    }
  });

  it('draws heap and RSS of every node over time', () => {
    const svg = soakChart(result);
    expect(svg).toMatch(/^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    expect(svg).toContain('V8 heap in use after a full GC');
    expect(svg).toContain('resident set size');
    for (const node of nodes) expect(svg).toContain(`>${node}</text>`);
    // The time axis starts with the first round of readings.
    expect(svg).toContain('>0:00</text>');
  });
});

describe('a launched node asked for its memory', () => {
  it('collects garbage first only when its launcher started it with --expose-gc', async () => {
    requireBuiltCli();
    for (const exposeGc of [false, true]) {
      const group = new NodeProcessGroup({ exposeGc });
      try {
        await group.spawn({ role: 'single', id: 'single', http: '127.0.0.1:0' }, testOptions());
        const memory = await group.memory('single');
        expect(memory).toMatchObject({ id: 'single', afterGc: exposeGc });
        expect(memory.gcMs > 0).toBe(exposeGc);
        expect(memory.heapUsedBytes).toBeGreaterThan(0);
      } finally {
        await group.stopAll();
      }
    }
  });
});
