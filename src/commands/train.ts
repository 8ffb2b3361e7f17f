/**
 * `linear train`: SageMaker's training contract. Reads the config files and
 * the `train` channel, fits exactly, scores `validation` and `test` when they
 * carry labels, prints the summary and metrics, then writes model.json.
 */
import { Command } from 'commander';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { channelFormat } from '../contract/channel-format';
import { SCORED_CHANNELS, TRAIN_CHANNEL, channelSources } from '../contract/channels';
import { topologyOf } from '../cluster';
import { readInputDataConfig, readResourceConfig, type ChannelConfig } from '../contract/config';
import { readHyperparameters, type Hyperparameters, type Penalty } from '../contract/hyperparameters';
import { DEFAULT_ML_ROOT, type MlPaths } from '../contract/paths';
import { ErrorCode, LinearError, failureLine, systemErrorReason, toLinearError } from '../errors';
import { modelOf, writeModel, type Model } from '../model/model';
import { Trainer, type ChannelFormat, type FitOptions, type NativeFit } from '../native';
import { streamFiles, type Spill } from '../readers/channel-stream';
import { metricLines } from '../report/metrics';
import { Progress } from '../report/progress';
import { buildReport, channelRow, removeReport, sampleOf, writeReport, type ReportSample } from '../report/report';
import { summaryTable } from '../report/summary';
import { scoreChannel } from './score-channel';
import { Checkpoints } from './checkpoints';
import { checkSeveralHosts, fitOnHosts, storedBytes, type LeaderFit } from './train-on-hosts';
import { ML_ROOT_OPTION, type RunContext, type Runner } from './context';

export async function runTrain(paths: MlPaths, ctx: RunContext): Promise<void> {
  const { hyperparameters, warnings } = await readHyperparameters(paths);
  warnings.forEach((w) => ctx.log(w));
  const channels = await readInputDataConfig(paths);
  const formats = Object.fromEntries(
    [TRAIN_CHANNEL, ...SCORED_CHANNELS].map((name) => [name, channelFormat(name, channels[name], { training: name === TRAIN_CHANNEL, labelColumn: hyperparameters.labelColumn })]),
  );
  const resource = await readResourceConfig(paths);
  const topology = topologyOf(resource);
  const several = topology.hosts.length > 1;
  checkSeveralHosts(topology.hosts, channels, hyperparameters);
  // Only the leader writes: workers leave model/ empty, so nothing clashes in model.tar.gz.
  if (topology.isLeader) await checkWritable(paths);

  const config = channels[TRAIN_CHANNEL];
  const distribution = config?.distribution ?? 'FullyReplicated';
  const listed = await channelSources(paths, TRAIN_CHANNEL, config, ctx.signal);
  // A host of a sharded job may get no objects at all: it contributes no rows.
  const emptyShard = several && distribution === 'ShardedByS3Key' && (listed === undefined || listed.length === 0);
  if (listed === undefined && !emptyShard) {
    throw new LinearError(ErrorCode.MISSING_CHANNEL, `no '${TRAIN_CHANNEL}' channel: ${paths.channel(TRAIN_CHANNEL)} does not exist; put the training data (label first) there`);
  }
  const files = listed ?? [];
  if (files.length === 0 && !emptyShard) {
    throw new LinearError(ErrorCode.EMPTY_CHANNEL, `the '${TRAIN_CHANNEL}' channel (${paths.channel(TRAIN_CHANNEL)}) holds no data files; put the training data (label first) there`);
  }
  const mode = config?.inputMode ?? 'File';
  const hostsNote = several ? `, host ${topology.current} of ${topology.hosts.length}, ${distribution}` : '';
  ctx.log(`training on ${files.length} ${mode === 'Pipe' ? 'pipe' : 'file(s)'} in channel '${TRAIN_CHANNEL}' (${mode} mode${hostsNote}, ${estimatorSettings(hyperparameters)})`);
  const started = Date.now();
  const newTrainer = () => new Trainer(fitOptions(hyperparameters, solverMemoryBudget()), hyperparameters.featureDim, formats[TRAIN_CHANNEL]);

  const openCheckpoints = (share: string[]) =>
    Checkpoints.open(paths, { host: topology.current, hosts: topology.hosts, hyperparameters, channel: config ?? null, files: share, root: paths.dataDir }, hyperparameters.checkpointInterval, ctx.log);
  let fitted: LeaderFit | undefined;
  if (several) {
    fitted = await fitOnHosts(
      topology,
      {
        files,
        distribution,
        newTrainer,
        stream: (sources, trainer, pass) =>
          streamFiles(sources, trainer, {
            root: paths.dataDir,
            signal: pass.signal,
            progress: new Progress({ label: pass.label }),
            rows: () => trainer.rows,
            ...(pass.keepGoing ? { keepGoing: pass.keepGoing } : {}),
            ...(pass.afterSource ? { afterSource: pass.afterSource } : {}),
          }),
        checkpoints: (share) => openCheckpoints(share),
      },
      ctx,
    );
    if (fitted === undefined) return;
  } else {
    // A pipe is read once and cannot be skipped into: no checkpoints in Pipe mode.
    const checkpoints = mode === 'Pipe' ? undefined : await openCheckpoints(files);
    const { trainer, fit } = await fitOnOneHost(paths, files, mode, newTrainer(), checkpoints, ctx);
    const host = { host: topology.current, rows: trainer.rows, bytes: await storedBytes(files) };
    fitted = { trainer, fit, training: { distribution, hosts: [host] }, release: () => Promise.resolve(), fail: () => Promise.resolve() };
  }
  try {
    if (ctx.signal.aborted) throw ctx.signal.reason;
    const { trainer, fit, training } = fitted;
    const seconds = (Date.now() - started) / 1000;
    ctx.log(`fitted ${trainer.rows} rows x ${fit.coefficients.length} features in ${seconds.toFixed(3)} s (${fit.precision} precision)`);
    // The row sample for the report's plots, drawn by the core while the rows were read.
    const sample = sampleOf(trainer.sample());
    await writeResults(paths, channels, formats, modelOf(trainer.model(training)), resource.currentHost, { notes: warnings, sample }, ctx);
  } catch (err) {
    await fitted.fail(err);
    throw err;
  }
  await fitted.release();
}

/**
 * One host reads every file, in order, as many passes as the fit asks for;
 * with checkpoints, from where a stopped run of the same job left off.
 */
async function fitOnOneHost(
  paths: MlPaths,
  files: string[],
  mode: string,
  trainer: Trainer,
  checkpoints: Checkpoints | undefined,
  ctx: RunContext,
): Promise<{ trainer: Trainer; fit: NativeFit }> {
  const channel = `channel '${TRAIN_CHANNEL}'`;
  // A pipe can be read once: its bytes are kept on local disk in case another pass is needed.
  const spills: Spill[] = [];
  const afterSource = checkpoints ? () => checkpoints.afterSource(trainer) : undefined;
  const stream = { root: paths.dataDir, signal: ctx.signal, ...(afterSource ? { afterSource } : {}) };
  try {
    const resumed = await checkpoints?.resume(trainer);
    const skip = resumed?.sourcesDone ?? 0;
    if (resumed?.pass === 'extended') {
      await streamFiles(files.slice(skip), trainer, { ...stream, progress: new Progress({ label: `${channel}, ${PASSES.extended.label}` }) });
    } else {
      const spill = mode === 'Pipe' ? { dir: spillDir(), spills, log: ctx.log } : undefined;
      const summaries = await streamFiles(files.slice(skip), trainer, { ...stream, progress: new Progress({ label: channel }), rows: () => trainer.rows, ...(spill ? { spill } : {}) });
      for (const s of summaries.filter((s) => s.empty)) ctx.log(`skipping ${s.displayName}: it is empty`);
      if (resumed === undefined && summaries.every((s) => s.rows === 0)) {
        const names = summaries.map((s) => s.displayName).join(', ');
        if (summaries.some((s) => s.hadHeader)) {
          throw new LinearError(ErrorCode.HEADER_ONLY, `channel '${TRAIN_CHANNEL}' has header rows but no data rows (${names}); add rows of numbers below the header`);
        }
        throw new LinearError(ErrorCode.EMPTY_FILE, `every file in channel '${TRAIN_CHANNEL}' is empty (${names}); upload rows with the label first`);
      }
    }
    let fit = await trainer.finish();
    while (fit === null) {
      const pass = trainer.nextPass;
      const why = PASSES[pass ?? 'rows'] ?? PASSES.rows;
      ctx.log(why.log);
      trainer.startNextPass();
      const again = mode === 'Pipe' ? spilledSources(spills) : files;
      const label = `${channel}, ${why.label}`;
      const spilledNames = new Map(spills.map((s) => [s.file, path.relative(paths.dataDir, s.fifo)]));
      await streamFiles(again, trainer, { ...stream, progress: new Progress({ label }), displayName: (file) => spilledNames.get(file) });
      fit = await trainer.finish();
    }
    return { trainer, fit };
  } catch (err) {
    // Stopped (spot capacity reclaimed): keep where the pass stands for the next run.
    if (ctx.signal.aborted) await checkpoints?.save(trainer);
    throw err;
  } finally {
    await removeSpills(spills, ctx.log);
  }
}

/**
 * The summary, the scored channels' metrics, model.json and the training
 * report: what the job leaves behind (the leader's alone).
 */
async function writeResults(
  paths: MlPaths,
  channels: Record<string, ChannelConfig>,
  formats: Record<string, ChannelFormat>,
  model: Model,
  host: string,
  report: { notes: string[]; sample: ReportSample | null },
  ctx: RunContext,
): Promise<void> {
  const doc = model.document;
  const aliased = doc.feature_names.filter((_, i) => doc.aliased[i]);
  if (aliased.length > 0) {
    ctx.log(`rank ${doc.statistics.rank}: ${aliased.join(', ')} ${aliased.length === 1 ? 'is a linear combination' : 'are linear combinations'} of earlier columns; coefficient set to 0 and flagged as aliased`);
  }
  await ctx.out(`${summaryTable(doc)}\n`);
  const s = doc.statistics;
  const lines = metricLines(host, TRAIN_CHANNEL, doc, { mse: s.mse, rmse: s.rmse, r2: s.r_squared ?? NaN });
  const scored = [channelRow(TRAIN_CHANNEL, { rows: s.n, mse: s.mse, rmse: s.rmse, r2: s.r_squared })];
  for (const channel of SCORED_CHANNELS) {
    const m = await scoreChannel(paths, channel, channels[channel], formats[channel], model, ctx);
    if (m) {
      lines.push(...metricLines(host, channel, doc, { mse: m.mse, rmse: m.rmse, r2: m.rSquared, mae: m.mae }));
      scored.push(channelRow(channel, { rows: m.n, mse: m.mse, rmse: m.rmse, r2: m.rSquared, mae: m.mae }));
    }
  }
  if (ctx.signal.aborted) throw ctx.signal.reason;
  await removeReport(paths);
  await writeModel(paths, model);
  await ctx.out(`${lines.join('\n')}\n`);
  ctx.log(`model written to ${paths.modelFile}`);
  // From what is already in memory: the report reads no data. The model is
  // written: a report that cannot be made is logged, and the job still succeeds.
  try {
    const written = await writeReport(paths, buildReport({ model: doc, channels: scored, sample: report.sample, notes: report.notes }));
    ctx.log(`report written to ${written}`);
  } catch (err) {
    if (ctx.signal.aborted) throw ctx.signal.reason;
    ctx.log(`no training report: ${failureLine(toLinearError(err))}`);
  }
}

/** Why the trainer asked for another pass over the data, in the log and the progress line. */
const PASSES: Record<string, { log: string; label: string }> = {
  rows: { log: 'the first pass learnt how wide the libsvm rows are; reading the rows', label: 'rows' },
  extended: {
    log: 'the data is ill-conditioned for a one-pass f64 solution; reading it again for an extended-precision factorisation',
    label: 'extended-precision pass',
  },
  refinement: {
    log: 'the f64 solution of this wide design is not certified to 1e-12; reading the data again to refine it (residuals in double-double)',
    label: 'refinement pass',
  },
  residuals: {
    log: 'reading the data again for its residuals: robust standard errors (with the leverages) and/or exact residual diagnostics',
    label: 'residuals pass',
  },
};

/** The estimator the hyperparameters describe, for the core. */
function fitOptions(h: Hyperparameters, memoryLimit: number): FitOptions {
  const auto = (['l2', 'l1', 'wd'] as const).find((k) => h[k] === 'auto');
  const value = (p: Penalty): number => (p === 'auto' ? 0 : p);
  return {
    fitIntercept: h.fitIntercept,
    l2: value(h.l2),
    l1: value(h.l1),
    wd: value(h.wd),
    nonNegative: h.nonNegative,
    memoryLimit,
    ...(auto === undefined ? {} : { tune: auto, cvFolds: h.cvFolds }),
    ...(h.robustSe === undefined ? {} : { robustSe: h.robustSe }),
    ...(h.residualDiagnostics === undefined ? {} : { residualDiagnostics: h.residualDiagnostics }),
    ...(typeof h.weightColumn === 'number' ? { weightColumn: h.weightColumn } : {}),
    ...(typeof h.weightColumn === 'string' ? { weightColumnName: h.weightColumn } : {}),
  };
}

function estimatorSettings(h: Hyperparameters): string {
  const settings = [`fit_intercept=${h.fitIntercept}`, `l2=${h.l2}`];
  if (h.l1 !== 0 || h.wd !== 0) settings.push(`l1=${h.l1}`, `wd=${h.wd}`);
  if (h.nonNegative) settings.push('non_negative=true');
  if ([h.l2, h.l1, h.wd].includes('auto')) settings.push(`cv_folds=${h.cvFolds}`);
  if (h.weightColumn !== undefined) settings.push(`weight_column=${h.weightColumn}`);
  if (h.robustSe !== undefined) settings.push(`robust_se=${h.robustSe}`);
  if (h.residualDiagnostics !== undefined) settings.push(`residual_diagnostics=${h.residualDiagnostics}`);
  return settings.join(', ');
}

/**
 * model/ and output/ must be writable before any data is read: a job that can
 * only fail at the end should fail at the start. Typical cause: the container
 * runs as a user (docker run --user) who does not own a mounted ml tree.
 */
export async function checkWritable(paths: MlPaths): Promise<void> {
  for (const dir of [paths.modelDir, paths.outputDir]) {
    const probe = path.join(dir, `.linear-write-check.${process.pid}`);
    try {
      await fs.mkdir(dir, { recursive: true });
      await (await fs.open(probe, 'wx')).close();
      await fs.rm(probe, { force: true });
    } catch (err) {
      throw new LinearError(ErrorCode.UNWRITABLE_OUTPUT, `cannot write ${dir}: ${systemErrorReason(err)}${await whoCanWrite(paths.root)}`);
    }
  }
}

/** The fix, naming the user we run as and the tree's owner when they differ. */
async function whoCanWrite(root: string): Promise<string> {
  const uid = process.getuid?.();
  const owner = await fs.stat(root).then((s) => s.uid, () => undefined);
  const who = uid !== undefined && owner !== undefined && owner !== uid ? ` (running as uid ${uid}; ${root} belongs to uid ${owner})` : '';
  const user = uid === undefined ? 'this user' : `uid ${uid}`;
  return (
    `${who}; run the container as the owner of the ml tree (docker run --user $(id -u):$(id -g) when the tree is yours) ` +
    `or make model/ and output/ under ${root} writable for ${user}`
  );
}

/** Where a pipe's bytes are kept for another pass: LINEAR_SPILL_DIR, else the temp directory. */
function spillDir(): string {
  return process.env.LINEAR_SPILL_DIR || os.tmpdir();
}

/** The spilled copies of the pipes, for a pass after the first; refused when a copy could not be kept. */
function spilledSources(spills: Spill[]): string[] {
  const dropped = spills.find((s) => s.bytes < 0);
  if (dropped !== undefined) {
    throw new LinearError(
      ErrorCode.UNREADABLE_FILE,
      `another pass over ${dropped.fifo} is needed, but its copy could not be kept on local disk; ` +
        'give the job more storage (VolumeSizeInGB) or set LINEAR_SPILL_DIR to a larger disk, or use File or FastFile mode',
    );
  }
  return spills.map((s) => s.file);
}

async function removeSpills(spills: Spill[], log: (line: string) => void): Promise<void> {
  for (const spill of spills) {
    await fs.rm(spill.file, { force: true });
    if (spill.bytes >= 0) log(`kept ${(spill.bytes / 1e6).toFixed(1)} MB of ${path.basename(spill.fifo)} on local disk for another pass (${spill.file}, now removed)`);
  }
}

/**
 * What the exact solver may hold: most of the container's memory limit (its
 * cgroup, as SageMaker and docker --memory set it) or of the machine's, the
 * rest left to Node and the read buffers.
 */
function solverMemoryBudget(): number {
  const constrained = process.constrainedMemory?.() ?? 0;
  const total = constrained > 0 && constrained < os.totalmem() ? constrained : os.totalmem();
  return Math.floor(total * 0.8);
}

export function trainCommand(run: Runner): Command {
  return new Command('train')
    .description('fit the model on the train channel (SageMaker: docker run <image> train) and write model/model.json')
    .option(ML_ROOT_OPTION, 'SageMaker directory tree to read and write', DEFAULT_ML_ROOT)
    .action((options: { mlRoot: string }) => run(runTrain, options.mlRoot));
}
