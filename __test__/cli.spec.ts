/**
 * The real CLI on temp SageMaker trees: the bundled example, help, metrics,
 * headers, gzip, scored channels, aliasing, the second pass, and SIGTERM.
 */
import test from 'ava';
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { cpSync, createWriteStream, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip, gzipSync } from 'node:zlib';
import { CLI, REPO_ROOT, illConditionedCsv, makeMlTree, runCli } from './helpers/ml-tree';

const number = '([-+0-9.eE]+)';

test('the bundled ml/ example trains and then predicts exactly 31', async (t) => {
  const root = await mkdtemp(path.join(os.tmpdir(), 'linear-ml-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  cpSync(path.join(REPO_ROOT, 'ml', 'input'), path.join(root, 'input'), { recursive: true });
  const trained = await runCli(['train'], { root });
  t.is(trained.code, 0, trained.stderr);
  t.regex(trained.stderr, /epochs=500 ignored/);
  t.regex(trained.stderr, /channel 'test' has 1 column\(s\) per row, the features without a label; skipping its metrics/);
  t.regex(trained.stdout, /Least Squares Regression Results/);
  t.regex(trained.stdout, /^intercept\s+1\.0000/m);
  for (const regex of [`train:mse=${number}`, `train:rmse=${number}`, `train:r2=${number}`, `#quality_metric: host=\\S+, train mse <loss>=${number}`]) {
    t.regex(trained.stdout, new RegExp(regex), regex);
  }
  t.is(new RegExp(`train:r2=${number}`).exec(trained.stdout)?.[1], '1');
  const model = JSON.parse(readFileSync(path.join(root, 'model', 'model.json'), 'utf8'));
  t.like(model, { format: 'linear-model', version: 1, fit_intercept: true, intercept: 1, coefficients: [3], feature_names: ['x1'] });
  t.like(model.statistics, { n: 6, rank: 2, df_resid: 4, r_squared: 1 });
  t.false(existsSync(path.join(root, 'output', 'failure')));
  const tested = await runCli(['test'], { root });
  t.is(tested.code, 0, tested.stderr);
  t.is(tested.stdout, '31\n');
});

test('the linear bin runs on its own, as npx linear runs it: executable, with a node shebang', (t) => {
  const version = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')).version as string;
  t.is(execFileSync(CLI, ['--version'], { encoding: 'utf8' }).trim(), version);
});

test('every command has --help, and an unknown command is a usage error', async (t) => {
  for (const args of [['--help'], ['train', '--help'], ['serve', '--help'], ['test', '--help']]) {
    const out = execFileSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
    t.regex(out, args.length === 1 ? /train/ : /--ml-root <dir>/, args.join(' '));
  }
  const unknown = await runCli(['fly'], { root: os.tmpdir() });
  t.is(unknown.code, 2);
  t.regex(unknown.stderr, /unknown command 'fly'/);
});

test('headers name the features; gzip and nested files are read in sorted path order (test predictions follow it); labelled channels are scored', async (t) => {
  const rows = (from: number, to: number) =>
    Array.from({ length: to - from }, (_, i) => {
      const a = from + i;
      const b = (a * 7) % 11;
      return `${2 + 0.5 * a - 3 * b + ((a * 13) % 5) / 10},${a},${b}`;
    }).join('\n');
  // Test files are created in an order (c, b, a/part-9, a/part-10) that is neither the
  // sorted one nor the numeric one, so the order of the printed predictions shows
  // which order the files were read in. Code-unit order puts part-10 before part-9.
  const testFiles: Record<string, string | Buffer> = {
    'c.csv': `${rows(135, 137)}\n`,
    'b/part-2.csv.gz': gzipSync(`${rows(130, 133)}\n`),
    'a/part-9.csv': `${rows(125, 127)}\n`,
    'a/part-10.csv': `${rows(120, 123)}\n`,
  };
  const sortedRows = [rows(120, 123), rows(125, 127), rows(130, 133), rows(135, 137)].join('\n');
  const tree = await makeMlTree(
    {
      hyperparameters: { fit_intercept: 'True', l2: '0' },
      channels: {
        train: { 'b/part-2.csv.gz': gzipSync(`price,area,rooms\n${rows(50, 100)}\n`), 'a/part-1.csv': `price,area,rooms\r\n${rows(0, 50)}` },
        validation: { 'v.csv': `price,area,rooms\n${rows(100, 120)}\n` },
        test: testFiles,
      },
    },
    t,
  );
  const trained = await runCli(['train'], { root: tree.root });
  t.is(trained.code, 0, trained.stderr);
  t.regex(trained.stderr, /training on 2 file\(s\) in channel 'train'/);
  const model = JSON.parse(readFileSync(tree.modelFile, 'utf8'));
  t.deepEqual(model.feature_names, ['area', 'rooms']);
  t.is(model.label_name, 'price');
  t.is(model.statistics.n, 100);
  for (const channel of ['validation', 'test']) {
    for (const metric of ['mse', 'rmse', 'r2', 'mae']) t.regex(trained.stdout, new RegExp(`^${channel}:${metric}=${number}$`, 'm'));
    t.regex(trained.stdout, new RegExp(`#quality_metric: host=algo-1, ${channel} absolute_loss <loss>=${number}`));
  }
  const tested = await runCli(['test'], { root: tree.root });
  t.is(tested.code, 0, tested.stderr);
  t.regex(tested.stderr, /test:mae=/);
  const predictions = tested.stdout.trim().split('\n');
  t.is(predictions.length, 10);
  t.is(new Set(predictions).size, predictions.length, 'every row predicts a different value, so the order is observable');

  // The same rows in one file, in a/part-10, a/part-9, b/part-2.csv.gz, c.csv order,
  // must print the same lines in the same order.
  await rm(tree.channel('test'), { recursive: true });
  await mkdir(tree.channel('test'));
  writeFileSync(path.join(tree.channel('test'), 'all.csv'), `${sortedRows}\n`);
  const reference = await runCli(['test'], { root: tree.root });
  t.is(reference.code, 0, reference.stderr);
  t.deepEqual(predictions, reference.stdout.trim().split('\n'));
});

test('a collinear column is named, flagged as aliased and given coefficient 0', async (t) => {
  const csv = Array.from({ length: 30 }, (_, i) => `${1 + 2 * i + ((i * 7) % 3)},${i},${2 * i},${(i * 5) % 4}`).join('\n');
  const tree = await makeMlTree({ channels: { train: { 'd.csv': csv } } }, t);
  const trained = await runCli(['train'], { root: tree.root });
  t.is(trained.code, 0, trained.stderr);
  t.regex(trained.stderr, /rank 3: x2 is a linear combination of earlier columns/);
  t.regex(trained.stdout, /^x2\s+0\s+aliased/m);
  const model = JSON.parse(readFileSync(tree.modelFile, 'utf8'));
  t.deepEqual(model.aliased, [false, true, false]);
  t.is(model.coefficients[1], 0);
  t.is(model.statistics.std_errors.coefficients[1], null);
});

test('large ill-conditioned data is read a second time in extended precision', async (t) => {
  const tree = await makeMlTree({ channels: { train: { 'poly.csv': illConditionedCsv() } } }, t);
  const trained = await runCli(['train'], { root: tree.root });
  t.is(trained.code, 0, trained.stderr);
  t.regex(trained.stderr, /reading it again for an extended-precision factorisation/);
  t.is(JSON.parse(readFileSync(tree.modelFile, 'utf8')).statistics.precision, 'extended');
});

test('SIGTERM stops training promptly with a failure file and no model', async (t) => {
  // ~600 MB of rows behind a few MB of gzip: seconds of work to interrupt.
  const tree = await makeMlTree({ channels: { train: {} } }, t);
  const block = Buffer.from('1,2\n3,4.5\n5,7.25\n'.repeat(1 << 16));
  const gzip = createGzip({ level: 1 });
  const written = pipeline(gzip, createWriteStream(path.join(tree.channel('train'), 'big.csv.gz')));
  for (let i = 0; i < 500; i++) if (!gzip.write(block)) await once(gzip, 'drain');
  gzip.end();
  await written;
  const child = spawn(process.execPath, [CLI, 'train', '--ml-root', tree.root], { stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  await new Promise<void>((resolve) => child.stderr.on('data', () => /training on/.test(stderr) && resolve()));
  await new Promise((resolve) => setTimeout(resolve, 300));
  const sent = Date.now();
  child.kill('SIGTERM');
  const [code] = await exited;
  t.is(code, 143, stderr);
  t.true(Date.now() - sent < 5_000, `took ${Date.now() - sent} ms`);
  t.regex(readFileSync(tree.failureFile, 'utf8'), /^TERMINATED: stopped by SIGTERM/);
  t.false(existsSync(tree.modelFile));
});

test('the failure file is rewritten, not appended, on a second failing run', async (t) => {
  const tree = await makeMlTree({ hyperparameters: { l2: '-1' }, channels: { train: { 'd.csv': '1,2\n3,4\n5,7\n' } } }, t);
  await runCli(['train'], { root: tree.root });
  writeFileSync(path.join(tree.configDir, 'hyperparameters.json'), '{"l2": "abc"}');
  const second = await runCli(['train'], { root: tree.root });
  t.is(second.code, 2);
  const lines = readFileSync(tree.failureFile, 'utf8').trim().split('\n');
  t.is(lines.length, 1);
  t.regex(lines[0], /^INVALID_HYPERPARAMETER: .*abc/);
});
