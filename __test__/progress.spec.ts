/**
 * Training progress: the Progress module on a fake clock (plain lines, the live
 * terminal line, the quiet start, the final throughput line), streamFiles
 * feeding it from plain and gzip files, and the real CLI's final lines.
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import { cpSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { LinearError } from '../src/errors';
import type { ByteSink, SourceSummary } from '../src/native';
import { streamFiles } from '../src/readers/channel-stream';
import { DEFAULT_INTERVAL_MS, PROGRESS_INTERVAL_ENV, Progress, formatDuration, intervalFromEnv, type ProgressOptions } from '../src/report/progress';
import { CLI, REPO_ROOT, makeMlTree, runCli } from './helpers/ml-tree';

const CLEAR = '\r\x1b[K';

/** The compiled CLI with extra environment variables; resolves with its exit code and output. */
function runCliWithEnv(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { cwd: REPO_ROOT, env: { ...process.env, ...env }, encoding: 'utf8', timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr }),
    );
  });
}

/** A Progress writing into an array, on a clock the test moves. */
function harness(options: Partial<ProgressOptions> = {}) {
  const clock = { ms: 1_000 };
  const written: string[] = [];
  const progress = new Progress({ label: "channel 'train'", tty: false, intervalMs: 10_000, now: () => clock.ms, write: (text) => written.push(text), ...options });
  return { clock, written, progress };
}

const MB = 1e6;

test('plain output: nothing in the first 2 s, then a line per interval, then the final throughput line', (t) => {
  const { clock, written, progress } = harness();
  progress.begin(100 * MB);
  for (let s = 0.5; s < 2; s += 0.5) {
    clock.ms = 1_000 + s * 1_000;
    progress.update({ position: s * 10 * MB, bytes: s * 10 * MB, rows: s * 1000 });
  }
  t.deepEqual(written, [], 'quiet before 2 s');
  clock.ms = 1_000 + 9_000;
  progress.update({ position: 40 * MB, bytes: 40 * MB, rows: 4000 });
  t.deepEqual(written, [], 'the first plain line comes one interval after the start');
  clock.ms = 1_000 + 10_000;
  progress.update({ position: 50 * MB, bytes: 50 * MB, rows: 5000 });
  t.deepEqual(written, ["linear: channel 'train': 50.0 MB of 100.0 MB (50%), 5000 rows, 5.0 MB/s, ETA 10s\n"]);
  clock.ms = 1_000 + 15_000;
  progress.update({ position: 75 * MB, bytes: 75 * MB, rows: 7500 });
  t.is(written.length, 1, 'no second line within the interval');
  clock.ms = 1_000 + 20_000;
  progress.update({ position: 80 * MB, bytes: 80 * MB, rows: 8000 });
  t.is(written.length, 2);
  t.regex(written[1], /^linear: channel 'train': 80\.0 MB of 100\.0 MB \(80%\), 8000 rows, 4\.0 MB\/s, ETA 5s\n$/);
  clock.ms = 1_000 + 25_000;
  progress.end({ position: 100 * MB, bytes: 100 * MB, rows: 10_000 });
  t.is(written[2], "linear: channel 'train': read 10000 rows, 100.0 MB in 25.00 s (4.0 MB/s)\n");
  t.true(written.every((line) => !line.includes('\r')), 'no terminal control characters off a terminal');
});

test('a run shorter than 2 s prints only the final line, even with a tiny interval', (t) => {
  const { clock, written, progress } = harness({ intervalMs: 1 });
  progress.begin(10 * MB);
  for (let ms = 0; ms < 1_990; ms += 10) {
    clock.ms = 1_000 + ms;
    progress.update({ position: ms * 5_000, bytes: ms * 5_000, rows: ms });
  }
  clock.ms = 2_900;
  progress.end({ position: 10 * MB, bytes: 10 * MB, rows: 2_000 });
  t.deepEqual(written, ["linear: channel 'train': read 2000 rows, 10.0 MB in 1.90 s (5.3 MB/s)\n"]);
});

test('the interval comes from LINEAR_PROGRESS_INTERVAL_MS; a malformed value is INVALID_CONFIG', (t) => {
  t.is(intervalFromEnv({}), DEFAULT_INTERVAL_MS);
  t.is(intervalFromEnv({ [PROGRESS_INTERVAL_ENV]: '250' }), 250);
  for (const bad of ['0', '-5', '1.5', 'soon']) {
    const err = t.throws(() => intervalFromEnv({ [PROGRESS_INTERVAL_ENV]: bad }), { instanceOf: LinearError });
    t.is(err?.code, 'INVALID_CONFIG', bad);
    t.regex(err?.message ?? '', /LINEAR_PROGRESS_INTERVAL_MS/);
  }
  // The default Progress reads it too.
  const saved = process.env[PROGRESS_INTERVAL_ENV];
  process.env[PROGRESS_INTERVAL_ENV] = '500';
  try {
    const clock = { ms: 0 };
    const written: string[] = [];
    const progress = new Progress({ label: 'x', tty: false, now: () => clock.ms, write: (s) => written.push(s) });
    progress.begin();
    clock.ms = 2_000;
    progress.update({ position: 1, bytes: 1 });
    clock.ms = 2_400;
    progress.update({ position: 2, bytes: 2 });
    clock.ms = 2_500;
    progress.update({ position: 3, bytes: 3 });
    t.is(written.length, 2);
  } finally {
    if (saved === undefined) delete process.env[PROGRESS_INTERVAL_ENV];
    else process.env[PROGRESS_INTERVAL_ENV] = saved;
  }
});

test('on a terminal one live line is rewritten in place and cleared before the final line', (t) => {
  const { clock, written, progress } = harness({ tty: true });
  progress.begin(200 * MB);
  clock.ms = 1_000 + 2_000;
  progress.update({ position: 50 * MB, bytes: 50 * MB, rows: 1 });
  clock.ms += 100;
  progress.update({ position: 51 * MB, bytes: 51 * MB, rows: 2 });
  t.is(written.length, 1, 'redrawn at most every 250 ms');
  clock.ms += 250;
  progress.update({ position: 60 * MB, bytes: 60 * MB, rows: 3 });
  t.is(written.length, 2);
  for (const line of written) {
    t.true(line.startsWith(CLEAR), JSON.stringify(line));
    t.false(line.includes('\n'), 'a live line has no newline');
  }
  t.regex(written[1], /^\r\x1b\[Klinear: channel 'train': 60\.0 MB of 200\.0 MB \(30%\), 3 rows, [\d.]+ MB\/s, ETA \d+s$/);
  progress.end({ position: 200 * MB, bytes: 200 * MB, rows: 10 });
  t.is(written[2], CLEAR);
  t.regex(written[3], /^linear: channel 'train': read 10 rows, 200\.0 MB in 2\.35 s \(85\.1 MB\/s\)\n$/);
});

test('without a known total there is no percentage or ETA; gzip progress counts compressed bytes', (t) => {
  const unknown = harness();
  unknown.progress.begin(undefined);
  unknown.clock.ms += 10_000;
  unknown.progress.update({ position: 30 * MB, bytes: 30 * MB, rows: 7 });
  t.deepEqual(unknown.written, ["linear: channel 'train': 30.0 MB read, 7 rows, 3.0 MB/s\n"]);

  const gzip = harness();
  gzip.progress.begin(100 * MB);
  gzip.clock.ms += 10_000;
  gzip.progress.update({ position: 40 * MB, bytes: 90 * MB, rows: 9 });
  t.regex(gzip.written[0], /40\.0 MB of 100\.0 MB \(40%\), 90\.0 MB decompressed, 9 rows, 9\.0 MB\/s, ETA 15s\n$/);
  gzip.clock.ms += 10_000;
  gzip.progress.update({ position: 60 * MB, bytes: 150 * MB, rows: 15 });
  t.regex(gzip.written[1], /60\.0 MB of 100\.0 MB \(60%\), 150\.0 MB decompressed, 15 rows, 7\.5 MB\/s, ETA 13s\n$/);
  gzip.progress.end({ position: 100 * MB, bytes: 250 * MB, rows: 25 });
  t.regex(gzip.written[2], /read 25 rows, 250\.0 MB \(100\.0 MB stored\) in 20\.00 s \(12\.5 MB\/s\)\n$/);
});

test('a failed pass clears the live line and prints no final line', (t) => {
  const { clock, written, progress } = harness({ tty: true });
  progress.begin(10 * MB);
  clock.ms += 3_000;
  progress.update({ position: MB, bytes: MB });
  progress.abandon();
  progress.end({ position: MB, bytes: MB, rows: 1 });
  t.is(written.length, 2);
  t.is(written[1], CLEAR);
});

test('durations read as seconds, minutes or hours', (t) => {
  t.is(formatDuration(4.4), '4s');
  t.is(formatDuration(65), '1m05s');
  t.is(formatDuration(3 * 3600 + 7 * 60 + 30), '3h07m');
});

/** Counts rows as newline characters, like a trainer would (no header). */
class CountingSink implements ByteSink {
  /** Rows so far, the current source included. */
  seen = 0;
  private current = 0;
  beginSource(): void {
    this.current = 0;
  }
  async push(chunk: Buffer): Promise<void> {
    let rows = 0;
    for (const byte of chunk) if (byte === 0x0a) rows++;
    this.current += rows;
    this.seen += rows;
  }
  endSource(): SourceSummary {
    return { rows: this.current, hadHeader: false, empty: this.current === 0 };
  }
  async readFile(): Promise<SourceSummary> {
    throw new Error('only streamed files reach this sink');
  }
}

test('streamFiles reports stored bytes of plain and gzip files and ends with the rows of the pass', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'linear-progress-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const plain = '1,2\n'.repeat(50_000); // 200,000 bytes
  const zipped = gzipSync('3,4\n'.repeat(100_000)); // 400,000 bytes inflated
  const files = [path.join(dir, 'a.csv'), path.join(dir, 'b.csv.gz'), path.join(dir, 'c.csv')];
  writeFileSync(files[0], plain);
  writeFileSync(files[1], zipped);
  writeFileSync(files[2], plain);
  const total = ((400_000 + zipped.length) / MB).toFixed(2);
  const clock = { ms: 0 };
  const written: string[] = [];
  // Every read of the clock is one second later, and no quiet start: each chunk is due a line.
  const progress = new Progress({ label: 'pass', tty: false, intervalMs: 1, quietMs: 0, now: () => (clock.ms += 1_000), write: (s) => written.push(s) });
  const sink = new CountingSink();
  const summaries = await streamFiles(files, sink, { root: dir, progress, rows: () => sink.seen });
  t.deepEqual(summaries.map((s) => [s.displayName, s.rows]), [['a.csv', 50_000], ['b.csv.gz', 100_000], ['c.csv', 50_000]]);
  const text = written.join('');
  t.true(written.every((l) => l.endsWith('\n')), text);
  t.regex(written[0], new RegExp(`^linear: pass: 0\\.20 MB of ${total} MB \\(\\d+%\\), 50000 rows, [\\d.]+ MB/s, ETA \\d+s\\n$`), 'after the first plain file');
  // Inside the gzip file: the first file's bytes and the compressed bytes read so far.
  t.regex(text, new RegExp(`^linear: pass: 0\\.20 MB of ${total} MB \\(\\d+%\\), 0\\.60 MB decompressed, 150000 rows, [\\d.]+ MB/s, ETA \\d+s\\n`, 'm'));
  t.regex(text, new RegExp(`^linear: pass: ${total} MB of ${total} MB \\(100%\\), 0\\.80 MB decompressed, 200000 rows, [\\d.]+ MB/s\\n`, 'm'), 'after the last file');
  t.regex(written.at(-1) ?? '', new RegExp(`^linear: pass: read 200000 rows, 0\\.80 MB \\(${total} MB stored\\) in [\\d.]+ s \\([\\d.]+ MB/s\\)\\n$`));
});

test('streamFiles ends the progress cleanly when a file cannot be read', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'linear-progress-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  writeFileSync(path.join(dir, 'a.csv'), '1,2\n');
  const written: string[] = [];
  const progress = new Progress({ label: 'x', tty: true, intervalMs: 1, now: () => 0, write: (s) => written.push(s) });
  const err = await t.throwsAsync(streamFiles([path.join(dir, 'a.csv'), path.join(dir, 'missing.csv')], new CountingSink(), { root: dir, progress }));
  t.is((err as LinearError).code, 'UNREADABLE_FILE');
  t.deepEqual(written, [], 'no final line for a failed pass');
});

test('the CLI prints a final throughput line per pass and, on a short run, no periodic line', async (t) => {
  const root = await mkdtemp(path.join(os.tmpdir(), 'linear-progress-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  cpSync(path.join(REPO_ROOT, 'ml', 'input'), path.join(root, 'input'), { recursive: true });
  const short = await runCliWithEnv(['train', '--ml-root', root], { [PROGRESS_INTERVAL_ENV]: '1' });
  t.is(short.code, 0, short.stderr);
  const lines = short.stderr.split('\n').filter((l) => l.startsWith("linear: channel 'train'"));
  t.is(lines.length, 1, short.stderr);
  t.regex(lines[0], /^linear: channel 'train': read 6 rows, \d+\.\d\d MB in \d+\.\d\d s \(\d+\.\d MB\/s\)$/);
  t.false(short.stderr.includes('\r'), 'no terminal control characters when stderr is a pipe');
});

test('the extended-precision second pass has its own final line', async (t) => {
  const lines: string[] = [];
  for (let i = 0; i < 200_000; i++) {
    const x = (i % 2000) / 100;
    const powers = [1, 2, 3, 4, 5].map((k) => x ** k);
    lines.push([1 + powers.reduce((s, v) => s + v, 0) + (((i * 7919) % 1000) - 500), ...powers].join(','));
  }
  const tree = await makeMlTree({ channels: { train: { 'poly.csv': `${lines.join('\n')}\n` } } }, t);
  const trained = await runCli(['train'], { root: tree.root });
  t.is(trained.code, 0, trained.stderr);
  const passes = trained.stderr.split('\n').filter((l) => l.startsWith("linear: channel 'train'"));
  t.is(passes.length, 2, trained.stderr);
  t.regex(passes[0], /^linear: channel 'train': read 200000 rows, 17\.6 MB in [\d.]+ s \([\d.]+ MB\/s\)$/);
  t.regex(passes[1], /^linear: channel 'train', extended-precision pass: read 200000 rows, 17\.6 MB in [\d.]+ s \([\d.]+ MB\/s\)$/);
});
