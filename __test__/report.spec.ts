/**
 * The training report: `train` leaves output/data/report.html, report.md and
 * report.json (self-contained, every chart an inline SVG figure, the model's
 * own numbers); `linear report` rebuilds the same three from model.json and
 * report.json alone; missing or foreign files are coded errors.
 */
import test, { type ExecutionContext } from 'ava';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { makeMlTree, runCli, type MlTree } from './helpers/ml-tree';
import { freePort } from './helpers/ports';
import { summaryTable } from '../src/report/summary';

/** Charts of every single-host report with a row sample. */
const ALWAYS = ['fitted-vs-actual', 'residuals-vs-fitted', 'residual-histogram', 'normal-qq', 'coefficients', 'channel-metrics'];

/** Rows of price ~ area + rooms + garage with deterministic noise, header first. */
function housesCsv(rows: number, seed: number): string {
  let state = seed;
  const next = () => (state = (state * 1103515245 + 12345) % 2147483648) / 2147483648;
  const lines = ['price,area,rooms,garage'];
  for (let i = 0; i < rows; i++) {
    const area = 40 + next() * 160;
    const rooms = 1 + Math.floor(next() * 5);
    const garage = next() < 0.4 ? 1 : 0;
    const noise = (next() + next() + next() - 1.5) * 20;
    lines.push([(50 + 2.5 * area + 9 * rooms + 15 * garage + noise).toFixed(2), area.toFixed(1), rooms, garage].join(','));
  }
  return `${lines.join('\n')}\n`;
}

const files = (tree: MlTree) => {
  const dir = path.join(tree.root, 'output', 'data');
  return { html: path.join(dir, 'report.html'), markdown: path.join(dir, 'report.md'), json: path.join(dir, 'report.json') };
};

const read = (file: string) => readFileSync(file, 'utf8');

async function trained(t: ExecutionContext, hyperparameters: Record<string, string> = {}): Promise<MlTree> {
  const tree = await makeMlTree(
    { hyperparameters, channels: { train: { 'houses.csv': housesCsv(240, 11) }, validation: { 'houses.csv': housesCsv(60, 5) } } },
    t,
  );
  const run = await runCli(['train'], { root: tree.root, timeoutMs: 120_000 });
  t.is(run.code, 0, run.stderr);
  t.regex(run.stderr, new RegExp(`report written to ${files(tree).html.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  return tree;
}

/** train recorded the core's row sample: every plotted row of the residual charts comes from it. */
function assertSample(t: ExecutionContext, tree: MlTree): void {
  const { sample } = JSON.parse(read(files(tree).json));
  t.truthy(sample, 'report.json carries the row sample');
  t.true(sample.actual.length > 0 && sample.actual.length === sample.fitted.length, 'as many fitted values as labels');
}

/** The figures of the page, by id: `<figure class="chart" id="chart-NAME"> <svg…>…</svg> <figcaption>…</figcaption></figure>`. */
function figures(html: string): Map<string, string> {
  const found = new Map<string, string>();
  for (const m of html.matchAll(/<figure class="chart" id="chart-([a-z0-9-]+)">([\s\S]*?)<\/figure>/g)) found.set(m[1], m[2]);
  return found;
}

test('train writes report.html, report.md and report.json: self-contained, every chart an inline SVG figure, the model’s numbers', async (t) => {
  const tree = await trained(t);
  const f = files(tree);
  for (const file of Object.values(f)) t.true(existsSync(file), file);
  assertSample(t, tree);
  const html = read(f.html);
  t.regex(html, /^<!DOCTYPE html>/);
  t.notRegex(html, /<script\b/i, 'no script');
  t.notRegex(html, /<link\b/i, 'no linked stylesheet or icon');
  t.notRegex(html, /\b(src|href)\s*=\s*["']?(https?:)?\/\//i, 'no src or href to another origin');
  t.notRegex(html, /url\(\s*["']?(https?:)?\/\//i, 'no CSS url() to another origin');
  t.notRegex(html, /@import/i);
  // Namespace names are identifiers, never fetched; nothing else may name a web address.
  t.notRegex(html.replace(/\sxmlns(:[a-z]+)?="[^"]*"/g, ''), /https?:\/\//, 'no web address beyond SVG namespaces');
  const charts = figures(html);
  for (const name of ALWAYS) {
    const body = charts.get(name);
    t.truthy(body, `chart-${name} (charts: ${[...charts.keys()].join(', ')})`);
    t.regex(body ?? '', /^\s*(<h3>[^<]*<\/h3>\s*)?<svg[\s\S]*<\/svg>\s*<figcaption>[^<]+<\/figcaption>\s*$/, `chart-${name} is an <svg> and a caption`);
  }
  t.false(charts.has('cv-curve'), 'no cv-curve without an auto penalty');
  t.false(charts.has('hosts'), 'no hosts chart on one host');
  t.regex(html, /<pre class="summary">[\s\S]*Least Squares Regression Results/);
  t.regex(html, /[Pp]lots show (a deterministic sample of [\d,]+ of [\d,]+ rows|all [\d,]+ training rows)/);
  const ids = [...html.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]);
  t.is(new Set(ids).size, ids.length, 'element ids are unique across the inline SVGs');

  const report = JSON.parse(read(f.json));
  const model = JSON.parse(read(tree.modelFile));
  t.like(report, { format: 'linear-report', version: 1 });
  t.deepEqual(Object.keys(report), ['format', 'version', 'generated_at', 'summary', 'warnings', 'notes', 'model', 'channels', 'sample']);
  t.deepEqual(report.model.coefficients, model.coefficients);
  t.is(report.model.intercept, model.intercept);
  t.deepEqual(report.model.feature_names, ['area', 'rooms', 'garage']);
  t.deepEqual(report.model.statistics, model.statistics);
  t.deepEqual(
    report.channels.map((c: { channel: string }) => c.channel),
    ['train', 'validation'],
  );
  t.is(report.channels[0].mse, model.statistics.mse);
  t.is(report.channels[1].rows, 60);

  const markdown = read(f.markdown);
  t.regex(markdown, /^# Training report: price/);
  t.regex(markdown, /\| validation \| 60 \|/);
  t.true(markdown.includes(report.summary), 'report.md holds the summary table');
});

test('linear report rebuilds the same three files from model.json and report.json, the timestamp aside', async (t) => {
  const tree = await trained(t);
  assertSample(t, tree);
  const f = files(tree);
  const stamp = (text: string) => text.replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/g, 'TIMESTAMP');
  const before = Object.fromEntries(Object.entries(f).map(([k, file]) => [k, read(file)]));
  const run = await runCli(['report'], { root: tree.root });
  t.is(run.code, 0, run.stderr);
  t.regex(run.stderr, /report written to .*output\/data\/report\.html/);
  for (const [k, file] of Object.entries(f)) t.is(stamp(read(file)), stamp(before[k]), `${k} is the same but for its generated-at time`);
  t.false(existsSync(tree.failureFile), 'linear report writes no SageMaker failure file');
  // Training again on the same data gives the same report, whatever the sample came from.
  const again = await runCli(['train'], { root: tree.root, timeoutMs: 120_000 });
  t.is(again.code, 0, again.stderr);
  assertSample(t, tree);
  for (const [k, file] of Object.entries(f)) t.is(stamp(read(file)), stamp(before[k]), `${k} of a second training run is the same`);
});

test('an l2=auto fit adds the cross-validation curve', async (t) => {
  const tree = await trained(t, { l2: 'auto' });
  assertSample(t, tree);
  const charts = figures(read(files(tree).html));
  t.true(charts.has('cv-curve'), [...charts.keys()].join(', '));
  t.regex(charts.get('cv-curve') ?? '', /<svg[\s\S]*<\/svg>/);
  t.true(charts.has('coefficients'));
});

test('a model trained on several hosts gets the hosts chart; a large sample is thinned to 2,000 plotted rows', async (t) => {
  const tree = await trained(t);
  const f = files(tree);
  const model = JSON.parse(read(tree.modelFile));
  model.training = { distribution: 'ShardedByS3Key', hosts: [{ host: 'algo-1', rows: 100, bytes: 5000 }, { host: 'algo-2', rows: 140, bytes: 7000 }] };
  writeFileSync(tree.modelFile, JSON.stringify(model));
  const report = JSON.parse(read(f.json));
  const actual = Array.from({ length: 5000 }, (_, i) => (i % 97) + Math.sin(i));
  report.sample = { seed: 3, rows: 1_000_000, actual, fitted: actual.map((a, i) => a + Math.cos(i)), weights: null };
  writeFileSync(f.json, JSON.stringify(report));
  const run = await runCli(['report'], { root: tree.root });
  t.is(run.code, 0, run.stderr);
  const html = read(f.html);
  const charts = figures(html);
  t.regex(charts.get('hosts') ?? '', /<svg[\s\S]*algo-2[\s\S]*<\/svg>/);
  t.regex(html, /Plots show a deterministic sample of 2,000 of 1,000,000 rows read by the leader host/);
  t.regex(read(f.markdown), /\| algo-2 \| 140 \|/);
  t.deepEqual(JSON.parse(read(f.json)).sample.actual.length, 5000, 'report.json keeps the whole sample');
});

test('on two hosts only the leader writes the report, with the rows each host read', async (t) => {
  const hosts = ['127.0.0.1', '127.0.0.2'];
  const data = { 'a.csv': housesCsv(150, 21), 'b.csv': housesCsv(90, 22) };
  const trees = await Promise.all(
    hosts.map((host) =>
      makeMlTree(
        {
          resourceConfig: { current_host: host, hosts },
          inputDataConfig: { train: { ContentType: 'text/csv', TrainingInputMode: 'File', S3DistributionType: 'FullyReplicated' } },
          hyperparameters: {},
          channels: { train: data },
        },
        t,
      ),
    ),
  );
  const env = { LINEAR_CLUSTER_PORT: String(await freePort()) };
  const runs = await Promise.all(trees.map((tree) => runCli(['train'], { root: tree.root, env, timeoutMs: 120_000 })));
  t.deepEqual(
    runs.map((r) => r.code),
    [0, 0],
    runs.map((r) => r.stderr).join('\n---\n'),
  );
  t.regex(runs[0].stderr, /report written to .*report\.html/);
  t.notRegex(runs[1].stderr, /report written/);
  for (const file of Object.values(files(trees[1]))) t.false(existsSync(file), `the worker writes no ${path.basename(file)}`);
  const charts = figures(read(files(trees[0]).html));
  t.regex(charts.get('hosts') ?? '', /<svg[\s\S]*127\.0\.0\.2[\s\S]*<\/svg>/);
});

test('linear report without model.json, without report.json or with a foreign report.json: coded errors, exit 2', async (t) => {
  const empty = await makeMlTree({}, t);
  const noModel = await runCli(['report'], { root: empty.root });
  t.is(noModel.code, 2);
  t.regex(noModel.stderr, /MODEL_NOT_FOUND: no model at .*model\.json/);

  const tree = await trained(t);
  const f = files(tree);
  writeFileSync(f.json, JSON.stringify({ format: 'something-else', version: 1 }));
  const foreign = await runCli(['report'], { root: tree.root });
  t.is(foreign.code, 2);
  t.regex(foreign.stderr, /REPORT_INVALID: .*report\.json is not a training report of this program \(format "something-else"/);

  writeFileSync(f.json, '{"format": "linear-report", "version": 7}');
  const later = await runCli(['report'], { root: tree.root });
  t.regex(later.stderr, /REPORT_INVALID: .*version 7/);

  writeFileSync(f.json, 'not json');
  t.regex((await runCli(['report'], { root: tree.root })).stderr, /REPORT_INVALID: .*not JSON/);

  const { rmSync } = await import('node:fs');
  rmSync(f.json);
  const missing = await runCli(['report'], { root: tree.root });
  t.is(missing.code, 2);
  t.regex(missing.stderr, /REPORT_NOT_FOUND: no training report at .*report\.json; run train first/);
});

test('the summary: statsmodels’ top block, confidence-interval columns and the residual block (from a sample), within 100 columns', (t) => {
  const per = (intercept: number, coefficients: number[]) => ({ intercept, coefficients });
  const model = {
    format: 'linear-model', version: 1, fit_intercept: true, l2: 0, l1: 0, wd: 0, non_negative: false, at_bound: [], weight_column: null,
    label_name: 'price', feature_names: ['floor_area_square_metres', 'rooms'], feature_names_from_header: true,
    intercept: 50.1, coefficients: [2.5, 9.2], aliased: [false, false], cv: null, training: null,
    statistics: {
      n: 240, rank: 3, df_model: 2, df_resid: 237, r_squared: 0.98, adj_r_squared: 0.979, mse: 100, rmse: 10, residual_std_error: 10.06,
      f_statistic: 5000, f_p_value: 1e-200, std_errors: per(2, [0.01, 0.5]), t_values: per(25, [250, 18]), p_values: per(1e-60, [0, 1e-40]),
      condition_number: 812.3, precision: 'double', covariance_type: 'nonrobust',
      log_likelihood: -893.21, aic: 1792.4, bic: 1802.9,
      conf_int: { level: 0.95, lower: per(46.1, [2.48, 8.2]), upper: per(54.1, [2.52, 10.2]) },
      vif: [1.02, 1.02],
      residuals: { source: 'sample', rows: 120, skew: 0.12, kurtosis: 2.9, omnibus: 0.8, omnibus_p_value: 0.67, jarque_bera: 0.6, jarque_bera_p_value: 0.74, durbin_watson: null },
    },
  };
  const text = summaryTable(model as unknown as Parameters<typeof summaryTable>[0]);
  for (const line of text.split('\n')) t.true(line.length <= 100, `${line.length} columns: ${line}`);
  for (const label of ['Log-Likelihood:', 'AIC:', 'BIC:', '[0.025', '0.975]', 'Omnibus:', 'Prob(Omnibus):', 'Skew:', 'Kurtosis:', 'Durbin-Watson:', 'Jarque-Bera (JB):', 'Prob(JB):', 'Cond. No.:', 'VIF:']) {
    t.true(text.includes(label), label);
  }
  t.regex(text, /^intercept\s+50\.1000\s+2\.0000\s+25\.000\s+1\.00e-60\s+46\.100\s+54\.100$/m);
  t.regex(text, /sample of 120 of 240 training rows/);
});
