/**
 * Estimators from the one pass: `linear train` on the training section's
 * p = 10 CSV with each estimator's hyperparameters, against a plain OLS run
 * on the same file. Everything but robust standard errors (a residuals pass)
 * should cost about one pass: cross-validation keeps one factor per fold and
 * solves the whole grid from them. The peer is scikit-learn's ElasticNetCV,
 * which must hold the data in memory.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import type { Bench } from '../lib/context';
import { fileBytes, MB, sizeLabel, trainingCsv } from '../lib/data';
import { num, type Table } from '../lib/format';
import { mlTree, trainWithCli } from '../lib/ml-tree';
import { attempt, cell, detail, skip, valueOf, type Outcome } from '../lib/outcome';
import { pythonJson } from '../lib/python';

const FEATURES = 10;
const QUICK_MB = 20;
const FULL_MB = 1000;
/** pandas + ElasticNetCV hold the data several times over; beyond this the peer is not run. */
const PEER_MAX_MB = 1000;

interface Variant {
  name: string;
  hyperparameters: Record<string, string>;
}

const VARIANTS: Variant[] = [
  { name: 'OLS', hyperparameters: {} },
  { name: 'ridge, l2=auto (5-fold CV)', hyperparameters: { l2: 'auto' } },
  { name: 'lasso path, l1=auto (5-fold CV)', hyperparameters: { l1: 'auto' } },
  { name: 'elastic net path, l1=auto, wd=0.01 (5-fold CV)', hyperparameters: { l1: 'auto', wd: '0.01' } },
  { name: 'elastic net, l1=0.01, wd=0.01', hyperparameters: { l1: '0.01', wd: '0.01' } },
  { name: 'non_negative', hyperparameters: { non_negative: 'true' } },
  { name: 'robust_se=HC3 (second pass)', hyperparameters: { robust_se: 'HC3' } },
];

interface Measured {
  seconds: number;
  peakRssMb: number | null;
}

interface SklearnJson {
  rows: number;
  readSeconds: number;
  fitSeconds: number;
  peakRssMb: number | null;
}

async function trainVariant(v: Variant, csv: string): Promise<Measured> {
  const root = await mlTree(`estimators-${VARIANTS.indexOf(v)}`, csv);
  await mkdir(path.join(root, 'input', 'config'), { recursive: true });
  await writeFile(path.join(root, 'input', 'config', 'hyperparameters.json'), JSON.stringify(v.hyperparameters));
  const measured = await trainWithCli(root);
  return { seconds: measured.wallS, peakRssMb: measured.peakRssMb };
}

export async function runEstimators(bench: Bench): Promise<{ table: Table }> {
  const megabytes = bench.quick ? QUICK_MB : FULL_MB;
  const csv = await trainingCsv(FEATURES, megabytes, 1);
  const bytes = await fileBytes(csv);
  const results: Outcome<Measured>[] = [];
  for (const v of VARIANTS) {
    const outcome = await attempt(null, () => trainVariant(v, csv));
    results.push(outcome);
    bench.log(`estimators ${v.name}: ${cell(outcome, (m) => `${num(m.seconds)} s`)}`);
  }
  const ols = valueOf(results[0]);
  const peer: Outcome<SklearnJson> =
    megabytes > PEER_MAX_MB
      ? skip(`> ${sizeLabel(PEER_MAX_MB)}`)
      : await attempt(bench.python.missing('pandas', 'scikit-learn'), () => pythonJson<SklearnJson>(bench.python, 'train_elasticnet_cv.py', [csv]));
  bench.log(`estimators scikit-learn ElasticNetCV: ${cell(peer, (m) => `${num(m.readSeconds + m.fitSeconds)} s`)}`);
  const rows = VARIANTS.map((v, i) => [
    v.name,
    cell(results[i], (m) => num(m.seconds)),
    detail(results[i], (m) => (ols ? `${num(m.seconds / ols.seconds)}x` : '–')),
    detail(results[i], (m) => num(bytes / MB / m.seconds)),
    detail(results[i], (m) => num(m.peakRssMb)),
  ]);
  rows.push([
    'scikit-learn ElasticNetCV(l1_ratio=1, cv=5), pandas read_csv',
    cell(peer, (m) => num(m.readSeconds + m.fitSeconds)),
    detail(peer, (m) => (ols ? `${num((m.readSeconds + m.fitSeconds) / ols.seconds)}x` : '–')),
    detail(peer, (m) => num(bytes / MB / (m.readSeconds + m.fitSeconds))),
    detail(peer, (m) => num(m.peakRssMb)),
  ]);
  return {
    table: {
      title: `Estimators (\`linear train\` on the same ${sizeLabel(megabytes)} CSV, p = ${FEATURES})`,
      columns: ['estimator', 'seconds', 'vs OLS', 'MB/s', 'peak RSS MB'],
      rows,
      notes: [
        '- The training section\'s p = 10 CSV (label first, no header), page-cached; one run each of the whole `node dist/main.js train` process.',
        '- `auto` penalties: 5-fold cross-validation in the same pass (one R factor per fold, row i in fold i mod 5), the grid (21 l1 values, about 30-70 l2 values) solved from the fold factors, then the model refitted from their merge: no second pass.',
        '- robust_se reads the data a second time (residuals and leverages).',
        '- scikit-learn: pandas `read_csv` then `ElasticNetCV(l1_ratio=1, n_alphas=21, eps=1e-4, cv=5)` (the same grid shape as l1=auto) on the array in memory; its seconds are read + fit inside the process (interpreter start-up excluded), its folds contiguous blocks.',
      ],
    },
  };
}
