/**
 * Spot training: a run stopped (SIGKILL, SIGTERM) after some files resumes
 * from its checkpoint and writes the model an uninterrupted run writes, bit
 * for bit; a checkpoint of another job is ignored with a log line.
 */
import test, { type ExecutionContext } from 'ava';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { CLI, REPO_ROOT, makeMlTree, runCli, type MlTree } from './helpers/ml-tree';
import { freePort } from './helpers/ports';

const FILES = 6;

/** Seeded rows `y,x1,x2,x3`, ~18 MB per file: long enough to stop a run between files. */
function part(index: number): string {
  let state = index + 11;
  const next = () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
  const lines: string[] = [];
  for (let i = 0; i < 300_000; i += 1) {
    const [a, b, c] = [next() * 10, 1e5 + next() * 5, next()];
    lines.push([3 + 2 * a - 0.5 * b + c + next() * 0.1, a, b, c].map((v) => v.toPrecision(12)).join(','));
  }
  return `${lines.join('\n')}\n`;
}

const PARTS = Object.fromEntries(Array.from({ length: FILES }, (_, i) => [`part-${i}.csv`, part(i)]));

async function job(t: ExecutionContext, hyperparameters: Record<string, string>, checkpoints: boolean): Promise<{ tree: MlTree; checkpoint: string }> {
  const tree = await makeMlTree({ hyperparameters, channels: { train: PARTS } }, t);
  const dir = path.join(tree.root, 'spot-checkpoints');
  if (checkpoints) await writeFile(path.join(tree.configDir, 'checkpointconfig.json'), JSON.stringify({ LocalPath: dir, S3Uri: 's3://bucket/checkpoints' }));
  return { tree, checkpoint: path.join(dir, 'linear-algo-1.checkpoint') };
}

/** Starts a training run and stops it with `signal` as soon as its first checkpoint is on disk. */
async function stopAfterFirstCheckpoint(tree: MlTree, checkpoint: string, signal: NodeJS.Signals): Promise<number | null> {
  const child = spawn(process.execPath, [CLI, 'train', '--ml-root', tree.root], { cwd: REPO_ROOT, stdio: 'ignore' });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code, killedBy) => resolve(killedBy === 'SIGKILL' ? 137 : code)));
  while (!existsSync(checkpoint) && child.exitCode === null) await new Promise((resolve) => setTimeout(resolve, 2));
  child.kill(signal);
  return exited;
}

/** model.json without where its rows were read; `severalHosts`: nor the residual diagnostics (from the leader's sample of its own rows). */
function fitted(tree: MlTree, severalHosts = false): string {
  const { training: _, statistics, ...model } = JSON.parse(readFileSync(tree.modelFile, 'utf8')) as Record<string, unknown>;
  const { residuals, ...kept } = statistics as Record<string, unknown>;
  return JSON.stringify({ ...model, statistics: severalHosts ? kept : { ...kept, residuals } });
}

let uninterrupted: Promise<string> | undefined;
function reference(t: ExecutionContext): Promise<string> {
  uninterrupted ??= (async () => {
    const { tree } = await job(t, {}, false);
    const r = await runCli(['train'], { root: tree.root });
    if (r.code !== 0) throw new Error(r.stderr);
    return fitted(tree);
  })();
  return uninterrupted;
}

for (const signal of ['SIGKILL', 'SIGTERM'] as const) {
  test(`${signal} after the first files, then a rerun: it resumes and fits the uninterrupted bits`, async (t) => {
    const { tree, checkpoint } = await job(t, { checkpoint_interval: '0' }, true);
    const code = await stopAfterFirstCheckpoint(tree, checkpoint, signal);
    t.is(code, signal === 'SIGKILL' ? 137 : 143);
    t.false(existsSync(tree.modelFile), 'the stopped run wrote no model');
    const r = await runCli(['train'], { root: tree.root });
    t.is(r.code, 0, r.stderr);
    const resumed = /resumed from the checkpoint .*: (\d+) file\(s\) of the first pass already read/.exec(r.stderr);
    t.truthy(resumed, r.stderr);
    t.true(Number(resumed?.[1]) >= 1 && Number(resumed?.[1]) < FILES, r.stderr);
    t.is(fitted(tree), await reference(t));
  });
}

test("another job's checkpoint is ignored with a log line", async (t) => {
  const { tree, checkpoint } = await job(t, { checkpoint_interval: '0' }, true);
  t.is(await stopAfterFirstCheckpoint(tree, checkpoint, 'SIGKILL'), 137);
  await writeFile(path.join(tree.configDir, 'hyperparameters.json'), JSON.stringify({ l2: '1' }));
  const r = await runCli(['train'], { root: tree.root });
  t.is(r.code, 0, r.stderr);
  t.regex(r.stderr, /ignoring the checkpoint .*: it was made for other data, hyperparameters or hosts/);
  t.notRegex(r.stderr, /resumed from/);
  t.is((JSON.parse(readFileSync(tree.modelFile, 'utf8')) as { l2: number }).l2, 1);
});

test('every host of a multi-instance job checkpoints; stopped together, the job resumes to one host\'s bits', async (t) => {
  const hosts = ['127.0.0.1', '127.0.0.2'];
  const port = String(await freePort());
  const trees = await Promise.all(
    hosts.map(async (host) => {
      const { tree, checkpoint } = await job(t, { checkpoint_interval: '0' }, true);
      await writeFile(path.join(tree.configDir, 'resourceconfig.json'), JSON.stringify({ current_host: host, hosts }));
      return { tree, checkpoint: checkpoint.replace('algo-1', host) };
    }),
  );
  const env = { ...process.env, LINEAR_CLUSTER_PORT: port };
  const children = trees.map(({ tree }) => spawn(process.execPath, [CLI, 'train', '--ml-root', tree.root], { cwd: REPO_ROOT, stdio: 'ignore', env }));
  const exited = children.map((child) => new Promise((resolve) => child.on('exit', resolve)));
  // A spot interruption stops every instance.
  while (!trees.every(({ checkpoint }) => existsSync(checkpoint)) && children.every((child) => child.exitCode === null)) {
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  children.forEach((child) => child.kill('SIGKILL'));
  await Promise.all(exited);
  t.false(existsSync(trees[0].tree.modelFile), 'the stopped job wrote no model');
  const runs = await Promise.all(trees.map(({ tree }) => runCli(['train'], { root: tree.root, env: { LINEAR_CLUSTER_PORT: port }, timeoutMs: 120_000 })));
  for (const r of runs) {
    t.is(r.code, 0, r.stderr);
    t.regex(r.stderr, /resumed from the checkpoint .*file\(s\) of the first pass already read/);
  }
  const one = JSON.parse(await reference(t)) as { statistics: Record<string, unknown> };
  delete one.statistics.residuals;
  t.is(fitted(trees[0].tree, true), JSON.stringify(one));
});
