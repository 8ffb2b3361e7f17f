/**
 * Writes a deterministic regression CSV (label first, no header):
 * y = 1 + Σ (j+1)·x_j + noise, x_j uniform in [-10, 10), 6 significant digits.
 * Usage: tsx bench/generate-csv.ts <out.csv> <megabytes> [features=10] [seed=1]
 */
import { createWriteStream } from 'node:fs';

async function main(): Promise<void> {
  const [out, megabytes, featuresArg, seedArg] = process.argv.slice(2);
  if (!out || !megabytes) {
    process.stderr.write('usage: generate-csv.ts <out.csv> <megabytes> [features=10] [seed=1]\n');
    process.exitCode = 2;
    return;
  }
  const target = Number(megabytes) * 1e6;
  const features = Number(featuresArg ?? 10);
  let state = Number(seedArg ?? 1) >>> 0;
  const uniform = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
  const stream = createWriteStream(out);
  let written = 0;
  while (written < target) {
    const lines: string[] = [];
    for (let r = 0; r < 4096; r++) {
      const x = Array.from({ length: features }, () => Number((uniform() * 20 - 10).toPrecision(6)));
      const y = x.reduce((s, v, j) => s + (j + 1) * v, 1) + (uniform() - 0.5);
      lines.push(`${y.toPrecision(8)},${x.join(',')}`);
    }
    const chunk = `${lines.join('\n')}\n`;
    written += chunk.length;
    if (!stream.write(chunk)) await new Promise<void>((resolve) => stream.once('drain', () => resolve()));
  }
  await new Promise<void>((resolve, reject) => stream.end((err?: Error | null) => (err ? reject(err) : resolve())));
}

void main();
