/**
 * The training report: one document (report.json) built from the model, the
 * scored channels' metrics, a row sample of the training data and the notes
 * of the run, rendered as report.html (charts inline) and report.md. The
 * report adds no pass over the data: the sample is drawn while the rows are
 * read for the fit. `linear report` rebuilds all three from model.json and
 * an earlier report.json.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { MlPaths } from '../contract/paths';
import { ErrorCode, LinearError, systemErrorReason } from '../errors';
import type { ModelDocument } from '../model/model';
import type { RowSample } from '../native';
import { reportHtml } from './html';
import { reportMarkdown } from './markdown';
import { summaryTable } from './summary';

export const REPORT_FORMAT = 'linear-report';
export const REPORT_VERSION = 1;

/** One scored channel's metrics; null where not computed (train mae would need another pass). */
export interface ChannelRow {
  channel: string;
  rows: number | null;
  mse: number;
  rmse: number;
  r2: number | null;
  mae: number | null;
}

/** Training rows with their fitted values, drawn deterministically while the data was read. */
export interface ReportSample {
  seed: number;
  /** The training rows the sample was drawn from. */
  rows: number;
  actual: number[];
  fitted: number[];
  weights: number[] | null;
}

/** The model as the report keeps it: everything but the serving internals (prediction shift, covariance factor). */
export type ReportModel = Omit<ModelDocument, 'prediction' | 'inference'>;

export interface ReportDocument {
  format: typeof REPORT_FORMAT;
  version: typeof REPORT_VERSION;
  /** The one field that differs between two reports of the same inputs. */
  generated_at: string;
  /** The console summary table. */
  summary: string;
  /** What a reader should know: from the model (aliasing, conditioning, precision) and the run's notes. */
  warnings: string[];
  /** The run's own notes, kept for `linear report`: the hyperparameter warnings. */
  notes: string[];
  model: ReportModel;
  channels: ChannelRow[];
  sample: ReportSample | null;
}

export interface ReportInputs {
  model: ModelDocument | ReportModel;
  channels: ChannelRow[];
  sample: ReportSample | null;
  notes: string[];
}

/** The report's condition-number threshold, as statsmodels' summary notes it. */
const LARGE_CONDITION = 1e3;
/** A variance inflation factor above this is the usual sign of collinearity. */
const LARGE_VIF = 10;

const finiteOrNull = (v: number | null | undefined): number | null => (v === null || v === undefined || !Number.isFinite(v) ? null : v);

/** The core's sample as plain arrays; null when there is none. */
export function sampleOf(raw: RowSample | null): ReportSample | null {
  if (!raw) return null;
  return { seed: raw.seed, rows: raw.rows, actual: Array.from(raw.actual), fitted: Array.from(raw.fitted), weights: raw.weights ? Array.from(raw.weights) : null };
}

/** A channel's metrics row. */
export function channelRow(channel: string, m: { rows?: number | null; mse: number; rmse: number; r2?: number | null; mae?: number | null }): ChannelRow {
  return { channel, rows: m.rows ?? null, mse: m.mse, rmse: m.rmse, r2: finiteOrNull(m.r2), mae: finiteOrNull(m.mae) };
}

function reportModel(model: ModelDocument | ReportModel): ReportModel {
  const { prediction: _p, inference: _i, ...kept } = model as ModelDocument;
  return kept;
}

/** The report of a finished fit; `generatedAt` is its only non-deterministic input. */
export function buildReport(inputs: ReportInputs, generatedAt: Date = new Date()): ReportDocument {
  const model = reportModel(inputs.model);
  return {
    format: REPORT_FORMAT,
    version: REPORT_VERSION,
    generated_at: generatedAt.toISOString(),
    summary: summaryTable(model),
    warnings: [...modelWarnings(model), ...inputs.notes],
    notes: [...inputs.notes],
    model,
    channels: inputs.channels.map((c) => channelRow(c.channel, c)),
    sample: inputs.sample,
  };
}

const fmt = (v: number) => (Math.abs(v) >= 1e4 || (v !== 0 && Math.abs(v) < 1e-3) ? v.toExponential(2) : String(Number(v.toPrecision(4))));

/** What the model itself says a reader should look at. */
function modelWarnings(model: ReportModel): string[] {
  const warnings: string[] = [];
  const s = model.statistics;
  const aliased = model.feature_names.filter((_, i) => model.aliased[i]);
  if (aliased.length > 0) {
    warnings.push(`Aliased columns (linear combinations of earlier columns; coefficient set to 0): ${aliased.join(', ')}.`);
  }
  if (s.condition_number !== null && s.condition_number > LARGE_CONDITION) {
    warnings.push(
      `The condition number is large (${fmt(s.condition_number)}): strong collinearity or features on very different scales; ` +
        'individual coefficients may be poorly determined even though the fit is exact.',
    );
  }
  if (s.precision === 'extended') {
    warnings.push(
      'The fit used an extended-precision (double-double) factorisation: small channels (up to 2^20 values) always are, ' +
        'larger ones when a one-pass double-precision solution could not be certified exact.',
    );
  }
  const inflated = (s.vif ?? []).flatMap((v, i) => (v !== null && v > LARGE_VIF ? [`${model.feature_names[i]} (${fmt(v)})`] : []));
  if (inflated.length > 0) warnings.push(`Variance inflation factors above ${LARGE_VIF}: ${inflated.join(', ')}.`);
  return warnings;
}

/** Where the three files go. */
export function reportFiles(paths: MlPaths): { html: string; markdown: string; json: string } {
  return {
    html: path.join(paths.outputDataDir, 'report.html'),
    markdown: path.join(paths.outputDataDir, 'report.md'),
    json: path.join(paths.outputDataDir, 'report.json'),
  };
}

/** report.json's text: stable key order, two-space indentation. */
export function reportJson(report: ReportDocument): string {
  return `${JSON.stringify(report, (_, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`;
}

/** Renders and writes report.html, report.md and report.json (each via a temp file and a rename); returns the HTML's path. */
/** An earlier job's report, removed before a new model is written: it must never pass for the new model's. */
export async function removeReport(paths: MlPaths): Promise<void> {
  for (const file of Object.values(reportFiles(paths))) await fs.rm(file, { force: true });
}

export async function writeReport(paths: MlPaths, report: ReportDocument): Promise<string> {
  const files = reportFiles(paths);
  const texts: [string, string][] = [
    [files.json, reportJson(report)],
    [files.markdown, reportMarkdown(report)],
    [files.html, reportHtml(report)],
  ];
  try {
    await fs.mkdir(paths.outputDataDir, { recursive: true });
    for (const [file, text] of texts) {
      const temp = `${file}.${process.pid}.tmp`;
      await fs.writeFile(temp, text);
      await fs.rename(temp, file);
    }
  } catch (err) {
    for (const [file] of texts) await fs.rm(`${file}.${process.pid}.tmp`, { force: true }).catch(() => undefined);
    throw new LinearError(ErrorCode.UNWRITABLE_OUTPUT, `cannot write the training report to ${paths.outputDataDir}: ${systemErrorReason(err)}; free space or make output/data writable`);
  }
  return files.html;
}

/**
 * What `linear report` takes from an earlier report.json: the channels'
 * metrics, the sample and the notes (the statistics come from model.json).
 * REPORT_NOT_FOUND when it is missing, REPORT_INVALID when it is not a
 * report of this format and version.
 */
export async function readReportInputs(paths: MlPaths): Promise<Omit<ReportInputs, 'model'>> {
  const file = reportFiles(paths).json;
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    throw new LinearError(
      missing ? ErrorCode.REPORT_NOT_FOUND : ErrorCode.UNREADABLE_FILE,
      missing
        ? `no training report at ${file}; run train first (it writes output/data/report.json next to report.html)`
        : `cannot read ${file}: ${systemErrorReason(err)}`,
    );
  }
  const notOurs = (why: string) =>
    new LinearError(ErrorCode.REPORT_INVALID, `${file} is not a training report of this program (${why}); run train again to write one`);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw notOurs(`not JSON: ${systemErrorReason(err)}`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw notOurs('not a JSON object');
  const d = doc as Record<string, unknown>;
  if (d.format !== REPORT_FORMAT) throw notOurs(`format ${JSON.stringify(d.format ?? null)}, expected "${REPORT_FORMAT}"`);
  if (d.version !== REPORT_VERSION) throw notOurs(`version ${JSON.stringify(d.version ?? null)}, this program reads version ${REPORT_VERSION}`);
  const channels = d.channels;
  if (!Array.isArray(channels) || !channels.every(isChannelRow)) throw notOurs('channels: expected a list of {channel, mse, rmse, ...}');
  if (!Array.isArray(d.notes) || !d.notes.every((n) => typeof n === 'string')) throw notOurs('notes: expected a list of strings');
  if (d.sample !== null && !isSample(d.sample)) throw notOurs('sample: expected null or {seed, rows, actual, fitted, weights} of equal lengths');
  return { channels: channels as ChannelRow[], sample: d.sample as ReportSample | null, notes: d.notes as string[] };
}

const isNumber = (v: unknown): v is number => typeof v === 'number';
const isNumberOrNull = (v: unknown) => v === null || isNumber(v);
const isNumbers = (v: unknown): v is number[] => Array.isArray(v) && v.every(isNumber);

function isChannelRow(v: unknown): boolean {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as Record<string, unknown>;
  return typeof r.channel === 'string' && isNumber(r.mse) && isNumber(r.rmse) && isNumberOrNull(r.r2) && isNumberOrNull(r.mae) && isNumberOrNull(r.rows);
}

function isSample(v: unknown): boolean {
  if (typeof v !== 'object' || v === null) return false;
  const s = v as Record<string, unknown>;
  if (!isNumber(s.seed) || !isNumber(s.rows) || !isNumbers(s.actual) || !isNumbers(s.fitted) || s.actual.length !== s.fitted.length) return false;
  return s.weights === null || (isNumbers(s.weights) && s.weights.length === s.actual.length);
}
