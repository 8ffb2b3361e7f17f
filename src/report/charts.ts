/**
 * The report's charts: Vega-Lite specifications built from the report
 * document, compiled and rendered to SVG text here, at report time, so the
 * page needs no script and fetches nothing. Rendering is deterministic: the
 * same document gives the same SVG.
 */
import type { ChannelRow, ReportDocument, ReportSample } from './report';

/** One chart of the page: its id suffix, its caption and its SVG. */
export interface Chart {
  name: ChartName;
  title: string;
  caption: string;
  svg: string;
}

export type ChartName =
  | 'fitted-vs-actual'
  | 'residuals-vs-fitted'
  | 'residual-histogram'
  | 'normal-qq'
  | 'coefficients'
  | 'cv-curve'
  | 'channel-metrics'
  | 'hosts';

type Spec = Record<string, unknown>;

const WIDTH = 440;
const HEIGHT = 280;
const ACCENT = '#2f6db5';
const SECOND = '#d9622b';
const MUTED = '#6b7280';
const FONT = '-apple-system, "Segoe UI", Helvetica, Arial, sans-serif';

/** Shared look: light grid, quiet axes, the page's font. */
const CONFIG: Spec = {
  font: FONT,
  background: 'white',
  view: { stroke: null },
  axis: { labelColor: '#374151', titleColor: '#111827', gridColor: '#e5e7eb', domainColor: '#9ca3af', tickColor: '#9ca3af', labelFontSize: 11, titleFontSize: 12, titleFontWeight: 600 },
  legend: { labelFontSize: 11, titleFontSize: 11, orient: 'bottom', labelLimit: 360 },
  header: { labelFontSize: 12, labelFontWeight: 600 },
  point: { filled: true, size: 18, opacity: 0.55, color: ACCENT },
  bar: { color: ACCENT },
  line: { color: ACCENT },
};

function top(spec: Spec, width = WIDTH, height = HEIGHT): Spec {
  return { $schema: 'https://vega.github.io/schema/vega-lite/v6.json', width, height, config: CONFIG, ...spec };
}

/**
 * The residuals the plots show: actual − fitted, scaled by √weight for a
 * weighted fit (those are the residuals the fit makes homoscedastic).
 */
function conditionalResiduals(sample: ReportSample): { residuals: number[]; scaled: boolean } {
  const w = sample.weights;
  const residuals = sample.actual.map((a, i) => (a - sample.fitted[i]) * (w ? Math.sqrt(w[i]) : 1));
  return { residuals, scaled: w !== null };
}

/** The standard normal distribution function, from the complementary error function (Numerical Recipes' erfc, |error| < 1.2e-7). */
function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.5 * x);
  const poly =
    -x * x - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  const erfc = t * Math.exp(poly);
  return z >= 0 ? 1 - erfc / 2 : erfc / 2;
}

/** The standard normal quantile, by bisection on the distribution function (plots need a few digits). */
function normalQuantile(p: number): number {
  let lo = -9;
  let hi = 9;
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    if (normalCdf(mid) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

const q = (field: string, title: string, extra: Spec = {}): Spec => ({ field, type: 'quantitative', title, ...extra });

function fittedVsActual(fitted: number[], actual: number[], label: string): Spec {
  const values = fitted.map((f, i) => ({ fitted: f, actual: actual[i] }));
  const lo = Math.min(...fitted, ...actual);
  const hi = Math.max(...fitted, ...actual);
  return top({
    layer: [
      { data: { values }, mark: { type: 'point', aria: false }, encoding: { x: q('fitted', 'fitted', { scale: { zero: false } }), y: q('actual', `actual ${label}`, { scale: { zero: false } }) } },
      {
        data: { values: [{ fitted: lo, actual: lo }, { fitted: hi, actual: hi }] },
        mark: { type: 'line', color: SECOND, strokeDash: [5, 4], strokeWidth: 1.5 },
        encoding: { x: { field: 'fitted', type: 'quantitative' }, y: { field: 'actual', type: 'quantitative' } },
      },
    ],
  });
}

function residualsVsFitted(fitted: number[], residuals: number[], scaled: boolean): Spec {
  const values = fitted.map((f, i) => ({ fitted: f, residual: residuals[i] }));
  return top({
    layer: [
      { data: { values }, mark: { type: 'point', aria: false }, encoding: { x: q('fitted', 'fitted', { scale: { zero: false } }), y: q('residual', scaled ? 'residual × √weight' : 'residual') } },
      { data: { values: [{ zero: 0 }] }, mark: { type: 'rule', color: SECOND, strokeDash: [5, 4], strokeWidth: 1.5 }, encoding: { y: { field: 'zero', type: 'quantitative' } } },
    ],
  });
}

/** Bins computed here (not by Vega-Lite) so the normal curve can be scaled to the counts. */
function residualHistogram(residuals: number[], scaled: boolean): Spec {
  const n = residuals.length;
  const lo = Math.min(...residuals);
  const hi = Math.max(...residuals);
  const bins = Math.max(5, Math.min(40, Math.ceil(Math.sqrt(n))));
  const width = hi > lo ? (hi - lo) / bins : 1;
  const counts = new Array<number>(bins).fill(0);
  for (const r of residuals) counts[Math.min(bins - 1, Math.floor((r - lo) / width))] += 1;
  const bars = counts.map((count, i) => ({ start: lo + i * width, end: lo + (i + 1) * width, count }));
  const mean = residuals.reduce((s, r) => s + r, 0) / n;
  const sd = Math.sqrt(residuals.reduce((s, r) => s + (r - mean) ** 2, 0) / Math.max(1, n - 1));
  const curve: { x: number; density: number }[] = [];
  if (sd > 0) {
    const from = Math.min(lo, mean - 3.5 * sd);
    const to = Math.max(hi, mean + 3.5 * sd);
    for (let i = 0; i <= 120; i++) {
      const x = from + ((to - from) * i) / 120;
      curve.push({ x, density: (n * width * Math.exp(-0.5 * ((x - mean) / sd) ** 2)) / (sd * Math.sqrt(2 * Math.PI)) });
    }
  }
  return top({
    layer: [
      {
        data: { values: bars },
        mark: { type: 'rect', color: ACCENT, opacity: 0.75, stroke: 'white', strokeWidth: 0.5 },
        encoding: { x: q('start', scaled ? 'residual × √weight' : 'residual'), x2: { field: 'end' }, y: q('count', 'rows'), y2: { datum: 0 } },
      },
      { data: { values: curve }, mark: { type: 'line', color: SECOND, strokeWidth: 2 }, encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'density', type: 'quantitative' } } },
    ],
  });
}

/** Standardised residuals against normal quantiles at plotting positions (i − 0.5)/n. */
function normalQq(residuals: number[]): Spec {
  const n = residuals.length;
  const mean = residuals.reduce((s, r) => s + r, 0) / n;
  const sd = Math.sqrt(residuals.reduce((s, r) => s + (r - mean) ** 2, 0) / Math.max(1, n - 1)) || 1;
  const sorted = residuals.map((r) => (r - mean) / sd).sort((a, b) => a - b);
  const values = sorted.map((r, i) => ({ theoretical: normalQuantile((i + 0.5) / n), standardised: r }));
  const ends = [values[0].theoretical, values[n - 1].theoretical];
  return top({
    layer: [
      { data: { values }, mark: { type: 'point', aria: false }, encoding: { x: q('theoretical', 'theoretical quantile (standard normal)'), y: q('standardised', 'standardised residual') } },
      {
        data: { values: ends.map((v) => ({ theoretical: v, standardised: v })) },
        mark: { type: 'line', color: SECOND, strokeDash: [5, 4], strokeWidth: 1.5 },
        encoding: { x: { field: 'theoretical', type: 'quantitative' }, y: { field: 'standardised', type: 'quantitative' } },
      },
    ],
  });
}

/** Beyond this many features the chart shows the most significant ones. */
const MAX_COEFFICIENTS = 30;

/** The features the chart shows, in the model's order: all, or the MAX_COEFFICIENTS of largest |t| (|coefficient| without t). */
function shownFeatures(report: ReportDocument): number[] {
  const m = report.model;
  const all = m.feature_names.map((_, i) => i);
  if (all.length <= MAX_COEFFICIENTS) return all;
  const t = m.statistics.t_values.coefficients;
  const useT = t.some((v) => v !== null);
  const size = (i: number) => Math.abs((useT ? t[i] : m.coefficients[i]) ?? 0);
  const kept = new Set([...all].sort((a, b) => size(b) - size(a) || a - b).slice(0, MAX_COEFFICIENTS));
  return all.filter((i) => kept.has(i));
}

function coefficients(report: ReportDocument): { spec: Spec; intervals: boolean; level: number | null; shown: number } {
  const m = report.model;
  const ci = m.statistics.conf_int ?? null;
  const shown = shownFeatures(report);
  const values = shown.map((i) => ({
    feature: m.feature_names[i],
    coefficient: m.coefficients[i],
    lower: ci?.lower.coefficients[i] ?? null,
    upper: ci?.upper.coefficients[i] ?? null,
    status: m.aliased[i] ? 'aliased (0)' : 'estimated',
  }));
  const intervals = values.some((v) => v.lower !== null && v.upper !== null);
  const height = Math.max(120, Math.min(640, 22 * values.length));
  const y = { field: 'feature', type: 'nominal', title: null, sort: null };
  const layer: Spec[] = [
    { data: { values: [{ zero: 0 }] }, mark: { type: 'rule', color: MUTED, strokeDash: [3, 3] }, encoding: { x: { field: 'zero', type: 'quantitative' } } },
  ];
  if (intervals) {
    layer.push({
      transform: [{ filter: 'datum.lower !== null && datum.upper !== null' }],
      mark: { type: 'rule', color: ACCENT, strokeWidth: 2 },
      encoding: { y, x: q('lower', 'coefficient'), x2: { field: 'upper' } },
    });
  }
  layer.push({
    mark: { type: 'point', filled: true, size: 60, opacity: 1 },
    encoding: {
      y,
      x: q('coefficient', 'coefficient'),
      ...(m.aliased.some(Boolean) ? { color: { field: 'status', type: 'nominal', title: null, scale: { domain: ['estimated', 'aliased (0)'], range: [ACCENT, '#b91c1c'] } } } : {}),
    },
  });
  return { spec: top({ data: { values }, layer }, WIDTH, height), intervals, level: ci?.level ?? null, shown: shown.length };
}

function cvCurve(report: ReportDocument): Spec | null {
  const cv = report.model.cv;
  if (!cv) return null;
  const values = cv.grid
    .map((value, i) => ({ penalty: value, mse: cv.mse[i], lower: cv.mse[i] - cv.standard_error[i], upper: cv.mse[i] + cv.standard_error[i] }))
    .filter((v) => v.penalty > 0 && Number.isFinite(v.mse));
  if (values.length === 0) return null;
  const marks = [
    { penalty: cv.chosen, which: `least CV mse (${cv.parameter} fitted)` },
    { penalty: cv.one_standard_error, which: 'one-standard-error choice' },
  ].filter((m) => m.penalty > 0);
  const x = q('penalty', `${cv.parameter} (log scale)`, { scale: { type: 'log' } });
  return top({
    layer: [
      { data: { values }, mark: { type: 'rule', color: '#9ab8dd', strokeWidth: 1.5 }, encoding: { x, y: q('lower', 'cross-validated mse', { scale: { zero: false } }), y2: { field: 'upper' } } },
      { data: { values }, mark: { type: 'line', point: { filled: true, size: 30 }, color: ACCENT }, encoding: { x, y: { field: 'mse', type: 'quantitative' } } },
      {
        data: { values: marks },
        mark: { type: 'rule', strokeDash: [5, 4], strokeWidth: 1.5 },
        encoding: {
          x: { field: 'penalty', type: 'quantitative' },
          color: { field: 'which', type: 'nominal', title: null, scale: { range: [SECOND, '#059669'] } },
        },
      },
    ],
  });
}

function channelMetrics(rows: ChannelRow[]): Spec {
  const values: { channel: string; metric: string; value: number }[] = [];
  for (const row of rows) {
    for (const metric of ['mse', 'rmse', 'mae', 'r2'] as const) {
      const value = row[metric];
      if (value !== null && Number.isFinite(value)) values.push({ channel: row.channel, metric, value });
    }
  }
  const channels = rows.map((r) => r.channel);
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    config: CONFIG,
    data: { values },
    facet: { column: { field: 'metric', type: 'nominal', title: null, sort: ['mse', 'rmse', 'mae', 'r2'] } },
    spec: {
      width: 84,
      height: 200,
      mark: { type: 'bar' },
      encoding: {
        x: { field: 'channel', type: 'nominal', title: null, sort: channels, axis: { labelAngle: -30 } },
        y: { field: 'value', type: 'quantitative', title: null },
        color: { field: 'channel', type: 'nominal', legend: null, sort: channels, scale: { range: [ACCENT, SECOND, '#059669'] } },
      },
    },
    resolve: { scale: { y: 'independent' } },
  };
}

function hostsChart(report: ReportDocument): Spec | null {
  const hosts = report.model.training?.hosts ?? [];
  if (hosts.length < 2) return null;
  const values = hosts.map((h) => ({ host: h.host, rows: h.rows, mb: h.bytes / 1e6 }));
  return top(
    {
      data: { values },
      mark: { type: 'bar' },
      encoding: {
        y: { field: 'host', type: 'nominal', title: null, sort: null },
        x: q('rows', 'training rows read'),
        tooltip: [{ field: 'host' }, { field: 'rows', type: 'quantitative' }, { field: 'mb', type: 'quantitative', format: '.1f', title: 'MB' }],
      },
    },
    WIDTH,
    Math.max(80, 26 * hosts.length),
  );
}

function coefficientCaption(report: ReportDocument, coef: { intervals: boolean; level: number | null; shown: number }): string {
  const level = coef.level === null ? 95 : Math.round(coef.level * 1000) / 10;
  const what = coef.intervals
    ? `Estimated slopes with ${level}% confidence intervals (${report.model.statistics.covariance_type} standard errors)`
    : 'Estimated slopes (no confidence intervals: the fit is penalised or constrained, or has no residual degrees of freedom)';
  const features = report.model.feature_names.length;
  const subset = coef.shown < features ? ` The ${coef.shown} of ${features} features with the largest |t| (or |coefficient|) are shown.` : '';
  return `${what}; the intercept is left out for scale.${subset}`;
}

/** Every chart the report has, in page order, rendered to SVG. */
export async function renderCharts(report: ReportDocument): Promise<Chart[]> {
  const planned: { name: ChartName; title: string; caption: string; spec: Spec }[] = [];
  const sample = report.sample;
  const label = report.model.label_name;
  if (sample !== null && sample.actual.length > 0) {
    const points = plotted(sample);
    const { residuals, scaled } = conditionalResiduals(points);
    const rowsNote = sampleNote(report);
    planned.push(
      { name: 'fitted-vs-actual', title: 'Fitted vs actual', caption: `Actual ${label} against the fitted value; the dashed line is actual = fitted. ${rowsNote}`, spec: fittedVsActual(points.fitted, points.actual, label) },
      { name: 'residuals-vs-fitted', title: 'Residuals vs fitted', caption: `Residuals against the fitted value: no pattern and an even spread are what a linear model with constant variance leaves. ${rowsNote}`, spec: residualsVsFitted(points.fitted, residuals, scaled) },
      { name: 'residual-histogram', title: 'Residual distribution', caption: `Histogram of the residuals with the normal density of the same mean and standard deviation. ${rowsNote}`, spec: residualHistogram(residuals, scaled) },
      { name: 'normal-qq', title: 'Normal Q–Q', caption: `Standardised residuals against standard normal quantiles; points on the dashed line are normally distributed. ${rowsNote}`, spec: normalQq(residuals) },
    );
  }
  const coef = coefficients(report);
  planned.push({
    name: 'coefficients',
    title: 'Coefficients',
    caption: coefficientCaption(report, coef),
    spec: coef.spec,
  });
  const cv = cvCurve(report);
  if (cv !== null && report.model.cv) {
    const p = report.model.cv.parameter;
    planned.push({
      name: 'cv-curve',
      title: 'Cross-validation curve',
      caption: `Mean held-out mse over ${report.model.cv.folds} folds for each ${p}, ± one standard error; the value fitted and the one-standard-error choice are marked.`,
      spec: cv,
    });
  }
  planned.push({
    name: 'channel-metrics',
    title: 'Metrics by channel',
    caption: 'mse, rmse, mae and r² of each channel scored (train mae is not computed: it would need another pass over the data).',
    spec: channelMetrics(report.channels),
  });
  const hosts = hostsChart(report);
  if (hosts !== null) {
    planned.push({ name: 'hosts', title: 'Rows per host', caption: `Training rows each host read (${report.model.training?.distribution}); their sums were merged exactly.`, spec: hosts });
  }
  const charts: Chart[] = [];
  for (const chart of planned) charts.push({ name: chart.name, title: chart.title, caption: chart.caption, svg: await toSvg(chart.spec, chart.name) });
  return charts;
}

/** At most this many rows are drawn: each point is a few hundred bytes of SVG. */
const PLOTTED_ROWS = 2000;

/** The sample's rows the plots draw: all of them, or every k-th when there are more than PLOTTED_ROWS. */
function plotted(sample: ReportSample): ReportSample {
  const n = sample.actual.length;
  if (n <= PLOTTED_ROWS) return sample;
  const pick = <T>(values: T[]) => Array.from({ length: PLOTTED_ROWS }, (_, i) => values[Math.floor((i * n) / PLOTTED_ROWS)]);
  return { ...sample, actual: pick(sample.actual), fitted: pick(sample.fitted), weights: sample.weights ? pick(sample.weights) : null };
}

/** "plots show a deterministic sample of N of M rows", or all rows when the sample is every row. */
export function sampleNote(report: ReportDocument): string {
  const s = report.sample;
  if (s === null) return 'No row sample was recorded, so the residual plots are left out.';
  const weighted = s.weights !== null ? ' Residuals are scaled by the square root of their weights.' : '';
  const shown = Math.min(s.actual.length, PLOTTED_ROWS);
  const count = (n: number) => n.toLocaleString('en-US');
  const leader = (report.model.training?.hosts.length ?? 0) > 1 ? ' read by the leader host' : '';
  if (shown >= s.rows) return `Plots show all ${count(s.rows)} training rows${leader}.${weighted}`;
  return `Plots show a deterministic sample of ${count(shown)} of ${count(s.rows)} rows${leader}.${weighted}`;
}

/** vega and vega-lite are ES modules: loaded with a real dynamic import, once. */
const importEngines = () => Promise.all([import('vega'), import('vega-lite')]);
let engines: ReturnType<typeof importEngines> | undefined;

/** Positions to a hundredth of a pixel: the same picture, a smaller file. */
const round = (v: string) => String(Math.round(Number(v) * 100) / 100);

async function toSvg(spec: Spec, name: string): Promise<string> {
  engines ??= importEngines();
  const [vega, vl] = await engines;
  const compiled = vl.compile(spec as unknown as Parameters<typeof vl.compile>[0]).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    const svg = await view.toSVG();
    // Ids (clip paths, gradients) are unique per chart only: give each chart its own.
    return svg
      .replace(/\bid="([^"]+)"/g, `id="${name}-$1"`)
      .replace(/url\(#([^)]+)\)/g, `url(#${name}-$1)`)
      .replace(/translate\((-?[0-9.]+),(-?[0-9.]+)\)/g, (_, x: string, y: string) => `translate(${round(x)},${round(y)})`);
  } finally {
    view.finalize();
  }
}
