/**
 * The report's charts, drawn here as SVG text (plot.ts) from the report
 * document at report time, so the page needs no script and fetches nothing.
 * Drawing is deterministic: the same document gives the same SVG.
 */
import { ACCENT, MUTED, SECOND, THIRD, barPanels, box, dots, extent, line, namesChart, segment, thousands, xyChart, type LegendItem } from './plot';
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

/** The plot area of most charts (the SVG adds its axes and margins). */
const SIZE = { width: 440, height: 280 };
/** Dot radii: about 18 and 60 px² of area, as the points were before. */
const DOT = 2.4;
const BIG_DOT = 4.4;
const SCATTER = { fill: ACCENT, opacity: 0.55 };
const REFERENCE = { stroke: SECOND, width: 1.5, dash: '5 4' };

/**
 * The plotted rows whose points can be placed (every value finite) and their
 * residuals: actual − fitted, scaled by √weight for a weighted fit (those are
 * the residuals the fit makes homoscedastic).
 */
function plotRows(sample: ReportSample): { fitted: number[]; actual: number[]; residuals: number[]; scaled: boolean } {
  const w = sample.weights;
  const rows = { fitted: [] as number[], actual: [] as number[], residuals: [] as number[], scaled: w !== null };
  sample.actual.forEach((a, i) => {
    const f = sample.fitted[i];
    const r = (a - f) * (w ? Math.sqrt(w[i]) : 1);
    if (!Number.isFinite(a) || !Number.isFinite(f) || !Number.isFinite(r)) return;
    rows.fitted.push(f);
    rows.actual.push(a);
    rows.residuals.push(r);
  });
  return rows;
}

/** Mean and sample standard deviation. */
function meanSd(values: number[]): { mean: number; sd: number } {
  const n = values.length;
  const mean = values.reduce((s, v) => s + v, 0) / n;
  return { mean, sd: Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / Math.max(1, n - 1)) };
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

/** The standard normal quantile, by bisection on the distribution function: 30 halvings of [−9, 9] leave 2e-8, finer than its error. */
function normalQuantile(p: number): number {
  let lo = -9;
  let hi = 9;
  for (let i = 0; i < 30; i++) {
    const mid = (lo + hi) / 2;
    if (normalCdf(mid) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

const residualTitle = (scaled: boolean) => (scaled ? 'residual × √weight' : 'residual');

/** Points and the dashed line actual = fitted across both ranges (each axis spans both, as the line does). */
function fittedVsActual(title: string, fitted: number[], actual: number[], label: string): string {
  const [lo, hi] = extent([...fitted, ...actual]);
  return xyChart(
    title,
    SIZE,
    { values: [...fitted, lo, hi], title: 'fitted' },
    { values: [...actual, lo, hi], title: `actual ${label}` },
    (x, y) => dots(fitted.map((f, i) => [x.at(f), y.at(actual[i])]), DOT, SCATTER) + segment(x.at(lo), y.at(lo), x.at(hi), y.at(hi), REFERENCE),
  );
}

function residualsVsFitted(title: string, fitted: number[], residuals: number[], scaled: boolean): string {
  return xyChart(
    title,
    SIZE,
    { values: fitted, title: 'fitted' },
    { values: residuals, title: residualTitle(scaled), zero: true },
    (x, y) => dots(fitted.map((f, i) => [x.at(f), y.at(residuals[i])]), DOT, SCATTER) + segment(0, y.at(0), SIZE.width, y.at(0), REFERENCE),
  );
}

/** Equal bins (√n of them, 5 to 40) and the normal density of the same mean and sd, scaled to the counts. */
function residualHistogram(title: string, residuals: number[], scaled: boolean): string {
  const n = residuals.length;
  const [lo, hi] = extent(residuals);
  const bins = Math.max(5, Math.min(40, Math.ceil(Math.sqrt(n))));
  const width = hi > lo ? (hi - lo) / bins : 1;
  const counts = new Array<number>(bins).fill(0);
  for (const r of residuals) counts[Math.min(bins - 1, Math.floor((r - lo) / width))] += 1;
  const { mean, sd } = meanSd(residuals);
  const curve: [number, number][] = [];
  if (sd > 0) {
    const from = Math.min(lo, mean - 3.5 * sd);
    const to = Math.max(hi, mean + 3.5 * sd);
    for (let i = 0; i <= 120; i++) {
      const x = from + ((to - from) * i) / 120;
      curve.push([x, (n * width * Math.exp(-0.5 * ((x - mean) / sd) ** 2)) / (sd * Math.sqrt(2 * Math.PI))]);
    }
  }
  const bar = { fill: ACCENT, opacity: 0.75, stroke: 'white', width: 0.5 };
  return xyChart(
    title,
    SIZE,
    { values: [lo, lo + bins * width, ...curve.map(([x]) => x)], title: residualTitle(scaled) },
    { values: [...counts, ...curve.map(([, d]) => d)], title: 'rows', zero: true },
    (x, y) =>
      counts.map((count, i) => (count === 0 ? '' : box(x.at(lo + i * width), y.at(0), x.at(lo + (i + 1) * width), y.at(count), bar))).join('') +
      line(
        curve.map(([v, d]) => [x.at(v), y.at(d)]),
        { stroke: SECOND, width: 2 },
      ),
  );
}

/** Standardised residuals against normal quantiles at plotting positions (i − 0.5)/n, and the line y = x. */
function normalQq(title: string, residuals: number[]): string {
  const n = residuals.length;
  const { mean, sd } = meanSd(residuals);
  const standardised = residuals.map((r) => (r - mean) / (sd || 1)).sort((a, b) => a - b);
  const theoretical = standardised.map((_, i) => normalQuantile((i + 0.5) / n));
  const [lo, hi] = [theoretical[0], theoretical[n - 1]];
  return xyChart(
    title,
    SIZE,
    { values: theoretical, title: 'theoretical quantile (standard normal)' },
    { values: [...standardised, lo, hi], title: 'standardised residual' },
    (x, y) => dots(theoretical.map((t, i) => [x.at(t), y.at(standardised[i])]), DOT, SCATTER) + segment(x.at(lo), y.at(lo), x.at(hi), y.at(hi), REFERENCE),
  );
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

const ALIASED = '#b91c1c';

/** A value the chart can place, or null. */
const placeable = (v: number | null | undefined): number | null => (v !== null && v !== undefined && Number.isFinite(v) ? v : null);

/** Slopes as dots on the features' rows, with their intervals as bars and a dashed rule at 0; aliased ones in red, with a legend. */
function coefficients(title: string, report: ReportDocument): { svg: string; intervals: boolean; level: number | null; shown: number } {
  const m = report.model;
  const ci = m.statistics.conf_int ?? null;
  const shown = shownFeatures(report);
  const rows = shown.map((i) => ({
    coefficient: placeable(m.coefficients[i]),
    lower: placeable(ci?.lower.coefficients[i]),
    upper: placeable(ci?.upper.coefficients[i]),
    aliased: m.aliased[i],
  }));
  const intervals = rows.some((r) => r.lower !== null && r.upper !== null);
  const height = Math.max(120, Math.min(640, 22 * rows.length));
  const values = rows.flatMap((r) => [r.coefficient, r.lower, r.upper]).filter((v): v is number => v !== null);
  const items: LegendItem[] = m.aliased.some(Boolean)
    ? [
        { label: 'estimated', color: ACCENT, symbol: 'dot' },
        { label: 'aliased (0)', color: ALIASED, symbol: 'dot' },
      ]
    : [];
  const svg = namesChart(
    title,
    { width: SIZE.width, height },
    shown.map((i) => m.feature_names[i]),
    { inner: 1, outer: 0.5 },
    { values, title: 'coefficient', zero: true },
    (x, y) => {
      const bars = rows.map((r, i) => (r.lower !== null && r.upper !== null ? segment(x.at(r.lower), y(i), x.at(r.upper), y(i), { stroke: ACCENT, width: 2 }) : ''));
      const points = (aliased: boolean) => rows.flatMap((r, i) => (r.aliased === aliased && r.coefficient !== null ? [[x.at(r.coefficient), y(i)] as [number, number]] : []));
      return (
        segment(x.at(0), 0, x.at(0), height, { stroke: MUTED, dash: '3 3' }) +
        bars.join('') +
        dots(points(false), BIG_DOT, { fill: ACCENT }) +
        dots(points(true), BIG_DOT, { fill: ALIASED })
      );
    },
    items,
  );
  return { svg, intervals, level: ci?.level ?? null, shown: shown.length };
}

/** Mean held-out mse ± one standard error over the penalty grid (log scale), the chosen penalties as dashed rules. */
function cvCurve(title: string, report: ReportDocument): string | null {
  const cv = report.model.cv;
  if (!cv) return null;
  const rows = cv.grid
    .map((penalty, i) => ({ penalty, mse: cv.mse[i], lower: cv.mse[i] - cv.standard_error[i], upper: cv.mse[i] + cv.standard_error[i] }))
    .filter((v) => v.penalty > 0 && Number.isFinite(v.mse));
  if (rows.length === 0) return null;
  const marks = [
    { penalty: cv.chosen, label: `least CV mse (${cv.parameter} fitted)`, color: SECOND },
    { penalty: cv.one_standard_error, label: 'one-standard-error choice', color: THIRD },
  ].filter((mark) => mark.penalty > 0);
  return xyChart(
    title,
    SIZE,
    { values: [...rows.map((r) => r.penalty), ...marks.map((mark) => mark.penalty)], title: `${cv.parameter} (log scale)`, log: true },
    { values: rows.flatMap((r) => [r.mse, r.lower, r.upper]), title: 'cross-validated mse' },
    (x, y) =>
      rows.map((r) => segment(x.at(r.penalty), y.at(r.lower), x.at(r.penalty), y.at(r.upper), { stroke: '#9ab8dd', width: 1.5 })).join('') +
      line(
        rows.map((r) => [x.at(r.penalty), y.at(r.mse)]),
        { stroke: ACCENT, width: 2 },
      ) +
      dots(
        rows.map((r) => [x.at(r.penalty), y.at(r.mse)]),
        3.1,
        { fill: ACCENT },
      ) +
      marks.map((mark) => segment(x.at(mark.penalty), 0, x.at(mark.penalty), SIZE.height, { stroke: mark.color, width: 1.5, dash: '5 4' })).join(''),
    marks.map((mark) => ({ label: mark.label, color: mark.color, symbol: 'dash' })),
  );
}

const METRICS = ['mse', 'rmse', 'mae', 'r2'] as const;

/** A panel of bars per metric that some channel has, each with its own scale; a colour per channel. */
function channelMetrics(title: string, rows: ChannelRow[]): string {
  const panels = METRICS.map((metric) => ({ title: metric, values: rows.map((r) => placeable(r[metric])) })).filter((p) => p.values.some((v) => v !== null));
  return barPanels(
    title,
    { width: 84, height: 200 },
    rows.map((r) => r.channel),
    [ACCENT, SECOND, THIRD],
    panels,
  );
}

/** A bar of training rows per host, its rows and megabytes in the bar's tooltip. */
function hostsChart(title: string, report: ReportDocument): string | null {
  const hosts = report.model.training?.hosts ?? [];
  if (hosts.length < 2) return null;
  return namesChart(
    title,
    { width: SIZE.width, height: Math.max(80, 26 * hosts.length) },
    hosts.map((h) => h.host),
    { inner: 0.1, outer: 0.05 },
    { values: hosts.map((h) => h.rows), title: 'training rows read', zero: true },
    (x, y, band) =>
      hosts
        .map((h, i) => box(x.at(0), y(i) - band / 2, x.at(h.rows), y(i) + band / 2, { fill: ACCENT }, `${h.host}: ${thousands(h.rows)} rows, ${(h.bytes / 1e6).toFixed(1)} MB`))
        .join(''),
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

/** Every chart the report has, in page order, drawn as SVG. */
export function renderCharts(report: ReportDocument): Chart[] {
  const charts: Chart[] = [];
  const add = (name: ChartName, title: string, caption: string, draw: (title: string) => string | null) => {
    const svg = draw(title);
    if (svg !== null) charts.push({ name, title, caption, svg });
  };
  const label = report.model.label_name;
  const rows = report.sample === null ? null : plotRows(plotted(report.sample));
  if (rows !== null && rows.residuals.length > 0) {
    const { fitted, actual, residuals, scaled } = rows;
    const note = sampleNote(report);
    add('fitted-vs-actual', 'Fitted vs actual', `Actual ${label} against the fitted value; the dashed line is actual = fitted. ${note}`, (t) =>
      fittedVsActual(t, fitted, actual, label),
    );
    add(
      'residuals-vs-fitted',
      'Residuals vs fitted',
      `Residuals against the fitted value: no pattern and an even spread are what a linear model with constant variance leaves. ${note}`,
      (t) => residualsVsFitted(t, fitted, residuals, scaled),
    );
    add('residual-histogram', 'Residual distribution', `Histogram of the residuals with the normal density of the same mean and standard deviation. ${note}`, (t) =>
      residualHistogram(t, residuals, scaled),
    );
    add('normal-qq', 'Normal Q–Q', `Standardised residuals against standard normal quantiles; points on the dashed line are normally distributed. ${note}`, (t) =>
      normalQq(t, residuals),
    );
  }
  const coef = coefficients('Coefficients', report);
  add('coefficients', 'Coefficients', coefficientCaption(report, coef), () => coef.svg);
  const cv = report.model.cv;
  if (cv) {
    const caption = `Mean held-out mse over ${cv.folds} folds for each ${cv.parameter}, ± one standard error; the value fitted and the one-standard-error choice are marked.`;
    add('cv-curve', 'Cross-validation curve', caption, (t) => cvCurve(t, report));
  }
  add('channel-metrics', 'Metrics by channel', 'mse, rmse, mae and r² of each channel scored (train mae is not computed: it would need another pass over the data).', (t) =>
    channelMetrics(t, report.channels),
  );
  add('hosts', 'Rows per host', `Training rows each host read (${report.model.training?.distribution}); their sums were merged exactly.`, (t) => hostsChart(t, report));
  return charts;
}

/** At most this many rows are drawn: each point is an SVG element. */
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
  const leader = (report.model.training?.hosts.length ?? 0) > 1 ? ' read by the leader host' : '';
  if (shown >= s.rows) return `Plots show all ${thousands(s.rows)} training rows${leader}.${weighted}`;
  return `Plots show a deterministic sample of ${thousands(shown)} of ${thousands(s.rows)} rows${leader}.${weighted}`;
}
