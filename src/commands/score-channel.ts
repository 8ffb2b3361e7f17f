/** Scores a channel with a model during training: metrics when labelled. */
import { channelSources } from '../contract/channels';
import type { ChannelConfig } from '../contract/config';
import type { MlPaths } from '../contract/paths';
import type { Model } from '../model/model';
import { Scorer, type ChannelFormat, type ScoreMetrics } from '../native';
import { streamFiles } from '../readers/channel-stream';
import type { RunContext } from './context';

export async function scoreChannel(
  paths: MlPaths,
  channel: string,
  config: ChannelConfig | undefined,
  format: ChannelFormat,
  model: Model,
  ctx: RunContext,
): Promise<ScoreMetrics | null> {
  const files = await channelSources(paths, channel, config, ctx.signal);
  if (files === undefined) return null;
  if (files.length === 0) {
    ctx.log(`channel '${channel}' has no files; skipping its metrics`);
    return null;
  }
  const scorer = new Scorer(model.native, () => undefined, format);
  await streamFiles(files, scorer, { root: paths.dataDir, signal: ctx.signal, keepGoing: () => scorer.labelled !== false });
  if (scorer.labelled === false) {
    const p = model.document.coefficients.length;
    ctx.log(`channel '${channel}' has ${p} column(s) per row, the features without a label; skipping its metrics (add the label as the first column to score it)`);
    return null;
  }
  const metrics = scorer.metrics();
  if (metrics === null) ctx.log(`channel '${channel}' has no rows; skipping its metrics`);
  return metrics;
}
