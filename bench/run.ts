/**
 * `npm run bench [-- --quick]`: training end to end, real-world CSVs (number
 * spellings, many files, gzip, one core vs all), wide data (hundreds to
 * thousands of features), training by input format, the estimators, in-memory fits and serving, each next to the peers a user would pick
 * instead, measured in the same run on the same data. Writes bench/RESULTS.md
 * (quick mode: bench/out/RESULTS-quick.md, so a smoke run never replaces the
 * full results). `-- --only formats[,training...]` runs just those sections
 * and writes bench/out/RESULTS-<sections>[-quick].md.
 */
import { existsSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Bench } from './lib/context';
import { section, type Table } from './lib/format';
import { machineTable } from './lib/machine';
import { CLI, OUT_DIR, QUICK_RESULTS_FILE, REPO_ROOT, RESULTS_FILE } from './lib/paths';
import { installCleanup, killAll } from './lib/processes';
import { pythonEnv } from './lib/python';
import { writeReport } from './lib/report';
import { runEstimators } from './sections/estimators';
import { runFormats } from './sections/formats';
import { runInMemory } from './sections/in-memory';
import { runRealData } from './sections/real-data';
import { runServing } from './sections/serving';
import { targetsTable } from './sections/targets';
import { runTraining } from './sections/training';
import { runWide } from './sections/wide';

/** Above this the numbers of a 2-core machine are someone else's too. */
const BUSY_LOAD = 0.5;

const SECTIONS = ['training', 'real-data', 'wide', 'formats', 'estimators', 'in-memory', 'serving'] as const;
type SectionName = (typeof SECTIONS)[number];
const USAGE = `usage: npm run bench [-- [--quick] [--only ${SECTIONS.join('|')}[,...]]]`;

interface Args {
  quick: boolean;
  /** The sections to run; every one (and the targets) when --only is not given. */
  only: SectionName[] | null;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { quick: false, only: null };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--quick') args.quick = true;
    else if (argv[i] === '--only' && i + 1 < argv.length) {
      const names = argv[++i].split(',');
      const unknown = names.filter((n) => !(SECTIONS as readonly string[]).includes(n));
      if (unknown.length > 0) throw new Error(`unknown section(s) ${unknown.join(', ')}; ${USAGE}`);
      args.only = [...(args.only ?? []), ...(names as SectionName[])];
    } else throw new Error(`unknown argument ${argv[i]}; ${USAGE}`);
  }
  return args;
}

function checkBuilt(): void {
  for (const file of [CLI, path.join(REPO_ROOT, 'index.js')]) {
    if (!existsSync(file)) throw new Error(`${path.relative(REPO_ROOT, file)} is missing; run npm run build first`);
  }
}

/** Cells that say why a peer has no number, gathered for the closing summary. */
function gaps(tables: Table[]): string[] {
  const found = new Set<string>();
  for (const table of tables) {
    const name = table.title.split(' (')[0];
    for (const c of table.rows.flat()) if (/^(skipped|failed): /.test(c)) found.add(`${name}: ${c}`);
  }
  return [...found];
}

async function main(): Promise<void> {
  const { quick, only } = parseArgs(process.argv.slice(2));
  const wanted = (name: SectionName) => only === null || only.includes(name);
  installCleanup();
  checkBuilt();
  const started = Date.now();
  const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);
  const print = (text: string) => process.stdout.write(`${text}\n`);
  const [load1] = os.loadavg();
  if (load1 > BUSY_LOAD) log(`warning: load average ${load1.toFixed(2)} > ${BUSY_LOAD}; something else is using the CPU and the figures will be noisy`);

  const python = await pythonEnv(log);
  const bench: Bench = { quick, python, log, print };
  const tables: Table[] = [];
  const show = (table: Table) => {
    tables.push(table);
    print(section(table));
  };
  const durations: string[] = [];
  /** Section times, so a quick run tells how long a full one will take. */
  const timed = async <T extends { table: Table }>(name: string, work: (b: Bench) => Promise<T>): Promise<T> => {
    const sectionStarted = Date.now();
    const result = await work(bench);
    durations.push(`${name} ${((Date.now() - sectionStarted) / 1000).toFixed(0)} s`);
    show(result.table);
    return result;
  };
  show(machineTable(python));
  const training = wanted('training') ? await timed('training', runTraining) : null;
  const realData = wanted('real-data') ? await timed('real-data', runRealData) : null;
  const wide = wanted('wide') ? await timed('wide', runWide) : null;
  if (wanted('formats')) await timed('formats', runFormats);
  if (wanted('estimators')) await timed('estimators', runEstimators);
  const inMemory = wanted('in-memory') ? await timed('in-memory', runInMemory) : null;
  const serving = wanted('serving') ? await timed('serving', runServing) : null;
  if (serving) show(serving.cores);
  const targets = training && inMemory && serving ? targetsTable(training, inMemory, serving, realData, wide) : null;
  if (targets) show(targets);

  const minutes = (Date.now() - started) / 60_000;
  // Only a full run of every section replaces RESULTS.md.
  const file = only !== null ? path.join(OUT_DIR, `RESULTS-${only.join('-')}${quick ? '-quick' : ''}.md`) : quick ? QUICK_RESULTS_FILE : RESULTS_FILE;
  await writeReport({ file, quick, minutes, tables });
  const missing = gaps(tables);
  const met = targets ? `${targets.rows.filter((r) => r[r.length - 1] === 'met').length} of ${targets.rows.length} targets met` : 'targets not judged (not every section ran)';
  print(`Summary: ${quick ? 'quick' : 'full'} run in ${(minutes * 60).toFixed(0)} s (${durations.join(', ')}); ${met}; results in ${path.relative(process.cwd(), file)}.`);
  if (python.setupSeconds !== null) print(`The Python venv was set up in this run (${python.setupSeconds.toFixed(0)} s); later runs reuse it.`);
  print(missing.length === 0 ? 'Every peer ran.' : `Not measured:\n${missing.map((m) => `- ${m}`).join('\n')}`);
}

main().catch((error: unknown) => {
  process.stderr.write(`[bench] failed: ${error instanceof Error ? error.message : String(error)}\n`);
  killAll();
  process.exitCode = 1;
});
