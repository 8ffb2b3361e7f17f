#!/usr/bin/env node
/**
 * `linear <command>`: the container's entrypoint. Assembles the commands;
 * owns the process concerns no command should: SIGTERM, exit codes, and
 * SageMaker's output/failure file (training only).
 */
import { Command, CommanderError } from 'commander';
import { readFileSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { trainCommand } from './commands/train';
import { serveCommand } from './commands/serve';
import { testCommand } from './commands/test';
import { describeCommand } from './commands/describe';
import { reportCommand } from './commands/report';
import { LOG_PREFIX, type Action } from './commands/context';
import { mlPaths, type MlPaths } from './contract/paths';
import { ErrorCode, ExitCode, LinearError, failureLine, systemErrorReason, toLinearError } from './errors';
import { cancelNativeWork } from './native';

interface Policy {
  /** Training writes SageMaker's output/failure; the other commands report on stderr only. */
  writesFailure: boolean;
  /** After SIGTERM, how long the command may take before the process exits anyway. */
  graceMs: number;
  /**
   * SIGTERM stops native computations at their next step. Needed for a prompt
   * exit: Node waits for running native tasks before a process can end.
   * Serving lets in-flight requests finish instead.
   */
  cancelsNativeWork: boolean;
}

const TRAINING: Policy = { writesFailure: true, graceMs: 5_000, cancelsNativeWork: true };
const LOCAL: Policy = { writesFailure: false, graceMs: 5_000, cancelsNativeWork: true };
/** SageMaker kills a serving container 30 s after SIGTERM: drain within that. */
const SERVING: Policy = { writesFailure: false, graceMs: 28_000, cancelsNativeWork: false };

const log = (line: string) => process.stderr.write(`${LOG_PREFIX} ${line}\n`);

function out(text: string): Promise<void> {
  return new Promise((resolve) => {
    if (process.stdout.write(text)) resolve();
    else process.stdout.once('drain', resolve);
  });
}

async function writeFailure(paths: MlPaths, err: LinearError): Promise<void> {
  try {
    await fs.mkdir(paths.outputDir, { recursive: true });
    await fs.writeFile(paths.failureFile, `${failureLine(err)}\n`);
  } catch (writeErr) {
    log(`could not write ${paths.failureFile} (${systemErrorReason(writeErr)}); the error above is the failure`);
  }
}

/** A successful run must not leave an earlier run's failure next to the new model. */
async function removeStaleFailure(paths: MlPaths): Promise<void> {
  try {
    await fs.rm(paths.failureFile, { force: true });
  } catch (err) {
    log(`could not remove ${paths.failureFile} left by an earlier failed run (${systemErrorReason(err)})`);
  }
}

/** The version in package.json, one directory above dist/ (in the clone and in the image). */
function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}

async function execute(action: Action, root: string, policy: Policy): Promise<void> {
  const paths = mlPaths(root);
  const controller = new AbortController();
  const terminated = new LinearError(
    ErrorCode.TERMINATED,
    policy.writesFailure
      ? 'stopped by SIGTERM (StopTrainingJob, the maximum runtime or docker stop) before finishing; no model was written'
      : 'stopped by SIGTERM before finishing',
  );
  const fail = async (err: LinearError) => {
    log(`error ${failureLine(err)}`);
    if (err.kind === 'internal' && err.stack) process.stderr.write(`${err.stack}\n`);
    if (policy.writesFailure) await writeFailure(paths, err);
    process.exitCode = err.exitCode;
  };
  let grace: NodeJS.Timeout | undefined;
  const onSigterm = () => {
    if (controller.signal.aborted) return;
    log('SIGTERM received; stopping');
    if (policy.cancelsNativeWork) cancelNativeWork();
    controller.abort(terminated);
    grace = setTimeout(() => {
      void fail(terminated).finally(() => process.exit(ExitCode.TERMINATED));
    }, policy.graceMs).unref();
  };
  process.on('SIGTERM', onSigterm);
  try {
    await action(paths, { signal: controller.signal, log, out });
    if (policy.writesFailure) await removeStaleFailure(paths);
    process.exitCode = ExitCode.OK;
  } catch (err) {
    await fail(controller.signal.aborted ? terminated : toLinearError(err));
  } finally {
    // The handler stays: a SIGTERM between here and the process's exit must not kill it by default action.
    clearTimeout(grace);
  }
}

export function program(): Command {
  const root = new Command('linear')
    .description('Exact least-squares linear regression for Amazon SageMaker: train, serve, test, report, describe')
    .version(packageVersion(), '-V, --version', 'print the version')
    .showHelpAfterError()
    .exitOverride();
  root.addCommand(trainCommand((action, ml) => execute(action, ml, TRAINING)));
  root.addCommand(serveCommand((action, ml) => execute(action, ml, SERVING)));
  root.addCommand(testCommand((action, ml) => execute(action, ml, LOCAL)));
  root.addCommand(reportCommand((action, ml) => execute(action, ml, LOCAL)));
  root.addCommand(describeCommand());
  root.commands.forEach((c) => c.exitOverride().showHelpAfterError());
  return root;
}

async function main(argv: string[]): Promise<void> {
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
  });
  const cli = program();
  if (argv.length <= 2) {
    cli.outputHelp({ error: true });
    process.exitCode = ExitCode.USER;
    return;
  }
  try {
    await cli.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode === 0 ? ExitCode.OK : ExitCode.USER;
      return;
    }
    throw err;
  }
}

void main(process.argv);
