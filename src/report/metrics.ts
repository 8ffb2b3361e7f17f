/**
 * Metric lines for SageMaker's MetricDefinitions regexes (one metric per
 * line, stdout, no tabs: CloudWatch shows a tab as #011). Two spellings of
 * each: Linear Learner's `#quality_metric: host=algo-1, train mse <loss>=…`,
 * so its users' definitions and tuning objectives keep working, and the short
 * `train:mse=…`. The one list of metric names: `linear describe` takes its
 * MetricDefinitions and tuning objectives from here.
 */
import type { ModelDocument } from '../model/document';

export interface ChannelMetrics {
  mse: number;
  rmse: number;
  r2: number;
  /** Mean absolute error; only where the residuals were visited (scored channels). */
  mae?: number;
}

/** What is printed: a channel's metrics and the objective they give (`objectiveLoss`). */
type MetricKey = keyof ChannelMetrics | 'objectiveLoss';

interface MetricName {
  /** Linear Learner's name, in its line and in the MetricDefinitions. */
  quality: string;
  /** Ours, in the short line. */
  short: string;
  /** Which way a tuning job should push it. */
  goal: 'Minimize' | 'Maximize';
}

/** In the order lines are printed. */
const METRICS: Record<MetricKey, MetricName> = {
  mse: { quality: 'mse', short: 'mse', goal: 'Minimize' },
  rmse: { quality: 'rmse', short: 'rmse', goal: 'Minimize' },
  r2: { quality: 'r2', short: 'r2', goal: 'Maximize' },
  mae: { quality: 'absolute_loss', short: 'mae', goal: 'Minimize' },
  objectiveLoss: { quality: 'objective_loss', short: 'objective_loss', goal: 'Minimize' },
};

const METRIC_KEYS = Object.keys(METRICS) as MetricKey[];

/** The channels scored during training and what each reports: train mae would need a second pass over the data. */
const CHANNEL_METRICS: Record<string, readonly MetricKey[]> = {
  train: METRIC_KEYS.filter((key) => key !== 'mae'),
  validation: METRIC_KEYS,
  test: METRIC_KEYS,
};

/** The channel tuning jobs optimise: tuning on test would choose by the data kept to judge the choice. */
const TUNED_CHANNEL = 'validation';

/** A number as JavaScript prints one. */
const NUMBER = '[-+0-9.eE]+';

/** The lines for one channel scored with `fit`. */
export function metricLines(host: string, channel: string, fit: PenalisedFit, metrics: ChannelMetrics): string[] {
  const values: Partial<Record<MetricKey, number>> = { ...metrics, objectiveLoss: objectiveLoss(fit, metrics.mse) };
  const lines: string[] = [];
  for (const key of METRIC_KEYS) {
    const value = values[key];
    if (value === undefined || !Number.isFinite(value)) continue;
    lines.push(`#quality_metric: host=${host}, ${channel} ${METRICS[key].quality} <loss>=${value}`);
    lines.push(`${channel}:${METRICS[key].short}=${value}`);
  }
  return lines;
}

/** SageMaker's MetricDefinition: what a job's log lines are searched for. */
export interface MetricDefinition {
  Name: string;
  Regex: string;
}

/** One per metric a training job reports, named as Linear Learner names them and matching its line shape. */
export function metricDefinitions(): MetricDefinition[] {
  return Object.entries(CHANNEL_METRICS).flatMap(([channel, keys]) =>
    keys.map((key) => ({
      Name: `${channel}:${METRICS[key].quality}`,
      Regex: `#quality_metric: host=\\S+, ${channel} ${METRICS[key].quality} <loss>=(${NUMBER})`,
    })),
  );
}

/** SageMaker's HyperParameterTuningJobObjective. */
export interface TuningObjective {
  Type: 'Minimize' | 'Maximize';
  MetricName: string;
}

export function tuningObjectives(): TuningObjective[] {
  return CHANNEL_METRICS[TUNED_CHANNEL].map((key) => ({ Type: METRICS[key].goal, MetricName: `${TUNED_CHANNEL}:${METRICS[key].quality}` }));
}

/** The README's table: each MetricDefinition and, for the tuning objectives, its direction. */
export function metricTable(): string {
  const goals = new Map(tuningObjectives().map((o) => [o.MetricName, o.Type]));
  const rows = metricDefinitions().map((d) => `| \`${d.Name}\` | \`${d.Regex}\` | ${goals.get(d.Name) ?? ''} |`);
  return ['| Name | Regex | tuning objective |', '|---|---|---|', ...rows].join('\n');
}

/** What the objective needs from the model: its penalties, slopes and training rows. */
export type PenalisedFit = Pick<ModelDocument, 'l2' | 'l1' | 'wd' | 'coefficients'> & { statistics: Pick<ModelDocument['statistics'], 'n'> };

/**
 * The objective the fit minimises, at its coefficients, with a channel's mse
 * in place of the training mse: the mse for least squares (weighted or
 * non-negative); mse + l2·‖b‖²/n for ridge, n the training rows;
 * mse/2 + l1·‖b‖₁ + (wd/2)·‖b‖² for the elastic net. The intercept is not
 * penalised.
 */
function objectiveLoss(fit: PenalisedFit, mse: number): number {
  const squares = fit.coefficients.reduce((sum, b) => sum + b * b, 0);
  if (fit.l1 > 0 || fit.wd > 0) {
    const absolutes = fit.coefficients.reduce((sum, b) => sum + Math.abs(b), 0);
    return mse / 2 + fit.l1 * absolutes + (fit.wd / 2) * squares;
  }
  if (fit.l2 > 0) return mse + (fit.l2 * squares) / fit.statistics.n;
  return mse;
}
