/**
 * A small SVG plotting kit for the report's charts: "nice" ticks, linear, log
 * and band scales, axes over a light grid, marks and legends, all written as
 * SVG text. Nothing is measured (there is no browser here): text widths are
 * estimated from the characters, so the same input gives the same bytes.
 */

export const ACCENT = '#2f6db5';
export const SECOND = '#d9622b';
export const THIRD = '#059669';
export const MUTED = '#6b7280';
const FONT = '-apple-system, "Segoe UI", Helvetica, Arial, sans-serif';

const LABEL = { size: 11, color: '#374151' };
const TITLE = { size: 12, color: '#111827', weight: 600 };
const GRID = '#e5e7eb';
const DOMAIN = '#9ca3af';
const TICK = 5;
const LABEL_PAD = 2;
const TITLE_PAD = 6;
/** Space around everything drawn. */
const PAD = 6;
/** Longest tick label on a band axis (names from the data), as Vega's default. */
const LABEL_LIMIT = 180;

// Text

/** Text from the data, safe as SVG element content and attribute value (control characters become spaces). */
function escapeXml(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f]/g, ' ').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
}

/** Advance of one character in em, roughly Helvetica's: enough to leave room for labels. */
function charWidth(c: string): number {
  if (c.codePointAt(0)! >= 0x2e80) return 1;
  if ("ijl.,:;'|!I ".includes(c)) return 0.28;
  if ('frt()[]-/'.includes(c)) return 0.36;
  if ('mwMW@%'.includes(c)) return 0.86;
  if (c >= 'A' && c <= 'Z') return 0.68;
  return 0.56;
}

/** Estimated width of `text` in pixels at font size `size`. */
function textWidth(text: string, size: number): number {
  let em = 0;
  for (const c of text) em += charWidth(c);
  return em * size;
}

/** `text`, cut with an ellipsis to fit `width` pixels. */
function shorten(text: string, width: number, size: number): string {
  if (textWidth(text, size) <= width) return text;
  const chars = [...text];
  while (chars.length > 0 && textWidth(`${chars.join('')}…`, size) > width) chars.pop();
  return `${chars.join('')}…`;
}

/** A coordinate to a hundredth of a pixel (the same picture, a smaller file), never "-0". */
const px = (v: number) => String(Math.round(v * 100) / 100 + 0);

const finite = (...values: number[]) => values.every(Number.isFinite);

/** ` name="value"` for each attribute given (undefined ones left out). */
function attrs(list: Record<string, string | number | undefined>): string {
  return Object.entries(list)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => ` ${k}="${typeof v === 'number' ? px(v) : escapeXml(v as string)}"`)
    .join('');
}

// Ticks and number formats

export interface Ticks {
  lo: number;
  hi: number;
  step: number;
  values: number[];
}

/** 1, 2 or 5 times a power of ten, the nearest to `raw` (d3's thresholds). */
function niceStep(raw: number): number {
  const power = 10 ** Math.floor(Math.log10(raw));
  const ratio = raw / power;
  return power * (ratio >= Math.sqrt(50) ? 10 : ratio >= Math.sqrt(10) ? 5 : ratio >= Math.SQRT2 ? 2 : 1);
}

/**
 * About `count` intervals between round ticks, and the domain [lo, hi]
 * widened to the ticks around it. A zero-width domain is widened first (by
 * 10%, or by 1 around 0).
 */
export function niceTicks(lo: number, hi: number, count: number): Ticks {
  count = Math.max(1, count);
  if (!(hi > lo)) {
    const pad = lo === 0 ? 1 : Math.abs(lo) / 10;
    [lo, hi] = [lo - pad, hi + pad];
  }
  // Each bound divided first: hi - lo may overflow where hi / count - lo / count does not.
  const step = niceStep(hi / count - lo / count);
  // Fractional steps divide by their inverse: 3 / 10 is 0.3 where 3 * 0.1 is not.
  const inverse = step < 1 ? Math.round(1 / step) : 0;
  const at = (k: number) => (inverse ? k / inverse : k * step) + 0;
  const first = Math.floor(lo / step);
  const last = Math.ceil(hi / step);
  const values: number[] = [];
  for (let k = first; k <= last && values.length <= 2 * count + 2; k++) values.push(at(k));
  const limit = Number.MAX_VALUE;
  return { lo: Math.max(at(first), -limit), hi: Math.min(at(last), limit), step, values: values.filter(Number.isFinite) };
}

const SI: [number, string][] = [
  [1e12, 'T'],
  [1e9, 'G'],
  [1e6, 'M'],
  [1e3, 'k'],
];

/**
 * `v` with `decimals` decimals and commas between thousands, as en-US writes
 * it; by hand, as loading Intl's locale data would cost more than the charts.
 */
export function thousands(v: number, decimals = 0): string {
  const [whole, fraction] = v.toFixed(decimals).split('.');
  return whole.replace(/\B(?=(\d{3})+$)/g, ',') + (fraction === undefined ? '' : `.${fraction}`);
}

/** Decimals that show a multiple of `step` exactly. */
const decimalsFor = (step: number) => Math.min(20, Math.max(0, Math.ceil(-Math.log10(step) - 1e-9)));

/**
 * Labels for ticks `step` apart: fixed decimals with thousands separators below
 * `si`, then k, M, G, T; exponents for tiny or enormous values; a true minus.
 */
export function tickFormat(values: number[], step: number, si = 1e5): (v: number) => string {
  const largest = Math.max(0, ...values.map(Math.abs));
  const minus = (text: string) => text.replace(/^-/, '−');
  if (largest >= 1e15 || (largest > 0 && largest < 1e-3)) {
    const digits = Math.min(15, Math.max(0, Math.floor(Math.log10(largest)) - Math.floor(Math.log10(step))));
    return (v) => (v === 0 ? '0' : minus(v.toExponential(digits).replace(/\.?0+e/, 'e').replace('e+', 'e')));
  }
  const unit = SI.find(([size]) => largest >= si && largest >= size);
  if (unit) {
    const [size, suffix] = unit;
    const decimals = decimalsFor(step / size);
    return (v) => minus((v / size).toFixed(decimals)) + (v === 0 ? '' : suffix);
  }
  const decimals = decimalsFor(step);
  return (v) => minus(thousands(v, decimals));
}

// Scales

export interface Scale {
  /** The pixel position of a value; not finite where the scale cannot place it. */
  at: (v: number) => number;
  ticks: number[];
  format: (v: number) => string;
}

export interface AxisSpec {
  values: number[];
  title: string;
  /** Take 0 into the domain. */
  zero?: boolean;
  log?: boolean;
}

/** The finite values' [min, max]; [0, 1] when there are none. */
export function extent(values: number[]): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return lo <= hi ? [lo, hi] : [0, 1];
}

/** A linear scale from the values' nice domain onto [from, to] pixels. */
function linearScale(values: number[], from: number, to: number, count: number, zero = false): Scale {
  let [lo, hi] = extent(values);
  if (zero) [lo, hi] = [Math.min(lo, 0), Math.max(hi, 0)];
  const ticks = niceTicks(lo, hi, count);
  return {
    // Halves: no overflow for a domain near ±Number.MAX_VALUE.
    at: (v) => from + ((v / 2 - ticks.lo / 2) / (ticks.hi / 2 - ticks.lo / 2)) * (to - from),
    ticks: ticks.values,
    format: tickFormat(ticks.values, ticks.step),
  };
}

/**
 * A log scale over whole decades around the values' positive part: ticks at
 * powers of ten (every k-th when there are many), and at 2 and 5 times them
 * over one or two decades.
 */
export function logScale(values: number[], from: number, to: number, count: number): Scale {
  const [lo, hi] = extent(values.filter((v) => v > 0)).map(Math.log10);
  // A value a rounding error off a power of ten does not add a decade.
  const first = Math.floor(lo + 1e-9);
  const last = Math.max(first + 1, Math.ceil(hi - 1e-9));
  const every = Math.ceil((last - first) / count);
  const ticks: number[] = [];
  for (let e = first; e <= last; e += every) {
    ticks.push(10 ** e);
    if (last - first <= 2 && e < last) ticks.push(2 * 10 ** e, 5 * 10 ** e);
  }
  return {
    at: (v) => (v > 0 ? from + ((Math.log10(v) - first) / (last - first)) * (to - from) : NaN),
    ticks,
    // Each tick on its own (they are decades apart), in k and M from 1,000: 0.01, 1, 100, 10k, 1M.
    format: (v) => tickFormat([v], v, 1e3)(v),
  };
}

function scaleFor(axis: AxisSpec, from: number, to: number, count: number): Scale {
  return axis.log ? logScale(axis.values, from, to, count) : linearScale(axis.values, from, to, count, axis.zero);
}

/**
 * Equal slots for `count` names along `length` pixels, `inner` of each step
 * left between slots and `outer` steps at both ends (Vega's band scale; inner 1
 * and outer 0.5 is its point scale). `center(i)` is the middle of slot i.
 */
function bands(count: number, length: number, inner: number, outer: number): { center: (i: number) => number; width: number } {
  const step = length / Math.max(1, count - inner + 2 * outer);
  const width = step * (1 - inner);
  return { center: (i) => outer * step + i * step + width / 2, width };
}

// Marks (in the plot's coordinates)

export interface Style {
  fill?: string;
  stroke?: string;
  width?: number;
  dash?: string;
  opacity?: number;
}

const styleAttrs = (s: Style) =>
  attrs({
    fill: s.fill ?? 'none',
    stroke: s.stroke,
    'stroke-width': s.width,
    'stroke-dasharray': s.dash,
    [s.stroke && !s.fill ? 'stroke-opacity' : 'fill-opacity']: s.opacity,
  });

/** Dots of radius `r`, in one group; points with a non-finite coordinate are left out. */
export function dots(points: [number, number][], r: number, style: Style): string {
  const drawn = points.filter(([x, y]) => finite(x, y)).map(([x, y]) => `<circle cx="${px(x)}" cy="${px(y)}" r="${px(r)}"/>`);
  return `<g${styleAttrs(style)}>${drawn.join('')}</g>`;
}

/** A polyline through the points, broken where a point is not finite. */
export function line(points: [number, number][], style: Style): string {
  const runs: string[] = [];
  let run: string[] = [];
  for (const [x, y] of [...points, [NaN, NaN]]) {
    if (finite(x, y)) run.push(`${px(x)},${px(y)}`);
    else {
      if (run.length > 1) runs.push(`<polyline points="${run.join(' ')}"${styleAttrs(style)}/>`);
      run = [];
    }
  }
  return runs.join('');
}

export function segment(x1: number, y1: number, x2: number, y2: number, style: Style): string {
  return finite(x1, y1, x2, y2) ? `<line${attrs({ x1, y1, x2, y2 })}${styleAttrs(style)}/>` : '';
}

/** A rectangle between two corners, in any order; `title` is its tooltip. */
export function box(x1: number, y1: number, x2: number, y2: number, style: Style, title?: string): string {
  if (!finite(x1, y1, x2, y2)) return '';
  const shape = attrs({ x: Math.min(x1, x2), y: Math.min(y1, y2), width: Math.abs(x2 - x1), height: Math.abs(y2 - y1) }) + styleAttrs(style);
  return title === undefined ? `<rect${shape}/>` : `<rect${shape}><title>${escapeXml(title)}</title></rect>`;
}

const textAttrs = (font: { size: number; color: string; weight?: number }) => attrs({ 'font-size': String(font.size), fill: font.color, 'font-weight': font.weight?.toString() });

function text(x: number, y: number, content: string, extra: Record<string, string | number | undefined> = {}): string {
  return `<text${attrs({ x, y, ...extra })}>${escapeXml(content)}</text>`;
}

// Axes (in the plot's coordinates; the plot is `width` x `height`)

/** The margins a plot needs around it for its axes, legend and header. */
interface Margins {
  left: number;
  right: number;
  top: number;
  bottom: number;
}

/** A scale's ticks that it can place, with their positions and labels. */
const tickLabels = (scale: Scale) => scale.ticks.map((v) => ({ at: scale.at(v), label: scale.format(v) })).filter((t) => Number.isFinite(t.at));

/** Vertical grid lines at the x ticks and horizontal ones at the y ticks. */
function grid(width: number, height: number, x: Scale | null, y: Scale | null): string {
  const crisp = (v: number) => Math.round(v) + 0.5;
  const lines = [
    ...(x ? tickLabels(x).map((t) => `M${px(crisp(t.at))},0V${height}`) : []),
    ...(y ? tickLabels(y).map((t) => `M0,${px(crisp(t.at))}H${width}`) : []),
  ];
  return lines.length ? `<path d="${lines.join('')}" stroke="${GRID}" fill="none"/>` : '';
}

/** Width of the widest tick label of a left axis. */
const labelsWidth = (labels: string[]) => Math.max(0, ...labels.map((l) => textWidth(l, LABEL.size)));

/** The x axis along the bottom: domain line, ticks, labels and title. */
function bottomAxis(width: number, height: number, scale: Scale, title: string): string {
  const ticks = tickLabels(scale);
  const y = height + 0.5;
  const marks = ticks.map((t) => `M${px(Math.round(t.at) + 0.5)},${px(y)}v${TICK}`).join('');
  const labels = ticks.map((t) => text(t.at, height + TICK + LABEL_PAD, t.label, { dy: '0.71em' }));
  return (
    `<path d="M0,${px(y)}H${width}${marks}" stroke="${DOMAIN}" fill="none"/>` +
    `<g${textAttrs(LABEL)} text-anchor="middle">${labels.join('')}</g>` +
    heading(width / 2, height + TICK + LABEL_PAD + LABEL.size + TITLE_PAD, 0, shorten(title, width, TITLE.size))
  );
}

/** The y axis on the left: domain line, ticks, labels and, when given, its title turned upright. */
function leftAxis(height: number, ticks: { at: number; label: string }[], title: string | null): string {
  const placed = ticks.filter((t) => Number.isFinite(t.at));
  const marks = placed.map((t) => `M${0.5 - TICK},${px(Math.round(t.at) + 0.5)}h${TICK}`).join('');
  const labels = placed.map((t) => text(-TICK - LABEL_PAD, t.at, t.label, { dy: '0.32em' }));
  // The upright title's baseline: its letters stand to the left of it.
  const titleAt = -(TICK + LABEL_PAD + labelsWidth(placed.map((t) => t.label)) + TITLE_PAD + TITLE.size * 0.2);
  return (
    `<path d="M0.5,0V${height}${marks}" stroke="${DOMAIN}" fill="none"/>` +
    `<g${textAttrs(LABEL)} text-anchor="end">${labels.join('')}</g>` +
    (title === null ? '' : heading(titleAt, height / 2, -90, shorten(title, height, TITLE.size)))
  );
}

/** Left margin a left axis needs for these labels (and its title). */
const leftAxisWidth = (labels: string[], titled: boolean) => TICK + LABEL_PAD + labelsWidth(labels) + (titled ? TITLE_PAD + TITLE.size : 0);

/** Height a bottom axis with a title takes below the plot. */
const BOTTOM_AXIS = TICK + LABEL_PAD + LABEL.size + TITLE_PAD + TITLE.size + 2;

/** An axis title or panel header, centred on (x, y): hanging from y when level, turned by `angle` degrees otherwise. */
function heading(x: number, y: number, angle: number, content: string): string {
  const place = angle ? { transform: `translate(${px(x)},${px(y)}) rotate(${angle})` } : { x, y, dy: '0.71em' };
  return `<text${attrs(place)}${textAttrs(TITLE)} text-anchor="middle">${escapeXml(content)}</text>`;
}

/** Names down a band axis, each cut to the label limit. */
const bandTicks = (names: string[], center: (i: number) => number) => names.map((name, i) => ({ at: center(i), label: shorten(name, LABEL_LIMIT, LABEL.size) }));

/** The x axis of a bar panel: names under the bars, turned 30° so that long ones do not collide. */
function slantedAxis(width: number, height: number, names: string[], center: (i: number) => number): string {
  const labels = names.map((name, i) => {
    const place = `translate(${px(center(i))},${px(height + TICK + LABEL_PAD)}) rotate(-30)`;
    return `<text${attrs({ transform: place, dy: '0.71em' })}>${escapeXml(shorten(name, LABEL_LIMIT / 2, LABEL.size))}</text>`;
  });
  const marks = names.map((_, i) => `M${px(Math.round(center(i)) + 0.5)},${height + 0.5}v${TICK}`).join('');
  return `<path d="M0,${height + 0.5}H${width}${marks}" stroke="${DOMAIN}" fill="none"/><g${textAttrs(LABEL)} text-anchor="end">${labels.join('')}</g>`;
}

/** How far slanted names reach below the plot and left of their tick. */
function slantedExtent(names: string[]): { below: number; left: number } {
  const widest = labelsWidth(names.map((n) => shorten(n, LABEL_LIMIT / 2, LABEL.size)));
  return { below: TICK + LABEL_PAD + widest / 2 + LABEL.size, left: widest * Math.cos(Math.PI / 6) };
}

// Legend

export interface LegendItem {
  label: string;
  color: string;
  /** A filled dot, or a dashed stroke (for rules). */
  symbol: 'dot' | 'dash';
}

const LEGEND_ROW = 18;

/** Items in rows no wider than `width`, wrapping; returns the SVG and its height. */
function legend(items: LegendItem[], width: number): { svg: string; height: number } {
  const parts: string[] = [];
  let x = 0;
  let y = LEGEND_ROW / 2;
  for (const item of items) {
    const label = shorten(item.label, width - 24, LABEL.size);
    const size = 22 + textWidth(label, LABEL.size) + 16;
    if (x > 0 && x + size > width) [x, y] = [0, y + LEGEND_ROW];
    parts.push(
      item.symbol === 'dot'
        ? `<circle${attrs({ cx: x + 8, cy: y, r: 4.5, fill: item.color })}/>`
        : segment(x, y, x + 16, y, { stroke: item.color, width: 1.5, dash: '5 4' }),
      text(x + 22, y, label, { dy: '0.32em' }),
    );
    x += size;
  }
  return { svg: `<g${textAttrs(LABEL)}>${parts.join('')}</g>`, height: y + LEGEND_ROW / 2 };
}

// The document

/** Moves a part of the chart to (x, y). */
const at = (x: number, y: number, content: string) => `<g transform="translate(${px(x)},${px(y)})">${content}</g>`;

/** A standalone SVG image of the given size: a label for screen readers, a white background, the page's font. */
function svgDocument(label: string, width: number, height: number, body: string): string {
  const [w, h] = [Math.ceil(width), Math.ceil(height)];
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" role="img"${attrs({ 'aria-label': label, 'font-family': FONT })}>` +
    `<title>${escapeXml(label)}</title><rect width="${w}" height="${h}" fill="white"/>${body}</svg>`
  );
}

/** Room to the right of the plot for half the last x tick label. */
function overhang(width: number, ticks: { at: number; label: string }[]): number {
  const last = ticks[ticks.length - 1];
  return last ? Math.max(0, textWidth(last.label, LABEL.size) / 2 - (width - last.at)) : 0;
}

/** The SVG of a plot drawn in plot coordinates, its margins around it and its legend, if any, under them. */
function compose(label: string, width: number, height: number, margin: Margins, body: string, items: LegendItem[]): string {
  const key = items.length ? legend(items, width) : null;
  const legendTop = Math.ceil(margin.top) + height + margin.bottom;
  const total = legendTop + (key ? key.height + PAD : 0);
  // Whole-pixel offsets keep the grid's half-pixel lines crisp.
  const [left, top] = [Math.ceil(margin.left), Math.ceil(margin.top)];
  return svgDocument(label, left + width + margin.right, total, at(left, top, body) + (key ? at(left, legendTop, key.svg) : ''));
}

/**
 * A chart with quantitative x and y axes: a `width` x `height` plot with
 * margins fitted to its tick labels, the grid under the marks and a legend,
 * when there are items, under the x axis.
 */
export function xyChart(
  label: string,
  size: { width: number; height: number },
  xAxis: AxisSpec,
  yAxis: AxisSpec,
  marks: (x: Scale, y: Scale) => string,
  items: LegendItem[] = [],
): string {
  const { width, height } = size;
  const x = scaleFor(xAxis, 0, width, Math.round(width / 60));
  const y = scaleFor(yAxis, height, 0, Math.round(height / 40));
  const yTicks = tickLabels(y);
  const margin: Margins = {
    left: PAD + leftAxisWidth(yTicks.map((t) => t.label), true),
    right: PAD + overhang(width, tickLabels(x)),
    top: PAD + LABEL.size / 2,
    bottom: PAD + BOTTOM_AXIS,
  };
  const body = grid(width, height, x, y) + bottomAxis(width, height, x, xAxis.title) + leftAxis(height, yTicks, yAxis.title) + marks(x, y);
  return compose(label, width, height, margin, body, items);
}

/**
 * A chart of names down the left (a band axis: `inner` and `outer` padding as
 * in `bands`) against a quantitative x axis, as xyChart otherwise.
 */
export function namesChart(
  label: string,
  size: { width: number; height: number },
  names: string[],
  padding: { inner: number; outer: number },
  xAxis: AxisSpec,
  marks: (x: Scale, y: (i: number) => number, band: number) => string,
  items: LegendItem[] = [],
): string {
  const { width, height } = size;
  const x = scaleFor(xAxis, 0, width, Math.round(width / 60));
  const y = bands(names.length, height, padding.inner, padding.outer);
  const yTicks = bandTicks(names, y.center);
  const margin: Margins = {
    left: PAD + leftAxisWidth(yTicks.map((t) => t.label), false),
    right: PAD + overhang(width, tickLabels(x)),
    top: PAD,
    bottom: PAD + BOTTOM_AXIS,
  };
  const body = grid(width, height, x, null) + bottomAxis(width, height, x, xAxis.title) + leftAxis(height, yTicks, null) + marks(x, y.center, y.width);
  return compose(label, width, height, margin, body, items);
}

/** One panel of barPanels: its header and a value per name (null: no bar). */
export interface Panel {
  title: string;
  values: (number | null)[];
}

const PANEL_GAP = 20;

/**
 * Small multiples: a bar chart per panel, side by side, each `width` x
 * `height` with its own y scale from 0, the names slanted under the bars and
 * coloured in turn from `colors`.
 */
export function barPanels(label: string, size: { width: number; height: number }, names: string[], colors: string[], panels: Panel[]): string {
  const { width, height } = size;
  const x = bands(names.length, width, 0.1, 0.05);
  const slant = slantedExtent(names);
  const top = PAD + TITLE.size + 8;
  const parts: string[] = [];
  let left = PAD;
  for (const panel of panels) {
    const y = linearScale(panel.values.filter((v): v is number => v !== null), height, 0, Math.round(height / 40), true);
    const ticks = tickLabels(y);
    left = Math.ceil(left + Math.max(leftAxisWidth(ticks.map((t) => t.label), false), slant.left - x.center(0)));
    const bars = panel.values.map((v, i) => (v === null ? '' : box(x.center(i) - x.width / 2, y.at(0), x.center(i) + x.width / 2, y.at(v), { fill: colors[i % colors.length] })));
    const header = heading(width / 2, -TITLE.size - 8, 0, panel.title);
    parts.push(at(left, top, grid(width, height, null, y) + leftAxis(height, ticks, null) + slantedAxis(width, height, names, x.center) + bars.join('') + header));
    left += width + PANEL_GAP;
  }
  return svgDocument(label, left - PANEL_GAP + PAD, top + height + slant.below + PAD, parts.join(''));
}
