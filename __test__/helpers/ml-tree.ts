/**
 * Test helpers for driving the compiled CLI against throw-away SageMaker trees:
 * `makeMlTree` lays out <root>/input/{config,data}, `runCli` spawns
 * `node dist/main.js` and reports how it ended.
 */
import type { ExecutionContext } from 'ava';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';

export const REPO_ROOT = path.join(__dirname, '..', '..');
export const CLI = path.join(REPO_ROOT, 'dist', 'main.js');

/** A JSON config file: an object is serialised, a string is written verbatim (e.g. malformed JSON). */
export type ConfigSpec = Record<string, unknown> | string;

export interface MlTreeSpec {
  /** input/config/hyperparameters.json; SageMaker writes every value as a string. */
  hyperparameters?: ConfigSpec;
  /** input/config/inputdataconfig.json. */
  inputDataConfig?: ConfigSpec;
  /** input/config/resourceconfig.json. */
  resourceConfig?: ConfigSpec;
  /** input/data/<channel>/<relative path> -> contents. An empty object makes an empty channel directory. */
  channels?: Record<string, Record<string, string | Buffer>>;
  /** model/model.json, for `test` runs. */
  model?: ConfigSpec;
}

export interface MlTree {
  root: string;
  configDir: string;
  dataDir: string;
  channel(name: string): string;
  modelFile: string;
  failureFile: string;
}

function configText(spec: ConfigSpec): string {
  return typeof spec === 'string' ? spec : `${JSON.stringify(spec)}\n`;
}

async function put(file: string, contents: string | Buffer): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, contents);
}

/** Creates a fresh tree in the temp directory; with `t` it is removed when the test ends. */
export async function makeMlTree(spec: MlTreeSpec = {}, t?: ExecutionContext): Promise<MlTree> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'linear-cli-'));
  if (t) t.teardown(() => rm(root, { recursive: true, force: true }));
  const configDir = path.join(root, 'input', 'config');
  const dataDir = path.join(root, 'input', 'data');
  const tree: MlTree = {
    root,
    configDir,
    dataDir,
    channel: (name) => path.join(dataDir, name),
    modelFile: path.join(root, 'model', 'model.json'),
    failureFile: path.join(root, 'output', 'failure'),
  };
  await mkdir(configDir, { recursive: true });
  await mkdir(dataDir, { recursive: true });
  if (spec.hyperparameters !== undefined) await put(path.join(configDir, 'hyperparameters.json'), configText(spec.hyperparameters));
  if (spec.inputDataConfig !== undefined) await put(path.join(configDir, 'inputdataconfig.json'), configText(spec.inputDataConfig));
  if (spec.resourceConfig !== undefined) await put(path.join(configDir, 'resourceconfig.json'), configText(spec.resourceConfig));
  for (const [channel, files] of Object.entries(spec.channels ?? {})) {
    await mkdir(tree.channel(channel), { recursive: true });
    for (const [relative, contents] of Object.entries(files)) await put(path.join(tree.channel(channel), relative), contents);
  }
  if (spec.model !== undefined) await put(tree.modelFile, configText(spec.model));
  return tree;
}

export interface CliResult {
  /** Exit status; 128 + signal number when the process was killed by a signal. */
  code: number;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

const SIGNAL_NUMBERS: Partial<Record<NodeJS.Signals, number>> = { SIGTERM: 15, SIGKILL: 9, SIGINT: 2 };

/** Runs `node dist/main.js <args> --ml-root <root>` and resolves however it exits. */
export function runCli(args: string[], options: { root: string; timeoutMs?: number; env?: NodeJS.ProcessEnv }): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [CLI, ...args, '--ml-root', options.root],
      { cwd: REPO_ROOT, timeout: options.timeoutMs ?? 60_000, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8', env: { ...process.env, ...options.env } },
      (err, stdout, stderr) => {
        if (err === null) {
          resolve({ code: 0, signal: null, stdout, stderr });
          return;
        }
        const failure = err as NodeJS.ErrnoException & { code?: number | string; signal?: NodeJS.Signals | null };
        if (typeof failure.code === 'number') {
          resolve({ code: failure.code, signal: null, stdout, stderr });
        } else if (failure.signal) {
          resolve({ code: 128 + (SIGNAL_NUMBERS[failure.signal] ?? 0), signal: failure.signal, stdout, stderr });
        } else {
          reject(err);
        }
      },
    );
  });
}

/**
 * Degree-5 polynomial rows (label first) with large residuals: 200,000 rows x
 * 6 values, beyond what is kept in memory and too ill-conditioned for one f64
 * pass, so training reads the data a second time in extended precision.
 */
export function illConditionedCsv(): string {
  const lines: string[] = [];
  for (let i = 0; i < 200_000; i++) {
    const x = (i % 2000) / 100;
    const powers = [1, 2, 3, 4, 5].map((k) => x ** k);
    const y = 1 + powers.reduce((s, v) => s + v, 0) + (((i * 7919) % 1000) - 500);
    lines.push([y, ...powers].join(','));
  }
  return `${lines.join('\n')}\n`;
}
