import { barChart, lineChart, linePanelChart, panelChart } from '../../src/eval/chart';
import type { ChartSeries, PanelChart } from '../../src/eval/chart';

/** A `<text>` element of ECharts' SVG: its content and where its anchor point lands on the canvas. */
interface SvgText {
  content: string;
  x: number;
  y: number;
  fontSize: number;
  anchor: string;
  bold: boolean;
  /** Angle of the text's baseline in radians (0: horizontal; y axis names are −π/2). */
  angle: number;
}

/** An axis-aligned box on the canvas. */
interface Box {
  left: number;
  right: number;
  top: number;
  bottom: number;
}

const entities: Record<string, string> = {
  '&amp;': '&',
  '&lt;': '<',
  '&gt;': '>',
  '&quot;': '"',
  '&#39;': "'",
  '&apos;': "'",
};

function attribute(attributes: string, name: string): string | undefined {
  return new RegExp(`(?:^|\\s)${name}="([^"]*)"`).exec(attributes)?.[1];
}

/**
 * The `<text>` elements of an SVG. ECharts places each with `x`/`y` in its
 * own frame and a `transform` (translate, or a matrix when rotated).
 */
function texts(svg: string): SvgText[] {
  return [...svg.matchAll(/<text([^>]*)>([^<]*)<\/text>/g)].map(([, attributes, raw]) => {
    const x = Number(attribute(attributes, 'x') ?? 0);
    const y = Number(attribute(attributes, 'y') ?? 0);
    const transform = attribute(attributes, 'transform') ?? '';
    const style = attribute(attributes, 'style') ?? '';
    let [a, b, c, d, e, f] = [1, 0, 0, 1, 0, 0];
    const translate = /translate\(([-\d.e]+)[ ,]([-\d.e]+)\)/.exec(transform);
    const matrix = /matrix\(([^)]*)\)/.exec(transform);
    if (translate !== null) [e, f] = [Number(translate[1]), Number(translate[2])];
    if (matrix !== null) [a, b, c, d, e, f] = matrix[1].split(/[ ,]+/).map(Number);
    return {
      content: raw.replace(/&[#\w]+;/g, (entity) => entities[entity] ?? entity),
      x: a * x + c * y + e,
      y: b * x + d * y + f,
      fontSize: Number(/font-size:([\d.]+)px/.exec(style)?.[1] ?? 12),
      anchor: attribute(attributes, 'text-anchor') ?? 'start',
      bold: style.includes('font-weight:bold'),
      angle: Math.atan2(b, a),
    };
  });
}

/**
 * A generous estimate of a text's width in px: 0.4 em for narrow glyphs and
 * 0.65 em for the others (DejaVu Sans, a wide sans-serif, averages about
 * 0.55 em), a tenth more when bold.
 */
function width(text: SvgText): number {
  const narrow = [...text.content].filter((glyph) => /[ijlrft.,:;'()|\s-]/.test(glyph)).length;
  const em = narrow * 0.4 + (text.content.length - narrow) * 0.65;
  return em * text.fontSize * (text.bold ? 1.1 : 1);
}

/** A generous box around an unrotated text, centred on its y as ECharts draws with `dominant-baseline="central"`. */
function box(text: SvgText): Box {
  const left =
    text.anchor === 'middle'
      ? text.x - width(text) / 2
      : text.anchor === 'end'
        ? text.x - width(text)
        : text.x;
  const half = text.fontSize * 0.6;
  return { left, right: left + width(text), top: text.y - half, bottom: text.y + half };
}

function overlap(one: Box, other: Box): boolean {
  return (
    one.left < other.right &&
    other.left < one.right &&
    one.top < other.bottom &&
    other.top < one.bottom
  );
}

/** y of the highest horizontal line of any plot: its top grid line. */
function plotTop(svg: string): number {
  const lines = [
    ...svg.matchAll(/<path d="M([-\d.]+) ([-\d.]+)L([-\d.]+) ([-\d.]+)"(?![^>]*transform)/g),
  ]
    .filter(([, , y1, , y2]) => y1 === y2)
    .map(([, , y]) => Number(y));
  expect(lines.length).toBeGreaterThan(0);
  return Math.min(...lines);
}

/** The legend's texts: those whose content is a series name. */
function legendTexts(svg: string, names: string[]): SvgText[] {
  const legend = texts(svg).filter((text) => names.includes(text.content) && text.angle === 0);
  expect(legend.map((text) => text.content).sort()).toEqual([...new Set(names)].sort());
  return legend;
}

const clients = ['5 clients', '8 clients', '10 clients'];

/** Table 1 as the latency experiment draws it: means with the report's, p99 on its own panel. */
const latency: PanelChart = {
  title: 'Latency per request: single-tier vs two-tier',
  subtitle: 'Node 20 on 2 cores; the report: Python on a 4-core i7-3610QM (2013)',
  categories: clients,
  xLabel: 'concurrent clients',
  panels: [
    {
      title: 'Mean',
      yLabel: 'mean latency (ms)',
      series: [
        { name: 'single-tier', values: [0.142, 0.187, 0.213] },
        { name: 'two-tier', values: [0.331, 0.452, 0.587] },
        {
          name: 'report single-tier (Python, 2013)',
          values: [0.41, 0.4, 0.41],
          style: 'reference',
        },
        { name: 'report two-tier (Python, 2013)', values: [0.55, 0.59, 0.56], style: 'reference' },
      ],
    },
    {
      title: '99th percentile',
      yLabel: 'p99 latency (ms)',
      series: [
        { name: 'single-tier', values: [0.61, 1.93, 2.4] },
        { name: 'two-tier', values: [1.2, 4.87, 8.9123] },
      ],
    },
  ],
};

const seriesNames = (chart: PanelChart): string[] =>
  chart.panels.flatMap((panel) => panel.series.map((s) => s.name));

describe('panelChart', () => {
  it('labels every category of every panel', () => {
    const labels = texts(panelChart(latency)).map((text) => text.content);
    for (const category of clients) {
      expect(labels.filter((label) => label === category)).toHaveLength(2);
    }
  });

  it('gives each panel its own y axis name', () => {
    const names = texts(panelChart(latency)).filter((text) =>
      ['mean latency (ms)', 'p99 latency (ms)'].includes(text.content),
    );
    expect(names).toHaveLength(2);
    expect(names.every((name) => name.angle !== 0)).toBe(true);
    // Side by side: the second panel's axis name is right of the first panel's.
    expect(names[1].x - names[0].x).toBeGreaterThan(300);
  });

  it('puts one legend entry per series name between the title and the plots', () => {
    const svg = panelChart(latency);
    const legend = legendTexts(svg, seriesNames(latency));
    const titles = texts(svg).filter((text) =>
      [latency.title, latency.subtitle].includes(text.content),
    );
    expect(titles).toHaveLength(2);
    const top = plotTop(svg);
    for (const entry of legend) {
      expect(box(entry).bottom).toBeLessThan(top);
      for (const title of titles) expect(overlap(box(entry), box(title))).toBe(false);
      for (const other of legend) {
        if (other !== entry) expect(overlap(box(entry), box(other))).toBe(false);
      }
    }
  });

  it('keeps the legend clear of value labels and panel titles', () => {
    const svg = panelChart(latency);
    const legend = legendTexts(svg, seriesNames(latency)).map(box);
    const legendBottom = Math.max(...legend.map((entry) => entry.bottom));
    const below = texts(svg).filter(
      (text) =>
        !seriesNames(latency).includes(text.content) &&
        ![latency.title, latency.subtitle].includes(text.content),
    );
    for (const text of below) expect(box(text).top).toBeGreaterThan(legendBottom);
  });

  it('wraps the legend into rows when its entries are too many for one', () => {
    const many: PanelChart = {
      ...latency,
      panels: [
        {
          title: 'Many series',
          yLabel: 'ms',
          series: Array.from({ length: 12 }, (_, i) => ({
            name: `series number ${i + 1} with a long name`,
            values: [1, 2, 3],
          })),
        },
      ],
    };
    const svg = panelChart(many);
    const legend = legendTexts(svg, seriesNames(many));
    expect(new Set(legend.map((entry) => entry.y)).size).toBeGreaterThan(1);
    const titles = texts(svg).filter((text) => [many.title, many.subtitle].includes(text.content));
    const top = plotTop(svg);
    for (const entry of legend) {
      expect(box(entry).bottom).toBeLessThan(top);
      for (const title of titles) expect(overlap(box(entry), box(title))).toBe(false);
      for (const other of legend) {
        if (other !== entry) expect(overlap(box(entry), box(other))).toBe(false);
      }
    }
  });

  it('stacks more than two panels, each with its axis name, below the legend', () => {
    const three: PanelChart = {
      ...latency,
      panels: [1, 2, 3].map((p) => ({
        title: `Panel ${p}`,
        yLabel: `value ${p} (ms)`,
        series: [{ name: 'measured', values: [p, 2 * p, 3 * p] }],
      })),
    };
    const svg = panelChart(three);
    const names = texts(svg).filter((text) => /^value \d \(ms\)$/.test(text.content));
    expect(names).toHaveLength(3);
    expect(new Set(names.map((name) => Math.round(name.x))).size).toBe(1);
    expect(names[1].y - names[0].y).toBeGreaterThan(150);
    const [legend] = legendTexts(svg, ['measured']);
    expect(box(legend).bottom).toBeLessThan(plotTop(svg));
  });

  it('draws a series of the same name in one colour in every panel', () => {
    const svg = panelChart(latency);
    const fills = (index: number): Set<string | undefined> =>
      new Set(
        [...svg.matchAll(/<path [^>]*>/g)]
          .map(([tag]) => tag)
          .filter(
            (tag) =>
              tag.includes(`ecmeta_series_index="${index}"`) &&
              tag.includes('ecmeta_ssr_type="chart"'),
          )
          .map((tag) => attribute(tag, 'fill')),
      );
    // Series 0 and 4 are both 'single-tier', in the first and the second panel.
    expect(fills(0).size).toBe(1);
    expect(fills(4)).toEqual(fills(0));
    expect(fills(1)).not.toEqual(fills(0));
  });

  it('hatches a reference series and draws a measured one solid', () => {
    const values = [0.41, 0.4, 0.41];
    const series: ChartSeries[] = [
      { name: 'ours', values },
      { name: 'report', values, style: 'reference' },
    ];
    const svg = panelChart({
      title: 't',
      categories: clients,
      xLabel: 'x',
      panels: [{ title: '', yLabel: 'ms', series }],
    });
    const bars = (index: number): string[] =>
      [...svg.matchAll(/<path d="([^"]+)"([^>]*)>/g)]
        .filter(
          ([, , attributes]) =>
            attributes.includes(`ecmeta_series_index="${index}"`) &&
            attributes.includes('ecmeta_ssr_type="chart"'),
        )
        .map(([tag]) => tag);
    const hatched = (tag: string): boolean => {
      const d = /d="([^"]+)"/.exec(tag)?.[1];
      return svg.includes(`<path d="${d}" fill="url(#`);
    };
    expect(bars(0)).toHaveLength(3);
    expect(bars(1)).toHaveLength(3);
    expect(bars(0).some(hatched)).toBe(false);
    expect(bars(1).every(hatched)).toBe(true);
    expect(bars(1).every((tag) => tag.includes('stroke='))).toBe(true);
  });

  it('labels bars with 2–3 significant digits only when the labels fit the bars', () => {
    const svg = panelChart(latency);
    const labels = texts(svg).map((text) => text.content);
    // The p99 panel: 2 series × 3 categories, wide bars.
    expect(labels).toContain('8.91');
    expect(labels).not.toContain('8.9123');
    // The means panel: 4 series × 3 categories in half the width, too narrow for '0.142'.
    expect(labels).not.toContain('0.142');
  });
});

describe('barChart and lineChart', () => {
  const many = Array.from({ length: 20 }, (_, i) => `raffle-client-${i + 1}`);

  it('label every one of many long categories, rotated, with the axis name below them', () => {
    const svg = barChart({
      title: 'Entries per client',
      categories: many,
      xLabel: 'client',
      yLabel: 'entries',
      series: [{ name: 'on fe1', values: many.map((_, i) => i % 5) }],
    });
    const labels = texts(svg).filter((text) => many.includes(text.content));
    expect(labels.map((label) => label.content).sort()).toEqual([...many].sort());
    expect(labels.every((label) => label.angle !== 0)).toBe(true);
    // The x axis name lies below every rotated label.
    const [name] = texts(svg).filter((text) => text.content === 'client');
    const lowest = Math.max(
      ...labels.map(
        (label) =>
          label.y +
          width(label) * Math.abs(Math.sin(label.angle)) +
          (label.fontSize / 2) * Math.cos(label.angle),
      ),
    );
    expect(name.y - name.fontSize / 2).toBeGreaterThan(lowest);
  });

  it('wraps long categories with spaces into lines that all show', () => {
    const categories = ['1', '2', '4', '8', '16', '32', '64', '128'].map(
      (count) => `${count} front-ends and the db`,
    );
    const svg = lineChart({
      title: 'Wrapped',
      categories,
      xLabel: 'cluster',
      yLabel: 'ms',
      series: [{ name: 'mean', values: categories.map((_, i) => i) }],
    });
    // Category labels: centred under their slot, one text per line.
    const lines = texts(svg).filter(
      (text) =>
        text.angle === 0 &&
        text.anchor === 'middle' &&
        !['Wrapped', 'cluster'].includes(text.content),
    );
    const slots = new Map<number, SvgText[]>();
    for (const line of lines) {
      const x = Math.round(line.x);
      slots.set(x, [...(slots.get(x) ?? []), line]);
    }
    const labels = [...slots.values()].map((slot) =>
      slot
        .sort((one, other) => one.y - other.y)
        .map((line) => line.content)
        .join(' '),
    );
    expect(labels).toEqual(categories);
    expect([...slots.values()].every((slot) => slot.length > 1)).toBe(true);
  });

  it('labels only every nth category of a long time axis, level, when asked', () => {
    const times = Array.from({ length: 60 }, (_, i) =>
      `${Math.floor(i / 6)}:${(i % 6) * 10}`.padEnd(4, '0'),
    );
    const svg = linePanelChart({
      title: 'Memory',
      categories: times,
      xLabel: 'time',
      labelEvery: 10,
      panels: [
        { title: 'heap', yLabel: 'MB', series: [{ name: 'db', values: times.map((_, i) => i) }] },
        {
          title: 'RSS',
          yLabel: 'MB',
          series: [{ name: 'db', values: times.map((_, i) => 2 * i) }],
        },
      ],
    });
    const labels = texts(svg).filter((text) => times.includes(text.content));
    // Per panel: categories 0, 10, …, 50, unrotated now that each has ten slots of room.
    expect(labels.map((label) => label.content).sort()).toEqual(
      [0, 10, 20, 30, 40, 50].flatMap((i) => [times[i], times[i]]).sort(),
    );
    expect(labels.every((label) => label.angle === 0)).toBe(true);
  });

  it('dashes a reference line', () => {
    const svg = lineChart({
      title: 'Lines',
      categories: clients,
      xLabel: 'clients',
      yLabel: 'ms',
      series: [
        { name: 'ours', values: [0.2, 0.3, 0.4] },
        { name: 'report', values: [0.41, 0.4, 0.41], style: 'reference' },
      ],
    });
    const lines = [...svg.matchAll(/<path d="M[^"]*L[^"]*L[^"]*"([^>]*)>/g)].map(
      ([, attributes]) => attributes,
    );
    expect(lines.filter((attributes) => attributes.includes('stroke-dasharray'))).toHaveLength(1);
  });
});
