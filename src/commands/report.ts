/**
 * `linear report`: rebuilds output/data/report.html, report.md and
 * report.json from model/model.json and the report.json an earlier `train`
 * wrote, without the data: the statistics come from the model, the row
 * sample, channel metrics and notes from the earlier report.
 */
import { Command } from 'commander';
import { DEFAULT_ML_ROOT, type MlPaths } from '../contract/paths';
import { loadModel } from '../model/model';
import { buildReport, readReportInputs, writeReport } from '../report/report';
import { ML_ROOT_OPTION, type RunContext, type Runner } from './context';

export async function runReport(paths: MlPaths, ctx: RunContext): Promise<void> {
  const model = await loadModel(paths);
  const kept = await readReportInputs(paths);
  if (ctx.signal.aborted) throw ctx.signal.reason;
  const written = await writeReport(paths, buildReport({ ...kept, model: model.document }));
  ctx.log(`report written to ${written}`);
}

export function reportCommand(run: Runner): Command {
  return new Command('report')
    .description('rewrite output/data/report.html, report.md and report.json from model/model.json and the report.json train wrote (no data is read)')
    .option(ML_ROOT_OPTION, 'SageMaker directory tree to read and write', DEFAULT_ML_ROOT)
    .action((options: { mlRoot: string }) => run(runReport, options.mlRoot));
}
