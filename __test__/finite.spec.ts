/**
 * Never a silent wrong answer, through the real CLI and server: units do not
 * change the model, a model that holds a non-finite number is never written,
 * ambiguous names and overflowing predictions are refused with a code.
 */
import test, { type ExecutionContext } from 'ava';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { LinearError } from '../src/errors';
import { Trainer } from '../src/native';
import { CLI, makeMlTree, runCli } from './helpers/ml-tree';
import { startServer } from './helpers/server';

/** y = 3 + 2·a − 0.5·b + noise, 30 rows; `units` multiplies a and b. */
function csv(units: [number, number], label = 1): string {
  const rows = ['y,a,b'];
  for (let i = 0; i < 30; i++) {
    const a = 1 + i / 7;
    const b = ((i * 13) % 11) - 5;
    const y = 3 + 2 * a - 0.5 * b + (((i * 29) % 7) - 3) / 50;
    rows.push(`${y * label},${a * units[0]},${b * units[1]}`);
  }
  return `${rows.join('\n')}\n`;
}

async function train(t: ExecutionContext, text: string) {
  const tree = await makeMlTree({ channels: { train: { 'd.csv': text } } }, t);
  const result = await runCli(['train'], { root: tree.root });
  const model = existsSync(tree.modelFile) ? JSON.parse(readFileSync(tree.modelFile, 'utf8')) : undefined;
  return { tree, result, model };
}

const close = (a: number, b: number) => Math.abs(a - b) <= 1e-12 * Math.max(Math.abs(a), Math.abs(b));

test('features in units from 1e-250 to 1e250 give the same model, rescaled; nothing is declared aliased', async (t) => {
  const reference = await train(t, csv([1, 1]));
  t.is(reference.result.code, 0, reference.result.stderr);
  for (const [ua, ub] of [[1e250, 1e-250], [1e-120, 1e150], [1e-200, 1e200]] as [number, number][]) {
    const { result, model } = await train(t, csv([ua, ub]));
    t.is(result.code, 0, result.stderr);
    t.deepEqual(model.aliased, [false, false]);
    t.true(close(model.coefficients[0] * ua, reference.model.coefficients[0]), `a at ${ua}: ${model.coefficients[0]}`);
    t.true(close(model.coefficients[1] * ub, reference.model.coefficients[1]), `b at ${ub}: ${model.coefficients[1]}`);
    t.true(close(model.intercept, reference.model.intercept), `intercept at ${ua}, ${ub}`);
    t.true(close(model.statistics.r_squared, reference.model.statistics.r_squared));
    t.true(close(model.statistics.std_errors.coefficients[0] * ua, reference.model.statistics.std_errors.coefficients[0]));
  }
});

test('a fit whose mse would overflow is refused with NON_FINITE_RESULT, exit 2 and no model', async (t) => {
  const { tree, result, model } = await train(t, csv([1, 1], 1e200));
  t.is(result.code, 2, result.stderr);
  t.is(model, undefined);
  t.regex(readFileSync(tree.failureFile, 'utf8'), /^NON_FINITE_RESULT: the fit's mse is beyond the range of float64 numbers/);
  t.notRegex(result.stderr, /\n\s+at /);
});

test('duplicate feature names are refused at training, naming both columns', async (t) => {
  const { tree, result, model } = await train(t, 'y,x,x\n1,2,3\n2,3,5\n3,5,6\n4,6,9\n');
  t.is(result.code, 2);
  t.is(model, undefined);
  t.regex(readFileSync(tree.failureFile, 'utf8'), /^HEADER_MISMATCH: train\/d\.csv: columns 2 and 3 are both named 'x'/);
});

test('a UTF-16 training file is named as such, not as a bad number', async (t) => {
  const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(csv([1, 1]), 'utf16le')]);
  const tree = await makeMlTree({ channels: { train: { 'd.csv': utf16 } } }, t);
  const result = await runCli(['train'], { root: tree.root });
  t.is(result.code, 2);
  t.regex(readFileSync(tree.failureFile, 'utf8'), /^UNSUPPORTED_ENCODING: train\/d\.csv starts like UTF-16 text, not UTF-8 CSV/);
});

test('serving refuses duplicate header names and predictions that overflow, with 4xx naming the record', async (t) => {
  const { tree, result } = await train(t, csv([1, 1]));
  t.is(result.code, 0, result.stderr);
  const server = await startServer(tree.root);
  t.teardown(() => server.stop());
  const post = async (body: string, type = 'text/csv') => {
    const res = await fetch(`${server.url}/invocations`, { method: 'POST', body, headers: { 'Content-Type': type } });
    return { status: res.status, body: (await res.json()) as { code: string; message: string } };
  };
  const duplicate = await post('a,a\n1,2\n');
  t.is(duplicate.status, 400);
  t.is(duplicate.body.code, 'HEADER_MISMATCH');
  t.regex(duplicate.body.message, /columns 1 and 2 are both named 'a'/);
  for (const [body, type] of [['1,2\n1e308,0\n', 'text/csv'], ['{"instances": [[1, 2], [1e308, 0]]}', 'application/json']]) {
    const overflow = await post(body, type);
    t.is(overflow.status, 400, type);
    t.is(overflow.body.code, 'NON_FINITE_PREDICTION', type);
    t.regex(overflow.body.message, /^record 2: the score is beyond the range of float64 numbers/, type);
  }
});

test('SIGTERM during a long solve ends the job within seconds, with TERMINATED written and no model', async (t) => {
  // 900 rows x 800 features in near-equal pairs (κ ~1e7: refinement would not converge): a
  // double-double factorisation of several seconds on two cores, after the rows are read.
  let seed = 3;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2147483648) % 101;
  const rows: string[] = [];
  for (let i = 0; i < 900; i++) {
    const x = Array.from({ length: 400 }, () => next() - 50).flatMap((v) => [v, v + (next() - 50) * 1e-7]);
    rows.push([x.reduce((s, v, j) => s + ((j % 7) - 3) * v, 0) + (next() % 5), ...x.map((v) => v.toFixed(7))].join(','));
  }
  const tree = await makeMlTree({ channels: { train: { 'wide.csv': `${rows.join('\n')}\n` } } }, t);
  const child = spawn(process.execPath, [CLI, 'train', '--ml-root', tree.root], { stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = once(child, 'exit') as Promise<[number | null]>;
  let stderr = '';
  await new Promise<void>((resolve) => {
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (/read 900 rows/.test(stderr)) resolve();
    });
  });
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  const sent = Date.now();
  child.kill('SIGTERM');
  const [code] = await exited;
  t.is(code, 143, stderr);
  t.true(Date.now() - sent < 5_000, `exited ${Date.now() - sent} ms after SIGTERM`);
  t.regex(readFileSync(tree.failureFile, 'utf8'), /^TERMINATED: /);
  t.false(existsSync(tree.modelFile));
});

test('a solver that would not fit in memory is refused before it is allocated, with the numbers', async (t) => {
  const trainer = new Trainer({ fitIntercept: true, memoryLimit: 50e6 });
  trainer.beginSource('wide.csv');
  // 1,000 features: about 120 MB of solver state, over the 50 MB allowed.
  const row = Array.from({ length: 1001 }, (_, j) => j % 7).join(',');
  const err = await t.throwsAsync(trainer.push(Buffer.from(`${row}\n`)), { instanceOf: LinearError });
  t.is(err?.code, 'NOT_ENOUGH_MEMORY');
  t.regex(err?.message ?? '', /^1000 features need about 0\.12 GB for the exact solver .* but 0\.05 GB are available; use an instance type with more memory/);
});

test('a scored channel whose mse would overflow fails training with NON_FINITE_RESULT naming it, and writes no model', async (t) => {
  const tree = await makeMlTree({ channels: { train: { 'd.csv': csv([1, 1]) }, validation: { 'v.csv': 'y,a,b\n1e200,1,2\n-1e200,2,3\n' } } }, t);
  const result = await runCli(['train'], { root: tree.root });
  t.is(result.code, 2, result.stderr);
  t.regex(readFileSync(tree.failureFile, 'utf8'), /^NON_FINITE_RESULT: the mse of the rows scored up to validation\/v\.csv is beyond the range of float64/);
  t.false(existsSync(tree.modelFile));
});
