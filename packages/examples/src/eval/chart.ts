import * as echarts from 'echarts';
import type { EChartsOption } from 'echarts';

/** Size of every chart, in px. */
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
  values: (number | null)[];
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

function categoryOption(chart: CategoryChart, type: 'bar' | 'line'): EChartsOption {
  return {
    title: { text: chart.title, left: 'center', textStyle: { fontSize: 15 } },
    legend: { top: 30 },
    grid: { top: 75, left: 70, right: 30, bottom: 55 },
    xAxis: {
      type: 'category',
      data: chart.categories,
      name: chart.xLabel,
      nameLocation: 'middle',
      nameGap: 32,
    },
    yAxis: { type: 'value', name: chart.yLabel, nameLocation: 'middle', nameGap: 50 },
    series: chart.series.map((s) => ({
      type,
      name: s.name,
      data: s.values,
      ...(type === 'bar'
        ? {
            label: {
              show: chart.series.length * chart.categories.length <= 24,
              position: 'top' as const,
            },
          }
        : {}),
    })),
  };
}

/** A grouped bar chart as SVG. */
export function barChart(chart: CategoryChart): string {
  return renderSvg(categoryOption(chart, 'bar'));
}

/** A line chart as SVG. */
export function lineChart(chart: CategoryChart): string {
  return renderSvg(categoryOption(chart, 'line'));
}
