/**
 * The CLI's edges: --version, help and usage exit codes, a stale failure file
 * after a successful run, an ml tree the user cannot write, serve --host, and
 * overlapping pushes into the addon from library code.
 */
import test from 'ava';
import { execFile, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { get } from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { LinearError } from '../src/errors';
import { Scorer, Trainer } from '../src/native';
import { CLI, REPO_ROOT, makeMlTree, runCli } from './helpers/ml-tree';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** `node dist/main.js <args>` exactly as given (no --ml-root added), optionally as another user. */
function cli(args: string[], options: { uid?: number; gid?: number } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [CLI, ...args], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 60_000, ...options }, (err, stdout, stderr) => {
      if (err === null) resolve({ code: 0, stdout, stderr });
      else if (typeof err.code === 'number') resolve({ code: err.code, stdout, stderr });
      else reject(err);
    });
  });
}

const VERSION = (JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;

test('--version and -V print the package version and exit 0', async (t) => {
  for (const flag of ['--version', '-V']) {
    const run = await cli([flag]);
    t.is(run.code, 0, flag);
    t.is(run.stdout, `${VERSION}\n`, flag);
    t.is(run.stderr, '', flag);
  }
});

test('help asked for is usage on stdout with exit 0', async (t) => {
  for (const args of [['--help'], ['-h'], ['help'], ['help', 'train'], ['train', '--help'], ['serve', '--help'], ['test', '--help']]) {
    const run = await cli(args);
    t.is(run.code, 0, args.join(' '));
    t.regex(run.stdout, /^Usage: linear/, args.join(' '));
    t.is(run.stderr, '', args.join(' '));
  }
  t.regex((await cli(['--help'])).stdout, /-V, --version/);
  t.regex((await cli(['serve', '--help'])).stdout, /--host <address>/);
});

test('no command is usage on stderr with exit 2; so are an unknown command and an unknown option', async (t) => {
  const none = await cli([]);
  t.is(none.code, 2);
  t.is(none.stdout, '');
  t.regex(none.stderr, /^Usage: linear/);
  const unknown = await cli(['fly']);
  t.is(unknown.code, 2);
  t.is(unknown.stdout, '');
  t.regex(unknown.stderr, /unknown command 'fly'/);
  t.regex(unknown.stderr, /Usage: linear/);
  const option = await cli(['--bogus']);
  t.is(option.code, 2);
  t.regex(option.stderr, /unknown option '--bogus'/);
});

test('a successful train removes the failure file an earlier failed run left', async (t) => {
  const tree = await makeMlTree({ hyperparameters: { l2: '-1' }, channels: { train: { 'd.csv': '1,2\n3,4\n5,7\n' } } }, t);
  const failed = await runCli(['train'], { root: tree.root });
  t.is(failed.code, 2);
  t.regex(readFileSync(tree.failureFile, 'utf8'), /^INVALID_HYPERPARAMETER: /);
  writeFileSync(path.join(tree.configDir, 'hyperparameters.json'), '{"l2": "0"}');
  const fixed = await runCli(['train'], { root: tree.root });
  t.is(fixed.code, 0, fixed.stderr);
  t.true(existsSync(tree.modelFile));
  t.false(existsSync(tree.failureFile), 'no old failure next to the new model');
  t.true(existsSync(path.dirname(tree.failureFile)), 'output/ itself stays');
});

/**
 * Someone who cannot write the tree: as root, a child running as uid/gid 1000
 * on a root-owned tree (docker run --user 1000:1000 on a root-owned ml/);
 * otherwise ourselves on a tree made read-only.
 */
const isRoot = process.getuid?.() === 0;
const asOtherUser = isRoot ? { uid: 1000, gid: 1000 } : {};

/** Why the unwritable-tree tests cannot run here, or undefined when they can. */
function cannotDropWrite(): string | undefined {
  if (process.platform === 'win32') return 'file modes and uids do not apply on Windows';
  if (!isRoot) return undefined;
  const probe = spawnSync(process.execPath, ['-e', `require('fs').accessSync(${JSON.stringify(CLI)}, require('fs').constants.R_OK)`], asOtherUser);
  if (probe.error) return `running as uid 1000 is not permitted here (${probe.error.message})`;
  if (probe.status !== 0) return `uid 1000 cannot read ${CLI}`;
  return undefined;
}
const skipReason = cannotDropWrite();
const unwritableTest = skipReason === undefined ? test : test.skip;
if (skipReason !== undefined) console.log(`skipping the unwritable-tree tests: ${skipReason}`);

/** The bundled example, readable by everyone; with `locked`, its root cannot be written by the test user. */
async function lockedTree(t: { teardown: (fn: () => unknown) => void }, prepare?: (root: string) => void): Promise<string> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'linear-ro-'));
  t.teardown(async () => {
    chmodSync(root, 0o755);
    await rm(root, { recursive: true, force: true });
  });
  cpSync(path.join(REPO_ROOT, 'ml', 'input'), path.join(root, 'input'), { recursive: true });
  // Data a read would reject: the error must come before any data is read.
  writeFileSync(path.join(root, 'input', 'data', 'train', 'train.csv'), 'label,x\n1,oops\n');
  prepare?.(root);
  chmodSync(root, isRoot ? 0o755 : 0o555);
  return root;
}

function checkUnwritable(t: import('ava').ExecutionContext, run: Run, dir: string): void {
  t.is(run.code, 2, run.stderr);
  t.regex(run.stderr, new RegExp(`linear: error UNWRITABLE_OUTPUT: cannot write ${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: permission denied`));
  t.true(run.stderr.includes('--user $(id -u):$(id -g)'), run.stderr);
  t.regex(run.stderr, /make model\/ and output\/ under .* writable/);
  if (isRoot) t.regex(run.stderr, /running as uid 1000; .* belongs to uid 0/);
  t.notRegex(run.stderr, /UNREADABLE_FILE|NON_NUMERIC_VALUE|training on/, 'fails before reading data');
  t.notRegex(run.stderr, /^\s+at /m, 'no stack trace');
}

unwritableTest('train on a tree it cannot write fails early with UNWRITABLE_OUTPUT, exit 2, on stderr', async (t) => {
  const root = await lockedTree(t);
  const run = await cli(['train', '--ml-root', root], asOtherUser);
  checkUnwritable(t, run, path.join(root, 'model'));
  t.regex(run.stderr, /could not write .*output\/failure \(permission denied\); the error above is the failure/);
  t.false(existsSync(path.join(root, 'output', 'failure')));
  t.false(existsSync(path.join(root, 'model', 'model.json')));
});

unwritableTest('existing model/ and output/ owned by someone else: the message still reaches stderr', async (t) => {
  const root = await lockedTree(t, (r) => {
    mkdirSync(path.join(r, 'model'), { mode: 0o755 });
    mkdirSync(path.join(r, 'output'), { mode: 0o755 });
    if (!isRoot) {
      chmodSync(path.join(r, 'model'), 0o555);
      chmodSync(path.join(r, 'output'), 0o555);
    }
  });
  t.teardown(() => {
    for (const d of ['model', 'output']) if (existsSync(path.join(root, d))) chmodSync(path.join(root, d), 0o755);
  });
  const run = await cli(['train', '--ml-root', root], asOtherUser);
  checkUnwritable(t, run, path.join(root, 'model'));
  t.regex(run.stderr, /could not write .*output\/failure \(permission denied\)/);
  t.false(existsSync(path.join(root, 'output', 'failure')));
});

test('model.json failing to be written at the end is UNWRITABLE_OUTPUT too', async (t) => {
  const tree = await makeMlTree({ channels: { train: { 'd.csv': '1,2\n3,4\n5,7\n' } } }, t);
  // A non-empty directory where model.json goes: the final rename fails.
  mkdirSync(path.join(tree.modelFile, 'in-the-way'), { recursive: true });
  const run = await runCli(['train'], { root: tree.root });
  t.is(run.code, 2, run.stderr);
  t.regex(run.stderr, /error UNWRITABLE_OUTPUT: cannot write .*model\.json/);
  t.regex(readFileSync(tree.failureFile, 'utf8'), /^UNWRITABLE_OUTPUT: cannot write .*model\.json/);
  t.notRegex(run.stderr, /^\s+at /m);
});

test('serve --host 127.0.0.1 listens on loopback only and logs the address it bound', async (t) => {
  const tree = await makeMlTree({ channels: { train: { 'd.csv': '4,1\n7,2\n10,3\n' } } }, t);
  t.is((await runCli(['train'], { root: tree.root })).code, 0);
  const child = spawn(process.execPath, [CLI, 'serve', '--ml-root', tree.root, '--host', '127.0.0.1', '--port', '0'], { stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = once(child, 'exit') as Promise<[number | null]>;
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  let logs = '';
  const port = await new Promise<number>((resolve, reject) => {
    child.stderr.on('data', (d: Buffer) => {
      logs += d.toString();
      const match = / on 127\.0\.0\.1:(\d+), payload limit/.exec(logs);
      if (match) resolve(Number(match[1]));
    });
    child.once('exit', (code) => reject(new Error(`serve exited with ${code}:\n${logs}`)));
  });
  t.true(port > 0);
  const status = (host: string) =>
    new Promise<number | string>((resolve) => {
      get({ host, port, path: '/ping', timeout: 5_000 }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      }).on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
    });
  t.is(await status('127.0.0.1'), 200);
  const external = Object.values(os.networkInterfaces())
    .flat()
    .find((i) => i && i.family === 'IPv4' && !i.internal);
  if (external) t.is(await status(external.address), 'ECONNREFUSED', `not reachable on ${external.address}`);
  child.kill('SIGTERM');
  t.is((await exited)[0], 0, logs);
});

const PUSH_AGAIN = 'push was called again before the previous push resolved; await each push';

test('Trainer.push rejects an overlapping push instead of reordering chunks', async (t) => {
  const trainer = new Trainer({ fitIntercept: true });
  trainer.beginSource('memory');
  const first = trainer.push(Buffer.from('1,0\n3,1\n'));
  const second = trainer.push(Buffer.from('5,2\n'));
  const err = await t.throwsAsync(second, { instanceOf: LinearError, message: PUSH_AGAIN });
  t.is(err?.code, 'INVALID_ARGUMENT');
  await t.notThrowsAsync(first);
  await trainer.push(Buffer.from('5,2\n7,3\n'));
  t.is(trainer.endSource().rows, 4);
  t.is(trainer.rows, 4);
  const fit = await trainer.finish();
  t.is(fit?.intercept, 1);
  t.deepEqual(fit?.coefficients, [2]);
});

test('Scorer.push rejects an overlapping push; predictions stay in input order', async (t) => {
  const predictions: number[] = [];
  // y = 1 + 2x, fitted exactly.
  const trainer = new Trainer({ fitIntercept: true });
  trainer.beginSource('memory');
  await trainer.push(Buffer.from('1,0\n3,1\n5,2\n'));
  trainer.endSource();
  await trainer.finish();
  const scorer = new Scorer(trainer.model({ distribution: 'FullyReplicated', hosts: [{ host: 'algo-1', rows: 3, bytes: 12 }] }), (p) => predictions.push(...p));
  scorer.beginSource('memory');
  const first = scorer.push(Buffer.from('1\n2\n'));
  const err = await t.throwsAsync(scorer.push(Buffer.from('3\n')), { instanceOf: LinearError, message: PUSH_AGAIN });
  t.is(err?.code, 'INVALID_ARGUMENT');
  await first;
  await scorer.push(Buffer.from('3\n4\n'));
  scorer.endSource();
  t.deepEqual(predictions, [3, 5, 7, 9]);
  t.is(scorer.labelled, false);
  t.is(scorer.metrics(), null);
});

test('a failed push frees the gate and is a coded error', async (t) => {
  const trainer = new Trainer({ fitIntercept: true });
  trainer.beginSource('bad.csv');
  const err = await t.throwsAsync(trainer.push(Buffer.from('1,oops\n')), { instanceOf: LinearError });
  t.is(err?.code, 'NON_NUMERIC_VALUE');
  trainer.beginSource('good.csv');
  await t.notThrowsAsync(trainer.push(Buffer.from('1,0\n')));
});
