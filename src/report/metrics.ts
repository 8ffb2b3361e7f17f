/**
 * Metric lines for SageMaker's MetricDefinitions regexes (one metric per
 * line, stdout). Two spellings of each: Linear Learner's
 * `#quality_metric: host=algo-1, train mse <loss>=…` so existing definitions
 * keep working, and the short `train:mse=…`. Undefined values are left out.
 */

export interface ChannelMetrics {
  mse: number;
  rmse: number;
  r2: number;
  /** Mean absolute error; only where the residuals were visited (scored channels). */
  mae?: number;
}

/** Linear Learner's metric names for ours. */
const QUALITY_NAMES: Record<keyof ChannelMetrics, string> = {
  mse: 'mse',
  rmse: 'rmse',
  r2: 'r2',
  mae: 'absolute_loss',
};

export function metricLines(host: string, channel: string, metrics: ChannelMetrics): string[] {
  const lines: string[] = [];
  for (const key of ['mse', 'rmse', 'r2', 'mae'] as const) {
    const value = metrics[key];
    if (value === undefined || !Number.isFinite(value)) continue;
    lines.push(`#quality_metric: host=${host}, ${channel} ${QUALITY_NAMES[key]} <loss>=${value}`);
    lines.push(`${channel}:${key}=${value}`);
  }
  return lines;
}
