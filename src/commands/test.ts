/**
 * `linear test`: loads model/model.json and prints one prediction per row of
 * the `test` channel. Rows with the label first also get metrics (stderr,
 * so stdout stays one number per line).
 */
import { Command } from 'commander';
import { channelFormat } from '../contract/channel-format';
import { channelSources } from '../contract/channels';
import { readInputDataConfig } from '../contract/config';
import { DEFAULT_ML_ROOT, type MlPaths } from '../contract/paths';
import { ErrorCode, LinearError } from '../errors';
import { loadModel } from '../model/model';
import { Scorer } from '../native';
import { streamFiles } from '../readers/channel-stream';
import { metricLines } from '../report/metrics';
import { ML_ROOT_OPTION, type RunContext, type Runner } from './context';

const TEST = 'test';

export async function runTest(paths: MlPaths, ctx: RunContext): Promise<void> {
  const model = await loadModel(paths);
  const config = (await readInputDataConfig(paths))[TEST];
  // A Parquet file holding the model's label column is scored against it.
  const format = channelFormat(TEST, config, { training: false, labelColumn: model.document.label_name });
  const files = await channelSources(paths, TEST, config, ctx.signal);
  if (files === undefined) {
    throw new LinearError(ErrorCode.MISSING_CHANNEL, `no '${TEST}' channel: ${paths.channel(TEST)} does not exist; put rows of ${model.document.coefficients.length} feature(s) there`);
  }
  if (files.length === 0) throw new LinearError(ErrorCode.EMPTY_CHANNEL, `the '${TEST}' channel (${paths.channel(TEST)}) holds no data files`);
  let pending: Promise<void> = Promise.resolve();
  let printed = 0;
  const scorer = new Scorer(model.native, (predictions) => {
    if (predictions.length === 0) return;
    printed += predictions.length;
    const text = `${Array.from(predictions, String).join('\n')}\n`;
    pending = pending.then(() => ctx.out(text));
  }, format);
  await streamFiles(files, scorer, { root: paths.dataDir, signal: ctx.signal });
  await pending;
  if (printed === 0) throw new LinearError(ErrorCode.EMPTY_FILE, `channel '${TEST}' has no data rows`);
  const m = scorer.metrics();
  if (m) metricLines('local', TEST, model.document, { mse: m.mse, rmse: m.rmse, r2: m.rSquared, mae: m.mae }).forEach((l) => ctx.log(l));
}

export function testCommand(run: Runner): Command {
  return new Command(TEST)
    .description('print one prediction per row of the test channel using model/model.json')
    .option(ML_ROOT_OPTION, 'SageMaker directory tree to read', DEFAULT_ML_ROOT)
    .action((options: { mlRoot: string }) => run(runTest, options.mlRoot));
}
