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
import { renderCharts } from '../src/report/charts';
import { logScale, niceTicks, tickFormat } from '../src/report/plot';
import { buildReport, type ReportModel } from '../src/report/report';
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

/** A model document with every statistic the summary shows: price ~ floor_area_square_metres + rooms. */
function statisticsModel() {
  const per = (intercept: number, coefficients: number[]) => ({ intercept, coefficients });
  return {
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
}

test('the summary: statsmodels’ top block, confidence-interval columns and the residual block (from a sample), within 100 columns', (t) => {
  const model = statisticsModel();
  const text = summaryTable(model as unknown as Parameters<typeof summaryTable>[0]);
  for (const line of text.split('\n')) t.true(line.length <= 100, `${line.length} columns: ${line}`);
  for (const label of ['Log-Likelihood:', 'AIC:', 'BIC:', '[0.025', '0.975]', 'Omnibus:', 'Prob(Omnibus):', 'Skew:', 'Kurtosis:', 'Durbin-Watson:', 'Jarque-Bera (JB):', 'Prob(JB):', 'Cond. No.:', 'VIF:']) {
    t.true(text.includes(label), label);
  }
  t.regex(text, /^intercept\s+50\.1000\s+2\.0000\s+25\.000\s+1\.00e-60\s+46\.100\s+54\.100$/m);
  t.regex(text, /sample of 120 of 240 training rows/);
});

/** The document's tags nest and close, and no text holds a raw `<` or an `&` that starts no entity. */
function wellFormed(svg: string): boolean {
  const open: string[] = [];
  for (const m of svg.matchAll(/<(\/?)([a-z]+)((?:\s[a-z0-9:-]+="[^"<]*")*)\s*(\/?)>|([^<]+)|(<)/gi)) {
    const [, closing, name, , selfClosing, textRun, stray] = m;
    if (stray || (textRun !== undefined && /&(?!(amp|lt|gt|quot|#39);)/.test(textRun))) return false;
    if (name === undefined || selfClosing) continue;
    if (!closing) open.push(name);
    else if (open.pop() !== name) return false;
  }
  return open.length === 0;
}

test('charts: text from the data escaped, non-finite values left out, the same document drawn to the same bytes', (t) => {
  const base = statisticsModel();
  const hostile = 'a<b & "c" \'d\'';
  const model = {
    ...base,
    label_name: 'price <&>',
    feature_names: [hostile, 'rooms'],
    coefficients: [2.5, 0],
    aliased: [false, true],
    statistics: { ...base.statistics, conf_int: { level: 0.95, lower: { intercept: 46.1, coefficients: [2.48, NaN] }, upper: { intercept: 54.1, coefficients: [2.52, null] } } },
    cv: { parameter: 'l2', folds: 5, grid: [1e3, 10, 0.1, 0.001, 0], mse: [120, 101, NaN, null, 99], standard_error: [2, 1, 1, 1, 1], chosen: 10, one_standard_error: 1e3 },
    training: { distribution: 'ShardedByS3Key', hosts: [{ host: '<algo-1 & "x">', rows: 1e9, bytes: 5e10 }, { host: 'algo-2', rows: 0, bytes: 0 }] },
  } as unknown as ReportModel;
  const actual = [1, 2, 3, NaN, 5, Infinity, 7, 8, 9, 10, 1e-300, -1e300];
  const fitted = actual.map((a, i) => (i === 4 ? -Infinity : a + Math.sin(i)));
  const report = buildReport(
    {
      model,
      channels: [
        { channel: 'train', rows: 12, mse: 1, rmse: 1, r2: NaN, mae: null },
        { channel: 'valid<ation>', rows: 3, mse: 2e-9, rmse: Infinity, r2: -0.5, mae: 1e12 },
      ],
      sample: { seed: 1, rows: 12, actual, fitted, weights: actual.map((_, i) => (i === 7 ? -1 : 2)) },
      notes: [],
    },
    new Date(0),
  );
  const charts = renderCharts(report);
  t.deepEqual(
    charts.map((c) => c.name),
    ['fitted-vs-actual', 'residuals-vs-fitted', 'residual-histogram', 'normal-qq', 'coefficients', 'cv-curve', 'channel-metrics', 'hosts'],
  );
  for (const chart of charts) {
    t.notRegex(chart.svg, /NaN|Infinity|undefined/, chart.name);
    t.regex(chart.svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" width="\d+" height="\d+" viewBox="0 0 \d+ \d+" role="img" aria-label="[^"]+"[^>]*><title>[^<]+<\/title>/, chart.name);
    t.true(wellFormed(chart.svg), `${chart.name} is well-formed`);
  }
  const svg = (name: string) => charts.find((c) => c.name === name)?.svg ?? '';
  t.is(svg('fitted-vs-actual').match(/<circle /g)?.length, 8, 'the 8 rows whose values and weights are finite and valid are drawn');
  t.true(svg('coefficients').includes('a&lt;b &amp; &quot;c&quot; &#39;d&#39;'), 'feature names are escaped');
  t.true(svg('coefficients').includes('aliased (0)'), 'aliased coefficients get the legend');
  t.true(svg('fitted-vs-actual').includes('actual price &lt;&amp;&gt;'), 'the label is escaped');
  t.true(svg('hosts').includes('&lt;algo-1 &amp; &quot;x&quot;&gt;'), 'host names are escaped');
  t.true(svg('channel-metrics').includes('valid&lt;ation&gt;'), 'channel names are escaped');
  t.false(charts.some((c) => c.svg.includes(hostile) || c.svg.includes('<algo-1')), 'no raw name from the data');
  t.deepEqual(renderCharts(report), charts, 'the same document draws the same SVG');
});

test('chart ticks: round values around the domain, a zero-width or tiny or huge domain, negative values, log decades', (t) => {
  const labels = (lo: number, hi: number, count = 5) => {
    const ticks = niceTicks(lo, hi, count);
    return ticks.values.map(tickFormat(ticks.values, ticks.step));
  };
  t.deepEqual(niceTicks(0.3, 9.6, 5), { lo: 0, hi: 10, step: 2, values: [0, 2, 4, 6, 8, 10] });
  t.deepEqual(niceTicks(0.1, 0.7, 6).values, [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7], 'no 0.30000000000000004');
  t.deepEqual(labels(-83, 42, 3), ['−100', '−50', '0', '50']);
  t.deepEqual(labels(5, 5, 2), ['4.5', '5.0', '5.5'], 'a zero-width domain is widened');
  t.deepEqual(labels(0, 0, 2), ['−1', '0', '1']);
  t.deepEqual(labels(0, 2.5e7), ['0', '5M', '10M', '15M', '20M', '25M']);
  t.deepEqual(labels(1200, 9100, 4), ['0', '2,000', '4,000', '6,000', '8,000', '10,000']);
  t.deepEqual(labels(-3.2e-9, 2.1e-9), ['−4e-9', '−3e-9', '−2e-9', '−1e-9', '0', '1e-9', '2e-9', '3e-9'], 'tiny values as exponents');
  t.deepEqual(labels(1.00001, 1.00009), ['1.00000', '1.00002', '1.00004', '1.00006', '1.00008', '1.00010']);
  t.deepEqual(labels(1e300, 5e300), ['1e300', '2e300', '3e300', '4e300', '5e300']);
  t.deepEqual(labels(-1e308, Number.MAX_VALUE), ['−1e308', '−5e307', '0', '5e307', '1e308', '1.5e308'], 'no overflow at the ends of the doubles');
  const log = logScale([0.1, 3, 2e8], 0, 100, 5);
  t.deepEqual(log.ticks.map(log.format), ['0.1', '10', '1k', '100k', '10M', '1G'], 'every other decade of ten');
  const narrow = logScale([0.5, 3], 0, 100, 5);
  t.deepEqual(narrow.ticks.map(narrow.format), ['0.1', '0.2', '0.5', '1', '2', '5', '10'], '1, 2 and 5 over two decades');
  t.true(log.ticks.every((v) => Number.isFinite(log.at(v))));
  t.true(Number.isNaN(log.at(0)), 'a log scale places no zero');
});
