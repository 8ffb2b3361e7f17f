/** SageMaker trees for `linear train`, and the model it writes. */
import { link, mkdir, readFile, rm, symlink } from 'node:fs/promises';
import * as path from 'node:path';
import { CLI, OUT_DIR } from './paths';
import { measure, type MeasuredResult } from './processes';

/**
 * <out>/trees/<name> with the CSV (or CSVs) as its training files. A hard link
 * costs no copy of a 2 GB file; a symbolic link (which the CLI follows) is the
 * fallback across file systems.
 */
export async function mlTree(name: string, csv: string | string[]): Promise<string> {
  const root = path.join(OUT_DIR, 'trees', name);
  await rm(root, { recursive: true, force: true });
  const channel = path.join(root, 'input', 'data', 'train');
  await mkdir(channel, { recursive: true });
  for (const file of typeof csv === 'string' ? [csv] : csv) {
    const target = path.join(channel, path.basename(file));
    await link(file, target).catch(() => symlink(file, target));
  }
  return root;
}

export interface TrainedModel {
  rows: number;
  /** Intercept first, then the slopes. */
  beta: number[];
}

interface ModelJson {
  intercept: number;
  coefficients: number[];
  statistics: { n: number };
}

export async function readModel(root: string): Promise<TrainedModel> {
  const model = JSON.parse(await readFile(path.join(root, 'model', 'model.json'), 'utf8')) as ModelJson;
  return { rows: model.statistics.n, beta: [model.intercept, ...model.coefficients] };
}

/** `node dist/main.js train` end to end: wall time and peak RSS of the whole process. */
export function trainWithCli(root: string): Promise<MeasuredResult> {
  return measure(process.execPath, [CLI, 'train', '--ml-root', root]);
}
