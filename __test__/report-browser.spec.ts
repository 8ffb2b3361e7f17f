/**
 * The training report as a reader sees it: the real CLI trains on a small
 * housing-like dataset (named columns, a validation channel), then
 * output/data/report.html is opened in headless Chromium with the network cut
 * off. The page must load with no console errors or warnings, no uncaught
 * errors and no request beyond its own file, and lay out every chart it is
 * expected to have, each a non-empty <svg> with a size.
 *
 * Screenshots go to __test__/artifacts/ (not committed); with
 * LINEAR_UPDATE_SCREENSHOT=1 the first one also replaces docs/report.png, the
 * image the README shows. With LINEAR_REPORT_HTML=<file> both tests check that
 * file instead of training (to work on the page's checks with a hand-made page;
 * docs/report.png is then left alone).
 * Without a Chromium (see helpers/browser.ts) the tests are registered as
 * skipped, with the reason in their names.
 */
import test, { type ExecutionContext } from 'ava';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { CHROMIUM, renderPage, type RenderedPage } from './helpers/browser';
import { REPO_ROOT, makeMlTree, runCli } from './helpers/ml-tree';

const register = 'executable' in CHROMIUM ? test.serial : test.skip;
const skipped = 'reason' in CHROMIUM ? ` (skipped: ${CHROMIUM.reason})` : '';

const ARTIFACTS = path.join(REPO_ROOT, '__test__', 'artifacts');
const README_SHOT = path.join(REPO_ROOT, 'docs', 'report.png');
const GIVEN_HTML = process.env.LINEAR_REPORT_HTML;
const VIEWPORT = { width: 1280, height: 900 };

/** Charts every single-host report has; `cv-curve` comes with `auto` penalties, `hosts` with several hosts. */
const ALWAYS = ['fitted-vs-actual', 'residuals-vs-fitted', 'residual-histogram', 'normal-qq', 'coefficients', 'channel-metrics'];

/** A seeded PRNG (mulberry32): the same rows on every run. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 15), z | 1);
    z ^= z + Math.imul(z ^ (z >>> 7), z | 61);
    return ((z ^ (z >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Houses: price (thousands, the label) from floor area, bedrooms, age,
 * distance to the centre and a garage, with noise that grows a little with the
 * area, so the residual charts have something to show.
 */
function housesCsv(rows: number, seed: number): string {
  const random = prng(seed);
  const normal = () => {
    const u = Math.max(random(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
  };
  const lines = ['price_k,area_m2,bedrooms,age_years,distance_km,garage'];
  for (let i = 0; i < rows; i++) {
    const area = Math.round(45 + random() * 155);
    const bedrooms = Math.max(1, Math.min(6, Math.round(area / 38 + normal() * 0.7)));
    const age = Math.round(random() * 80);
    const distance = Math.round((0.5 + random() * 24.5) * 10) / 10;
    const garage = random() < 0.45 ? 1 : 0;
    const price = 60 + 2.4 * area + 11 * bedrooms - 0.85 * age - 4.2 * distance + 18 * garage + normal() * (12 + area / 12);
    lines.push([price.toFixed(1), area, bedrooms, age, distance.toFixed(1), garage].join(','));
  }
  return `${lines.join('\n')}\n`;
}

/** Trains on the houses with `hyperparameters` and returns the report's path (or LINEAR_REPORT_HTML); undefined after a failed assertion. */
async function trainedReport(t: ExecutionContext, hyperparameters: Record<string, string>): Promise<string | undefined> {
  if (GIVEN_HTML) {
    t.log(`LINEAR_REPORT_HTML: checking ${GIVEN_HTML} instead of training`);
    return GIVEN_HTML;
  }
  const tree = await makeMlTree(
    {
      hyperparameters,
      channels: { train: { 'houses.csv': housesCsv(400, 20240601) }, validation: { 'houses.csv': housesCsv(120, 7) } },
    },
    t,
  );
  const trained = await runCli(['train'], { root: tree.root, timeoutMs: 120_000 });
  if (trained.code !== 0) {
    t.fail(`train exited ${trained.code}: ${trained.stderr.trim().split('\n').slice(-10).join('\n')}`);
    return undefined;
  }
  const html = path.join(tree.root, 'output', 'data', 'report.html');
  if (!existsSync(html)) {
    t.fail(`train wrote no output/data/report.html; stderr ends: ${trained.stderr.trim().split('\n').slice(-5).join('\n')}`);
    return undefined;
  }
  return html;
}

/** The page loaded cleanly and lays out each of `required` (and every other chart) as a non-empty, sized <svg>. */
function checkPage(t: ExecutionContext, page: RenderedPage, required: string[]): void {
  t.log(`Chromium: ${'version' in CHROMIUM ? CHROMIUM.version : ''}; charts: ${page.charts.map((c) => `${c.id} ${Math.round(c.width)}x${Math.round(c.height)}`).join(', ')}`);
  // One comparison, so a failure shows every kind of problem at once.
  t.deepEqual(
    { pageErrors: page.pageErrors, console: page.console, networkRequests: page.networkRequests, localRequests: page.localRequests, failedRequests: page.failedRequests },
    { pageErrors: [], console: [], networkRequests: [], localRequests: [], failedRequests: [] },
    'the page loads offline and self-contained: no uncaught errors, console errors or warnings, network requests (all blocked) or requests for other files',
  );
  const ids = page.charts.map((chart) => chart.id);
  t.true(page.charts.length >= 4, `${page.charts.length} chart(s): ${ids.join(', ')}`);
  t.is(new Set(ids).size, ids.length, `chart ids are unique: ${ids.join(', ')}`);
  for (const name of required) t.true(ids.includes(`chart-${name}`), `chart-${name} is on the page (charts: ${ids.join(', ')})`);
  for (const chart of page.charts) {
    t.regex(chart.id, /^chart-[a-z0-9-]+$/, `a chart's id: '${chart.id}'`);
    t.true(chart.svg, `${chart.id} has a non-empty <svg>`);
    t.true(chart.width > 0 && chart.height > 0, `${chart.id}'s <svg> is laid out with a size (${chart.width} x ${chart.height})`);
    t.not(chart.caption, '', `${chart.id} has a caption`);
  }
}

register(`report.html of an OLS fit with a validation channel renders in Chromium, every chart drawn, offline and without errors${skipped}`, async (t) => {
  t.timeout(180_000);
  const html = await trainedReport(t, {});
  if (html === undefined) return;
  const shots = [path.join(ARTIFACTS, 'report.png')];
  // The README's image is only ever a trained report, never a page given by LINEAR_REPORT_HTML.
  if (process.env.LINEAR_UPDATE_SCREENSHOT === '1' && !GIVEN_HTML) shots.push(README_SHOT);
  const page = await renderPage(html, { screenshot: shots, viewport: VIEWPORT, timeoutMs: 90_000 });
  checkPage(t, page, ALWAYS);
  if (!GIVEN_HTML) {
    const ids = page.charts.map((chart) => chart.id);
    t.false(ids.includes('chart-cv-curve'), 'no cv-curve without an auto penalty');
    t.false(ids.includes('chart-hosts'), 'no hosts chart on one host');
  }
  t.log(`screenshot: ${shots.map((shot) => path.relative(REPO_ROOT, shot)).join(', ')}`);
});

register(`report.html of an l2=auto fit adds the cross-validation curve${skipped}`, async (t) => {
  t.timeout(180_000);
  const html = await trainedReport(t, { l2: 'auto' });
  if (html === undefined) return;
  const page = await renderPage(html, { screenshot: path.join(ARTIFACTS, 'report-auto.png'), viewport: VIEWPORT, timeoutMs: 90_000 });
  checkPage(t, page, [...ALWAYS, 'cv-curve']);
});
