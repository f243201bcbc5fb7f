import * as echarts from 'echarts';
import type {
  BarSeriesOption,
  EChartsOption,
  GridComponentOption,
  LegendComponentOption,
  LineSeriesOption,
  TitleComponentOption,
  XAXisComponentOption,
  YAXisComponentOption,
} from 'echarts';

/** Width of every chart, and the height of one with one row of panels, in px. */
const width = 900;
const height = 480;

/**
 * Renders an ECharts option to an SVG document with ECharts' server-side
 * renderer (no browser, no canvas). Animation is off so the first frame is
 * the final one.
 */
export function renderSvg(
  option: EChartsOption,
  size: { width?: number; height?: number } = {},
): string {
  const chart = echarts.init(null, null, {
    renderer: 'svg',
    ssr: true,
    width: size.width ?? width,
    height: size.height ?? height,
  });
  try {
    chart.setOption({ animation: false, backgroundColor: '#fff', ...option });
    return chart.renderToSVGString();
  } finally {
    chart.dispose();
  }
}

/** One series of a bar or line chart. */
export interface ChartSeries {
  name: string;
  /** One value per category; `null` leaves a gap. */
  values: (number | null)[];
  /**
   * `'measured'` (the default): figures of our own runs, drawn solid.
   * `'reference'`: figures quoted from elsewhere, such as the report's: bars
   * are a lighter fill hatched in the series' colour with a border of it,
   * lines are dashed with hollow points, so they read apart from ours at a
   * glance (in the legend too).
   */
  style?: 'measured' | 'reference';
}

/** Options of {@link barChart} and {@link lineChart}. */
export interface CategoryChart {
  title: string;
  /** Labels of the x axis. */
  categories: string[];
  xLabel: string;
  yLabel: string;
  series: ChartSeries[];
}

/** One panel of a {@link panelChart}: its own y axis. */
export interface ChartPanel {
  title: string;
  yLabel: string;
  series: ChartSeries[];
  /**
   * `'log'` for values spanning orders of magnitude (only positive values
   * are drawn; others are gaps). Default `'linear'`.
   */
  yScale?: 'linear' | 'log';
}

/** Options of {@link panelChart}. */
export interface PanelChart {
  title: string;
  subtitle?: string;
  categories: string[];
  xLabel: string;
  panels: ChartPanel[];
  /**
   * Label only every nth category (the first, then each nth after it), for
   * long series such as samples over time. Default 1: every category.
   */
  labelEvery?: number;
}

/**
 * Bar panels side by side (or stacked when more than 2), sharing the
 * categories; one legend for all series names.
 *
 * Each panel has its own y axis, so figures of different scales (means and
 * p99s) each fill their panel. Series of the same name in different panels
 * share a colour and one legend entry. The legend sits between the title
 * and the panels, in as many rows as it needs; every category is labelled
 * (wrapped or rotated when too long for its slot); bars carry their values
 * (2–3 significant digits) only when all of a panel's labels fit their bars'
 * width.
 */
export function panelChart(chart: PanelChart): string {
  return renderLaidOut(chart, 'bar');
}

/** As {@link panelChart}, with lines through the categories instead of bars and no value labels. */
export function linePanelChart(chart: PanelChart): string {
  return renderLaidOut(chart, 'line');
}

/** A grouped bar chart as SVG: a {@link panelChart} of one untitled panel. */
export function barChart(chart: CategoryChart): string {
  return renderLaidOut(singlePanel(chart), 'bar');
}

/** A line chart as SVG: a {@link linePanelChart} of one untitled panel. */
export function lineChart(chart: CategoryChart): string {
  return renderLaidOut(singlePanel(chart), 'line');
}

function singlePanel(chart: CategoryChart): PanelChart {
  return {
    title: chart.title,
    categories: chart.categories,
    xLabel: chart.xLabel,
    panels: [{ title: '', yLabel: chart.yLabel, series: chart.series }],
  };
}

/** Colour-blind-safe qualitative palette (Tableau 10), assigned to series names in order. */
const palette = [
  '#4e79a7',
  '#f28e2b',
  '#59a14f',
  '#e15759',
  '#b07aa1',
  '#76b7b2',
  '#edc948',
  '#9c755f',
  '#ff9da7',
  '#bab0ac',
];

const margin = 12;

/** How a chart's title, subtitle or a panel's title is set. */
interface TitleStyle {
  fontSize: number;
  bold: boolean;
  colour: string;
}
const titleStyle: TitleStyle = { fontSize: 16, bold: true, colour: '#222' };
const subtitleStyle: TitleStyle = { fontSize: 12, bold: false, colour: '#555' };
const panelTitleStyle: TitleStyle = { fontSize: 13, bold: true, colour: '#333' };
const legendFont = 12;
const legendIconWidth = 25;
const legendIconHeight = 14;
/** Between a legend icon and its text (ECharts' default), and between two entries of a row. */
const legendIconGap = 5;
const legendEntryGap = 20;
const legendRowGap = 8;
const axisLabelFont = 12;
/** ECharts' default gap between an axis line and its labels. */
const axisLabelMargin = 8;
const valueLabelFont = 11;
/** Gap between panels side by side or stacked. */
const panelGap = 36;
/** Height of a stacked panel, its title and axes included. */
const stackedPanelHeight = 270;
/** Smallest height of a row of side-by-side panels, however tall the titles and legend. */
const minPanelHeight = 300;
/** Width the y axis' labels and name take beside a panel's plot (estimate; ECharts fits them exactly). */
const yAxisWidth = 72;
/** ECharts' defaults for grouped bars: gap between categories and between bars of one category. */
const barCategoryGap = 0.2;
const barGap = 0.3;

/**
 * Approximate width of `text` in px. Per-glyph widths in em, a little wider
 * than Helvetica's (which ECharts assumes without a canvas) so that the
 * viewer's sans-serif (DejaVu Sans, Arial, …) fits inside the estimate.
 */
function textWidth(text: string, fontSize: number, bold = false): number {
  let em = 0;
  for (const glyph of text) {
    if (/[ijl.,:;'!|]/.test(glyph)) em += 0.3;
    else if (/[ftrI()[\]{} -]/.test(glyph)) em += 0.4;
    else if (/[mwMW@%—]/.test(glyph)) em += 0.95;
    else if (/[A-Z]/.test(glyph)) em += 0.72;
    else em += 0.62;
  }
  return em * fontSize * (bold ? 1.1 : 1);
}

/** Splits `text` at spaces into lines no wider than `maxWidth` (a single long word stays whole). */
function wrap(text: string, fontSize: number, maxWidth: number, bold = false): string[] {
  const lines: string[] = [];
  for (const word of text.split(' ')) {
    const last = lines.length - 1;
    if (last >= 0 && textWidth(`${lines[last]} ${word}`, fontSize, bold) <= maxWidth) {
      lines[last] = `${lines[last]} ${word}`;
    } else {
      lines.push(word);
    }
  }
  return lines;
}

/** A value as a bar's label: 2–3 significant digits, whole numbers from 100 up. */
function formatValue(value: number): string {
  if (Math.abs(value) >= 100) return String(Math.round(value));
  return String(Number(value.toPrecision(3)));
}

/** `hex` moved towards white by `amount` (0: unchanged, 1: white). */
function lighter(hex: string, amount: number): string {
  const channels = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  return `#${channels
    .map((c) =>
      Math.round(c + (255 - c) * amount)
        .toString(16)
        .padStart(2, '0'),
    )
    .join('')}`;
}

/** One legend entry: a series name placed at a computed position. */
interface LegendEntry {
  name: string;
  left: number;
  top: number;
}

/**
 * Places the legend's entries in centred rows below `top`, each entry at an
 * explicit position, so the space it takes is known before ECharts draws it.
 */
function legendLayout(names: string[], top: number): { entries: LegendEntry[]; bottom: number } {
  const available = width - 2 * margin;
  const rows: { name: string; width: number }[][] = [];
  let rowWidth = 0;
  for (const name of names) {
    const entryWidth = legendIconWidth + legendIconGap + textWidth(name, legendFont);
    const row = rows[rows.length - 1];
    if (row !== undefined && rowWidth + legendEntryGap + entryWidth <= available) {
      row.push({ name, width: entryWidth });
      rowWidth += legendEntryGap + entryWidth;
    } else {
      rows.push([{ name, width: entryWidth }]);
      rowWidth = entryWidth;
    }
  }
  const entries: LegendEntry[] = [];
  rows.forEach((row, r) => {
    const total =
      row.reduce((sum, entry) => sum + entry.width, 0) + legendEntryGap * (row.length - 1);
    let left = (width - total) / 2;
    const rowTop = top + r * (legendIconHeight + legendRowGap);
    for (const entry of row) {
      entries.push({ name: entry.name, left: Math.round(left), top: Math.round(rowTop) });
      left += entry.width + legendEntryGap;
    }
  });
  const bottom =
    rows.length === 0
      ? top
      : top + rows.length * legendIconHeight + (rows.length - 1) * legendRowGap;
  return { entries, bottom };
}

/** A panel's box on the canvas: its title on top, then its plot with axes. */
interface PanelBox {
  left: number;
  top: number;
  width: number;
  height: number;
}

/**
 * Boxes of `count` panels below `top`: side by side in the chart's height
 * when one or two, else stacked, each as tall as {@link stackedPanelHeight};
 * and the height of the whole chart.
 */
function panelBoxes(count: number, top: number): { boxes: PanelBox[]; height: number } {
  if (count <= 2) {
    const panelHeight = Math.max(minPanelHeight, height - top - margin);
    const panelWidth = (width - 2 * margin - panelGap * (count - 1)) / count;
    return {
      boxes: Array.from({ length: count }, (_, i) => ({
        left: margin + i * (panelWidth + panelGap),
        top,
        width: panelWidth,
        height: panelHeight,
      })),
      height: top + panelHeight + margin,
    };
  }
  return {
    boxes: Array.from({ length: count }, (_, i) => ({
      left: margin,
      top: top + i * (stackedPanelHeight + panelGap),
      width: width - 2 * margin,
      height: stackedPanelHeight,
    })),
    height: top + count * stackedPanelHeight + (count - 1) * panelGap + margin,
  };
}

type CategoryAxisOption = Extract<XAXisComponentOption, { type?: 'category' }>;

/**
 * The x axis of a panel, every category labelled (or every `labelEvery`th,
 * each then having the room of as many slots): as is when the widest
 * label fits its slot, else wrapped at spaces when every word fits, else
 * rotated. The axis name goes below the labels at a gap computed from their
 * height (ECharts' own overlap avoidance misses rotated labels).
 */
function categoryAxis(
  categories: string[],
  categorySlot: number,
  name: string,
  labelEvery = 1,
): CategoryAxisOption {
  const slot = categorySlot * labelEvery;
  // A few px between neighbouring labels.
  const room = slot - 8;
  const widest = Math.max(0, ...categories.map((label) => textWidth(label, axisLabelFont)));
  let axisLabel: CategoryAxisOption['axisLabel'] = {
    interval: labelEvery - 1,
    hideOverlap: false,
    fontSize: axisLabelFont,
  };
  let labelHeight = axisLabelFont * 1.2;
  if (widest > room) {
    const words = categories.flatMap((label) => label.split(' '));
    const lines = Math.max(...categories.map((label) => wrap(label, axisLabelFont, room).length));
    if (words.every((word) => textWidth(word, axisLabelFont) <= room) && lines <= 3) {
      const lineHeight = axisLabelFont + 3;
      axisLabel = {
        ...axisLabel,
        formatter: (label: string) => wrap(label, axisLabelFont, room).join('\n'),
        lineHeight,
      };
      labelHeight = lines * lineHeight;
    } else {
      const rotate = slot >= 2 * axisLabelFont ? 40 : 90;
      const radians = (rotate * Math.PI) / 180;
      axisLabel = { ...axisLabel, rotate };
      labelHeight = widest * Math.sin(radians) + axisLabelFont * Math.cos(radians);
    }
  }
  return {
    type: 'category',
    data: categories,
    name,
    nameLocation: 'middle',
    nameGap: Math.ceil(axisLabelMargin + labelHeight + 6),
    nameMoveOverlap: false,
    axisLabel,
  };
}

/** Whether every value label of `series` fits the width of its bar in a slot of `slot` px. */
function valueLabelsFit(series: ChartSeries[], slot: number): boolean {
  const bars = Math.max(1, series.length);
  const barWidth = (slot * (1 - barCategoryGap)) / (bars + barGap * (bars - 1));
  const labels = series.flatMap((s) => s.values.filter((v): v is number => v !== null));
  return labels.every((value) => textWidth(formatValue(value), valueLabelFont) + 2 <= barWidth);
}

/** The ECharts series of `series` on panel `axis`, styled as measured or reference. */
function seriesOption(
  series: ChartSeries,
  colour: string,
  type: 'bar' | 'line',
  axis: number,
  yScale: 'linear' | 'log',
  showValues: boolean,
): BarSeriesOption | LineSeriesOption {
  const reference = series.style === 'reference';
  const data = series.values.map((value) =>
    value === null || (yScale === 'log' && value <= 0) ? null : value,
  );
  const common = { name: series.name, data, xAxisIndex: axis, yAxisIndex: axis };
  if (type === 'line') {
    return {
      ...common,
      type: 'line',
      symbol: reference ? 'emptyCircle' : 'circle',
      symbolSize: 7,
      itemStyle: { color: colour },
      lineStyle: { color: colour, width: 2, type: reference ? 'dashed' : 'solid' },
    };
  }
  return {
    ...common,
    type: 'bar',
    barGap: `${barGap * 100}%`,
    barCategoryGap: `${barCategoryGap * 100}%`,
    itemStyle: reference
      ? {
          color: lighter(colour, 0.6),
          borderColor: colour,
          borderWidth: 1.5,
          decal: {
            symbol: 'rect',
            dashArrayX: [1, 0],
            dashArrayY: [1.5, 4],
            rotation: -Math.PI / 4,
            color: colour,
          },
        }
      : { color: colour },
    label: {
      show: showValues,
      position: 'top',
      fontSize: valueLabelFont,
      color: '#333',
      formatter: ({ value }) => (typeof value === 'number' ? formatValue(value) : ''),
    },
  };
}

/**
 * A title centred on `centre`, wrapped to `maxWidth`, its top at `top`; and
 * the height its lines take.
 */
function title(
  text: string,
  style: TitleStyle,
  centre: number,
  top: number,
  maxWidth: number,
): { option: TitleComponentOption; height: number } {
  const lines = wrap(text, style.fontSize, maxWidth, style.bold);
  const lineHeight = Math.round(style.fontSize * 1.3);
  return {
    option: {
      text: lines.join('\n'),
      left: centre,
      top,
      padding: 0,
      textAlign: 'center',
      textStyle: {
        fontSize: style.fontSize,
        fontWeight: style.bold ? 'bold' : 'normal',
        color: style.colour,
        lineHeight,
      },
    },
    height: lines.length * lineHeight,
  };
}

/** Lays a {@link PanelChart} out and renders it as SVG. */
function renderLaidOut(chart: PanelChart, type: 'bar' | 'line'): string {
  const heading = [title(chart.title, titleStyle, width / 2, margin, width - 2 * margin)];
  let headingBottom = margin + heading[0].height;
  if (chart.subtitle !== undefined && chart.subtitle !== '') {
    const subtitle = title(
      chart.subtitle,
      subtitleStyle,
      width / 2,
      headingBottom + 4,
      width - 2 * margin,
    );
    heading.push(subtitle);
    headingBottom += 4 + subtitle.height;
  }

  const names = [...new Set(chart.panels.flatMap((panel) => panel.series.map((s) => s.name)))];
  const colours = new Map(names.map((name, i) => [name, palette[i % palette.length]]));
  const legend = legendLayout(names, headingBottom + 10);
  const layout = panelBoxes(chart.panels.length, legend.bottom + 14);
  const panelTitles = chart.panels.map((panel, i) => {
    const box = layout.boxes[i];
    return panel.title === ''
      ? undefined
      : title(panel.title, panelTitleStyle, box.left + box.width / 2, box.top, box.width);
  });

  const slots = layout.boxes.map(
    (box) => (box.width - yAxisWidth) / Math.max(1, chart.categories.length),
  );
  const valueLabels = chart.panels.map(
    (panel, i) => type === 'bar' && valueLabelsFit(panel.series, slots[i]),
  );
  // Room above the plots for the panels' titles, then for the labels of the tallest bars (or
  // half the top tick's label): the same for every panel, so that plots side by side start level.
  const plotOffset =
    Math.max(0, ...panelTitles.map((t) => (t === undefined ? 0 : t.height + 6))) +
    (valueLabels.some((shown) => shown) ? valueLabelFont + 10 : 8);

  const grids: GridComponentOption[] = [];
  const xAxes: CategoryAxisOption[] = [];
  const yAxes: YAXisComponentOption[] = [];
  const series: (BarSeriesOption | LineSeriesOption)[] = [];
  chart.panels.forEach((panel, i) => {
    const box = layout.boxes[i];
    const plotTop = box.top + plotOffset;
    const yScale = panel.yScale ?? 'linear';
    const whole = panel.series.every((s) =>
      s.values.every((v) => v === null || Number.isInteger(v)),
    );
    // The grid is the panel's box; ECharts moves the axes in until their labels and names fit it.
    grids.push({
      left: box.left,
      top: plotTop,
      width: box.width,
      height: box.top + box.height - plotTop,
      outerBoundsMode: 'same',
      outerBoundsContain: 'all',
    });
    xAxes.push({
      ...categoryAxis(chart.categories, slots[i], chart.xLabel, chart.labelEvery),
      gridIndex: i,
    });
    yAxes.push({
      gridIndex: i,
      type: yScale === 'log' ? 'log' : 'value',
      name: panel.yLabel,
      nameLocation: 'middle',
      nameGap: 12,
      nameMoveOverlap: true,
      axisLabel: { fontSize: axisLabelFont },
      ...(whole && yScale === 'linear' ? { minInterval: 1 } : {}),
    });
    for (const s of panel.series) {
      series.push(
        seriesOption(s, colours.get(s.name) ?? palette[0], type, i, yScale, valueLabels[i]),
      );
    }
  });

  const legends: LegendComponentOption[] = legend.entries.map((entry) => ({
    data: [entry.name],
    left: entry.left,
    top: entry.top,
    padding: 0,
    itemGap: 0,
    itemWidth: legendIconWidth,
    itemHeight: legendIconHeight,
    selectedMode: false,
    textStyle: { fontSize: legendFont, color: '#333' },
  }));
  const titles = [...heading, ...panelTitles.filter((t) => t !== undefined)].map((t) => t.option);
  return renderSvg(
    { title: titles, legend: legends, grid: grids, xAxis: xAxes, yAxis: yAxes, series },
    { width, height: layout.height },
  );
}
