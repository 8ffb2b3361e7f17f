/**
 * Regenerates the README sections that come from the code: the failure-code
 * table from the error catalogue, the hyperparameter table from its table,
 * the metric definitions from the metric names. `npm run docs`; a test fails
 * when the README is out of date.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { hyperparameterTable } from '../src/contract/hyperparameter-table';
import { catalogueTable } from '../src/errors';
import { metricTable } from '../src/report/metrics';

export const README = path.join(__dirname, '..', 'README.md');

/** Generated sections, each between `<!-- name:start -->` and `<!-- name:end -->`. */
export const SECTIONS: Record<string, () => string> = { errors: catalogueTable, hyperparameters: hyperparameterTable, metrics: metricTable };

export function withSections(readme: string): string {
  let text = readme;
  for (const [name, render] of Object.entries(SECTIONS)) {
    const start = `<!-- ${name}:start -->`;
    const end = `<!-- ${name}:end -->`;
    const from = text.indexOf(start);
    const to = text.indexOf(end);
    if (from < 0 || to < from) throw new Error(`README.md has no ${start} ... ${end} section`);
    text = `${text.slice(0, from + start.length)}\n${render()}\n${text.slice(to)}`;
  }
  return text;
}

if (require.main === module) {
  writeFileSync(README, withSections(readFileSync(README, 'utf8')));
}
