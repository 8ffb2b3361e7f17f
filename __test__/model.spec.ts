/**
 * model/model.json has one owner (the core): what `train` writes is what
 * `test` and `serve` load, and every damaged file is MODEL_INVALID from both,
 * saying what is wrong, never a stack trace.
 */
import test, { type ExecutionContext } from 'ava';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { Model } from '../index';
import { makeMlTree, runCli, type MlTree } from './helpers/ml-tree';
import { startServer } from './helpers/server';

/** price = 10 + 2·area − 5·rooms + a little noise, with a header. */
function trainingCsv(): string {
  const rows = ['price,area,rooms'];
  for (let i = 0; i < 40; i++) {
    const area = 20 + 3 * i;
    const rooms = 1 + (i % 5);
    rows.push(`${10 + 2 * area - 5 * rooms + (((i * 37) % 7) - 3) / 10},${area},${rooms}`);
  }
  return `${rows.join('\n')}\n`;
}

async function trained(t: ExecutionContext, channels: Record<string, Record<string, string>> = {}): Promise<MlTree> {
  const tree = await makeMlTree({ channels: { train: { 'd.csv': trainingCsv() }, ...channels } }, t);
  const result = await runCli(['train'], { root: tree.root });
  t.is(result.code, 0, result.stderr);
  return tree;
}

test('the model train writes loads back in the core unchanged, with its main fields', async (t) => {
  const tree = await trained(t);
  const text = readFileSync(tree.modelFile, 'utf8');
  const model = Model.parse(Buffer.from(text), tree.modelFile);
  t.is(model.toJson(), text);
  const doc = JSON.parse(text);
  t.like(doc, { format: 'linear-model', version: 1, fit_intercept: true, label_name: 'price', feature_names: ['area', 'rooms'] });
  for (const key of ['intercept', 'coefficients', 'aliased', 'statistics', 'prediction', 'inference']) t.true(key in doc, key);
  t.is(doc.inference.covariance_factor.length, 9);
});

type Document = Record<string, unknown> & { inference: Record<string, unknown>; coefficients: number[] };
type Damage = [name: string, damage: (text: string, doc: Document) => string, says: RegExp];

const DAMAGES: Damage[] = [
  ['a truncated end', (text) => text.slice(0, text.length / 2), /truncated/],
  ['no JSON at all', () => 'model', /not JSON/],
  ['another format', (_, doc) => JSON.stringify({ ...doc, format: 'xgboost' }), /"format" must be "linear-model"/],
  ['a newer version', (_, doc) => JSON.stringify({ ...doc, version: 2 }), /version 2 is not supported/],
  ['a string where sigma2 belongs', (_, doc) => JSON.stringify({ ...doc, inference: { ...doc.inference, sigma2: 'big' } }), /inference\.sigma2: invalid type/],
  ['a covariance of the wrong size', (_, doc) => JSON.stringify({ ...doc, inference: { ...doc.inference, covariance_factor: [1, 0, 1] } }), /covariance_factor has 3 entries/],
  ['a null coefficient', (_, doc) => JSON.stringify({ ...doc, coefficients: [null, 1] }), /coefficients\[0\]: invalid type: null/],
  ['one feature name too few', (_, doc) => JSON.stringify({ ...doc, feature_names: ['area'] }), /"feature_names" has 1 entries for 2 coefficients/],
  ['a missing prediction shift', (_, doc) => JSON.stringify({ ...doc, prediction: undefined }), /missing field `prediction`/],
  ['a misspelled field', (_, doc) => JSON.stringify({ ...doc, coefficents: doc.coefficients }), /unknown field `coefficents`/],
];

for (const [name, damage, says] of DAMAGES) {
  test(`a model file with ${name} is MODEL_INVALID from test and from serve`, async (t) => {
    const tree = await trained(t, { test: { 't.csv': '60,2\n' } });
    const text = readFileSync(tree.modelFile, 'utf8');
    writeFileSync(tree.modelFile, damage(text, JSON.parse(text)));
    for (const command of ['test', 'serve']) {
      const result = await runCli([command], { root: tree.root, timeoutMs: 20_000 });
      t.is(result.code, 2, `${command}: ${result.stderr}`);
      t.regex(result.stderr, /MODEL_INVALID: \S*model\.json is not a valid linear model: /, command);
      t.regex(result.stderr, says, command);
      t.notRegex(result.stderr, /\n\s+at /, `${command} printed a stack trace`);
      t.is(result.stdout, '', command);
    }
  });
}

test('test maps a header in another order by name, exactly as serve does', async (t) => {
  const tree = await trained(t, { test: { 't.csv': 'rooms,area\n2,60\n4,35\n' } });
  const tested = await runCli(['test'], { root: tree.root });
  t.is(tested.code, 0, tested.stderr);
  const server = await startServer(tree.root);
  t.teardown(() => server.stop());
  const res = await fetch(`${server.url}/invocations`, { method: 'POST', body: 'rooms,area\n2,60\n4,35\n', headers: { 'Content-Type': 'text/csv', Accept: 'text/csv' } });
  t.is(res.status, 200);
  t.is(tested.stdout, await res.text());
  const [first] = tested.stdout.split('\n').map(Number);
  t.true(Math.abs(first - (10 + 2 * 60 - 5 * 2)) < 0.5, tested.stdout);
  writeFileSync(`${tree.channel('test')}/t.csv`, 'rooms,size\n2,60\n');
  const foreign = await runCli(['test'], { root: tree.root });
  t.is(foreign.code, 2);
  t.regex(foreign.stderr, /HEADER_MISMATCH: .*\(rooms,size\) are not the model's features \(area,rooms\)/);
});

test('temp files a killed run left in model/ are removed by the next successful train', async (t) => {
  const tree = await makeMlTree({ channels: { train: { 'd.csv': trainingCsv() } } }, t);
  mkdirSync(path.dirname(tree.modelFile), { recursive: true });
  const stale = path.join(path.dirname(tree.modelFile), '.model.json.4242.tmp');
  writeFileSync(stale, '{"format": "linear-mo');
  const result = await runCli(['train'], { root: tree.root });
  t.is(result.code, 0, result.stderr);
  t.deepEqual(readdirSync(path.dirname(tree.modelFile)), ['model.json']);
});
