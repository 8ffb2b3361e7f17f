/**
 * Every input a SageMaker user has, through the real CLI and server: one
 * random data set written the way users write it (numpy, scipy, pyarrow and
 * the SageMaker Python SDK's RecordIO-protobuf writer) as CSV, RecordIO
 * dense and sparse, libsvm and Parquet, read in File, FastFile and Pipe mode
 * (a real FIFO), must give the CSV model bit for bit; scored channels and
 * `linear test` the same metrics and predictions; broken files coded
 * failures naming the place; and the server RecordIO answers the SDK reads.
 */
import test, { type ExecutionContext } from 'ava';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { access, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { illConditionedCsv, makeMlTree, runCli, type CliResult, type MlTree, type MlTreeSpec } from './helpers/ml-tree';
import { FORMATS_PYTHON_ENV, PYTHON_SCRIPTS, formatsPython } from './helpers/python';
import { startServer, type RunningServer } from './helpers/server';

// ---------------------------------------------------------------------------
// Running things: at most a few CLI or Python processes at once on a small machine.

function limiter(slots: number) {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async <T>(job: () => Promise<T>): Promise<T> => {
    if (active < slots) active++;
    else await new Promise<void>((resolve) => waiting.push(resolve));
    try {
      return await job();
    } finally {
      // The slot passes straight to the next waiter, so no newcomer can slip in between.
      const next = waiting.shift();
      if (next) next();
      else active--;
    }
  };
}

const slot = limiter(Math.max(2, Math.min(4, os.availableParallelism() + 1)));

const cli = (args: string[], options: Parameters<typeof runCli>[1]) => slot(() => runCli(args, options));

function describe(r: CliResult): string {
  return `exit ${r.code}\n--- stdout ---\n${r.stdout.slice(0, 4000)}\n--- stderr ---\n${r.stderr.slice(0, 4000)}`;
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

// ---------------------------------------------------------------------------
// The Python with the SageMaker SDK, and the files it writes.

const PYTHON = formatsPython();
const withPython = 'python' in PYTHON ? test : test.skip;
const NEEDS_PYTHON = 'reason' in PYTHON ? ` (skipped: ${PYTHON.reason})` : '';
const FORMATS_SCRIPT = path.join(PYTHON_SCRIPTS, 'formats.py');
const SEED = 20240607;

function python(args: string[]): Promise<string> {
  if (!('python' in PYTHON)) throw new Error(`no Python: ${PYTHON.reason}`);
  const interpreter = PYTHON.python;
  return slot(
    () =>
      new Promise((resolve, reject) => {
        execFile(
          interpreter,
          [FORMATS_SCRIPT, ...args],
          { encoding: 'utf8', maxBuffer: 1 << 28, timeout: 120_000, env: { ...process.env, ...FORMATS_PYTHON_ENV } },
          (err, stdout, stderr) => (err ? reject(new Error(`formats.py ${args[0]} failed: ${err.message}\n${stderr}`)) : resolve(stdout)),
        );
      }),
  );
}

/** The script's answer: the last line it printed (anything a library logs comes before). */
function lastJsonLine<T>(stdout: string): T {
  return JSON.parse(stdout.trim().split('\n').slice(-1)[0]) as T;
}

interface SetSummary {
  rows: number;
  zeros: number;
  parquet_row_groups: number;
}

interface Manifest {
  label: string;
  features: string[];
  train: SetSummary;
  holdout: SetSummary;
  serve: { rows: number; zeros: number };
}

interface Written {
  dir: string;
  manifest: Manifest;
  /** Bytes of <dir>/<set>/<name>. */
  file: (set: 'train' | 'holdout' | 'serve' | 'hostile', name: string) => Promise<Buffer>;
}

let written: Promise<Written> | undefined;
let writtenDir: string | undefined;

/** The data set in every format, written once per run by formats.py. */
function data(): Promise<Written> {
  written ??= (async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'linear-formats-'));
    writtenDir = dir;
    const manifest = lastJsonLine<Manifest>(await python(['write', dir, String(SEED)]));
    return { dir, manifest, file: (set, name) => readFile(path.join(dir, set, name)) };
  })();
  return written;
}

test.after.always(async () => {
  if (writtenDir) await rm(writtenDir, { recursive: true, force: true });
});

interface TensorJson {
  type: string;
  values: (number | string)[];
  keys?: number[];
  shape?: number[];
}
interface RecordJson {
  label: Record<string, TensorJson>;
  features: Record<string, TensorJson>;
}

/** Decodes RecordIO-protobuf with the SDK's read_records. */
async function readRecords(files: string[]): Promise<Record<string, RecordJson[]>> {
  return lastJsonLine(await python(['read-recordio', ...files]));
}

// ---------------------------------------------------------------------------
// Models.

interface ModelJson {
  intercept: number;
  coefficients: number[];
  statistics: Record<string, unknown> & { n: number; precision: string; r_squared: number | null };
  feature_names: string[];
  label_name: string | null;
}

/** What must be equal bit for bit: every number the fit produced. */
const numbersOf = (m: ModelJson) => ({ intercept: m.intercept, coefficients: m.coefficients, statistics: m.statistics });

interface Trained {
  tree: MlTree;
  result: CliResult;
  model: ModelJson;
}

async function readModel(tree: MlTree): Promise<ModelJson> {
  return JSON.parse(await readFile(tree.modelFile, 'utf8')) as ModelJson;
}

/** Trains on a new tree; fails the test (with the output) when training does. */
async function train(t: ExecutionContext, spec: MlTreeSpec, env?: NodeJS.ProcessEnv): Promise<Trained> {
  const tree = await makeMlTree(spec, t);
  const result = await cli(['train'], { root: tree.root, ...(env ? { env } : {}) });
  if (result.code !== 0) throw new Error(`training failed: ${describe(result)}`);
  return { tree, result, model: await readModel(tree) };
}

let baselineModel: Promise<Trained> | undefined;

/** The reference: CSV with a header, File mode. Its tree is kept for the whole run. */
function baseline(): Promise<Trained> {
  baselineModel ??= (async () => {
    const { file } = await data();
    const tree = await makeMlTree({ channels: { train: { 'data.csv': await file('train', 'with-header.csv') } } });
    cleanup.push(tree.root);
    const result = await cli(['train'], { root: tree.root });
    if (result.code !== 0) throw new Error(`the CSV baseline did not train: ${describe(result)}`);
    return { tree, result, model: await readModel(tree) };
  })();
  return baselineModel;
}

const cleanup: string[] = [];
test.after.always(async () => {
  await Promise.all(cleanup.map((dir) => rm(dir, { recursive: true, force: true })));
});

/** Bit-identical numbers; names too where the format carries them. */
function sameModel(t: ExecutionContext, model: ModelJson, reference: ModelJson, names: boolean): void {
  t.deepEqual(numbersOf(model), numbersOf(reference));
  if (names) {
    t.deepEqual(model.feature_names, reference.feature_names);
    t.is(model.label_name, reference.label_name);
  } else {
    t.is(model.feature_names.length, reference.feature_names.length);
  }
}

withPython(`the CSV reference fits all 3,000 rows of the written data set with the header's names${NEEDS_PYTHON}`, async (t) => {
  const { manifest } = await data();
  const { model } = await baseline();
  t.is(manifest.train.rows, 3000);
  t.true(manifest.train.zeros > 0.4 * 3000 * 6 && manifest.train.zeros < 0.6 * 3000 * 6, `${manifest.train.zeros} zeros`);
  t.true(manifest.train.parquet_row_groups >= 2, `${manifest.train.parquet_row_groups} row groups`);
  t.is(model.statistics.n, 3000);
  t.deepEqual(model.feature_names, manifest.features);
  t.is(model.label_name, manifest.label);
  t.true((model.statistics.r_squared ?? 0) > 0.9, `r² ${model.statistics.r_squared}`);
});

// ---------------------------------------------------------------------------
// RecordIO framing, written here (not by the SDK) for Pipe-mode wrapping and broken files.

const MAGIC = Buffer.from([0x0a, 0x23, 0xd7, 0xce]);

/** One RecordIO record: magic, u32 LE length, payload, zeros to a multiple of 4. */
function frame(payload: Buffer): Buffer {
  const header = Buffer.alloc(8);
  MAGIC.copy(header, 0);
  header.writeUInt32LE(payload.length, 4);
  return Buffer.concat([header, payload, Buffer.alloc((4 - (payload.length % 4)) % 4)]);
}

interface Frame {
  /** Byte offset of the record's magic. */
  offset: number;
  payload: Buffer;
  /** Offset just past its padding. */
  end: number;
}

/** The records of a RecordIO file (whole records only, cflag 0). */
function frames(bytes: Buffer): Frame[] {
  const out: Frame[] = [];
  let at = 0;
  while (at < bytes.length) {
    if (!bytes.subarray(at, at + 4).equals(MAGIC)) throw new Error(`no RecordIO magic at ${at}`);
    const length = bytes.readUInt32LE(at + 4) & 0x1fffffff;
    const end = at + 8 + length + ((4 - (length % 4)) % 4);
    out.push({ offset: at, payload: bytes.subarray(at + 8, at + 8 + length), end });
    at = end;
  }
  return out;
}

test('the RecordIO framing written here is the one DMLC and the SDK use', (t) => {
  const framed = frame(Buffer.from('abcde'));
  t.deepEqual([...framed.subarray(0, 4)], [0x0a, 0x23, 0xd7, 0xce]);
  t.is(framed.readUInt32LE(0), 0xced7230a);
  t.is(framed.readUInt32LE(4), 5);
  t.is(framed.length, 16);
  t.deepEqual([...framed.subarray(13)], [0, 0, 0]);
  t.deepEqual(
    frames(Buffer.concat([framed, frame(Buffer.from('wxyz'))])).map((f) => f.payload.toString()),
    ['abcde', 'wxyz'],
  );
});

// ---------------------------------------------------------------------------
// Pipe mode: a real FIFO at input/data/train_0, written by `cat` after the CLI starts.

interface PipeRun {
  tree: MlTree;
  result: CliResult;
  spillDir: string;
  /** What was left in the spill directory once training ended. */
  leftInSpill: string[];
}

async function trainThroughPipe(
  t: ExecutionContext,
  source: Buffer,
  channel: Record<string, string> = {},
  env: NodeJS.ProcessEnv = {},
  spec: MlTreeSpec = {},
): Promise<PipeRun> {
  const tree = await makeMlTree({ ...spec, inputDataConfig: { train: { TrainingInputMode: 'Pipe', S3DistributionType: 'FullyReplicated', ...channel } } }, t);
  const spillDir = await mkdtemp(path.join(os.tmpdir(), 'linear-spill-'));
  t.teardown(() => rm(spillDir, { recursive: true, force: true }));
  const sourceFile = path.join(tree.root, 'pipe-source');
  await writeFile(sourceFile, source);
  const fifo = path.join(tree.dataDir, 'train_0');
  return slot(async () => {
    const running = runCli(['train'], { root: tree.root, timeoutMs: 120_000, env: { LINEAR_SPILL_DIR: spillDir, ...env } });
    // SageMaker makes the FIFO as the job starts; the CLI waits for it.
    await new Promise((resolve) => setTimeout(resolve, 200));
    execFileSync('mkfifo', [fifo]);
    const writer = spawn('sh', ['-c', 'cat "$1" > "$2"', 'sh', sourceFile, fifo], { stdio: 'ignore' });
    const writerDone = once(writer, 'exit');
    t.teardown(() => {
      if (writer.exitCode === null && writer.signalCode === null) writer.kill('SIGKILL');
    });
    const result = await running;
    // A CLI that never opened the FIFO leaves the writer blocked in open(): end it.
    const stop = setTimeout(() => writer.kill('SIGTERM'), 2_000);
    await writerDone;
    clearTimeout(stop);
    return { tree, result, spillDir, leftInSpill: await readdir(spillDir) };
  });
}

/** A Pipe-mode run that must train: its model, with the spill directory checked empty. */
async function pipeModel(t: ExecutionContext, source: Buffer, channel: Record<string, string> = {}, env: NodeJS.ProcessEnv = {}): Promise<PipeRun & { model: ModelJson }> {
  const run = await trainThroughPipe(t, source, channel, env);
  t.is(run.result.code, 0, describe(run.result));
  t.regex(run.result.stderr, /training on 1 pipe in channel 'train' \(Pipe mode/);
  t.deepEqual(run.leftInSpill, [], 'the copy of the pipe is removed');
  if (run.result.code !== 0) throw new Error('Pipe-mode training failed');
  return { ...run, model: await readModel(run.tree) };
}

// ---------------------------------------------------------------------------
// 1. The same data in every format and mode: the CSV model, bit for bit.

interface Case {
  name: string;
  /** Names are compared too (formats that carry them). */
  names: boolean;
  model: (t: ExecutionContext, w: Written) => Promise<ModelJson>;
}

const fileCase = (files: Record<string, (w: Written) => Promise<Buffer>>, channel?: Record<string, string>, hyperparameters?: Record<string, string>) =>
  async (t: ExecutionContext, w: Written): Promise<ModelJson> => {
    const contents: Record<string, Buffer> = {};
    for (const [name, make] of Object.entries(files)) contents[name] = await make(w);
    const spec: MlTreeSpec = { channels: { train: contents } };
    if (channel) spec.inputDataConfig = { train: channel };
    if (hyperparameters) spec.hyperparameters = hyperparameters;
    return (await train(t, spec)).model;
  };

const trainFile = (name: string) => (w: Written) => w.file('train', name);

/** The header CSV cut into objects of `rows` rows, each with its own header line. */
async function csvObjects(w: Written, rows: number): Promise<string[]> {
  const [header, ...lines] = (await w.file('train', 'with-header.csv')).toString('utf8').trimEnd().split('\n');
  const objects: string[] = [];
  for (let i = 0; i < lines.length; i += rows) objects.push(`${header}\n${lines.slice(i, i + rows).join('\n')}\n`);
  return objects;
}

/** A RecordIO file cut into shards at record boundaries, as record_set() writes matrix_<i>.pbr. */
async function shards(w: Written, name: string, count: number): Promise<Buffer[]> {
  const bytes = await w.file('train', name);
  const all = frames(bytes);
  const per = Math.ceil(all.length / count);
  return Array.from({ length: count }, (_, i) => bytes.subarray(all[i * per].offset, all[Math.min(all.length, (i + 1) * per) - 1].end));
}

const CASES: Case[] = [
  { name: 'CSV with a header in FastFile mode', names: true, model: fileCase({ 'data.csv': trainFile('with-header.csv') }, { TrainingInputMode: 'FastFile' }) },
  { name: 'CSV without a header', names: false, model: fileCase({ 'data.csv': trainFile('no-header.csv') }) },
  { name: 'gzip-compressed CSV', names: true, model: fileCase({ 'data.csv.gz': async (w) => gzipSync(await w.file('train', 'with-header.csv')) }) },
  { name: 'RecordIO-protobuf float64, no ContentType (sniffed)', names: false, model: fileCase({ 'matrix_0.pbr': trainFile('dense-f64.pbr') }) },
  {
    name: 'RecordIO-protobuf float64 in two shards, ContentType application/x-recordio-protobuf',
    names: false,
    model: async (t, w) => {
      const [a, b] = await shards(w, 'dense-f64.pbr', 2);
      return fileCase({ 'matrix_0.pbr': async () => a, 'matrix_1.pbr': async () => b }, { ContentType: 'application/x-recordio-protobuf', TrainingInputMode: 'File' })(t, w);
    },
  },
  { name: 'sparse RecordIO-protobuf (scipy csr, half zeros), sniffed', names: false, model: fileCase({ 'sparse.pbr': trainFile('sparse.pbr') }) },
  {
    name: 'sparse RecordIO-protobuf, declared',
    names: false,
    model: fileCase({ 'sparse.pbr': trainFile('sparse.pbr') }, { ContentType: 'application/x-recordio-protobuf' }),
  },
  { name: 'libsvm, sniffed', names: false, model: fileCase({ 'data.libsvm': trainFile('data.libsvm') }) },
  { name: 'libsvm, declared text/libsvm', names: false, model: fileCase({ 'data.txt': trainFile('data.libsvm') }, { ContentType: 'text/libsvm' }) },
  { name: 'Parquet (snappy, several row groups), sniffed, names from the schema', names: true, model: fileCase({ 'part-0.parquet': trainFile('data.parquet') }) },
  {
    name: 'Parquet in FastFile mode, declared application/x-parquet',
    names: true,
    model: fileCase({ 'part-0.parquet': trainFile('data.parquet') }, { ContentType: 'application/x-parquet', TrainingInputMode: 'FastFile' }),
  },
];

for (const c of CASES) {
  withPython(`${c.name} gives the CSV model bit for bit${NEEDS_PYTHON}`, async (t) => {
    const w = await data();
    const [model, { model: reference }] = await Promise.all([c.model(t, w), baseline()]);
    sameModel(t, model, reference, c.names);
  });
}

withPython(`Parquet with the label in a column named by label_column=target (not first) gives the CSV model${NEEDS_PYTHON}`, async (t) => {
  const w = await data();
  const [{ model }, { model: reference }] = await Promise.all([
    train(t, {
      hyperparameters: { label_column: 'target' },
      inputDataConfig: { train: { ContentType: 'application/x-parquet' } },
      channels: { train: { 'target.parquet': await w.file('train', 'target.parquet') } },
    }),
    baseline(),
  ]);
  t.deepEqual(numbersOf(model), numbersOf(reference));
  t.deepEqual(model.feature_names, reference.feature_names);
  t.is(model.label_name, 'target');
});

withPython(`RecordIO-protobuf float32 gives the model of its values widened to float64 in CSV${NEEDS_PYTHON}`, async (t) => {
  const w = await data();
  const [f32, widened, { model: f64 }] = await Promise.all([
    fileCase({ 'matrix_0.pbr': trainFile('dense-f32.pbr') })(t, w),
    fileCase({ 'widened.csv': trainFile('dense-f32-widened.csv') })(t, w),
    baseline(),
  ]);
  sameModel(t, f32, widened, true);
  t.notDeepEqual(f32.coefficients, f64.coefficients, 'the float32 data is not the float64 data');
});

withPython(`Pipe mode: CSV through a FIFO gives the CSV model, and its copy is removed${NEEDS_PYTHON}`, async (t) => {
  const w = await data();
  const source = await w.file('train', 'with-header.csv');
  const [run, { model: reference }] = await Promise.all([pipeModel(t, source, { ContentType: 'text/csv' }), baseline()]);
  sameModel(t, run.model, reference, true);
  t.true(run.result.stderr.includes(`kept ${(source.length / 1e6).toFixed(1)} MB of train_0 on local disk`), run.result.stderr);
});

withPython(`Pipe mode: gzip-compressed CSV through a FIFO gives the CSV model${NEEDS_PYTHON}`, async (t) => {
  const w = await data();
  const [run, { model: reference }] = await Promise.all([pipeModel(t, gzipSync(await w.file('train', 'with-header.csv'))), baseline()]);
  sameModel(t, run.model, reference, true);
});

withPython(`Pipe mode with RecordWrapperType=RecordIO: CSV objects, each with its header, one record each, give the CSV model${NEEDS_PYTHON}`, async (t) => {
  const w = await data();
  const objects = await csvObjects(w, 1000);
  t.is(objects.length, 3);
  const wrapped = Buffer.concat(objects.map((o) => frame(Buffer.from(o))));
  const [run, { model: reference }] = await Promise.all([pipeModel(t, wrapped, { ContentType: 'text/csv', RecordWrapperType: 'RecordIO' }), baseline()]);
  sameModel(t, run.model, reference, true);
});

withPython(`Pipe mode: RecordIO-protobuf through a FIFO gives the CSV model${NEEDS_PYTHON}`, async (t) => {
  const w = await data();
  const [run, { model: reference }] = await Promise.all([
    pipeModel(t, await w.file('train', 'dense-f64.pbr'), { ContentType: 'application/x-recordio-protobuf' }),
    baseline(),
  ]);
  sameModel(t, run.model, reference, false);
});

withPython(`Pipe mode: libsvm through a FIFO (width pass, then the rows from the copy) gives the CSV model${NEEDS_PYTHON}`, async (t) => {
  const w = await data();
  const [run, { model: reference }] = await Promise.all([pipeModel(t, await w.file('train', 'data.libsvm'), { ContentType: 'text/libsvm' }), baseline()]);
  sameModel(t, run.model, reference, false);
});

// ---------------------------------------------------------------------------
// 2. A pipe whose data needs the extended-precision pass: read again from the copy.

test('Pipe mode: data needing the extended-precision pass is read again from the local copy, which is then removed; same model as File mode', async (t) => {
  t.timeout(170_000);
  const csv = Buffer.from(illConditionedCsv());
  const [fromFile, piped] = await Promise.all([
    train(t, { channels: { train: { 'poly.csv': csv } } }),
    trainThroughPipe(t, csv, { ContentType: 'text/csv' }),
  ]);
  const r = piped.result;
  t.is(r.code, 0, describe(r));
  t.regex(fromFile.result.stderr, /reading it again for an extended-precision factorisation/);
  t.regex(r.stderr, /reading it again for an extended-precision factorisation/);
  const kept = /kept ([0-9.]+) MB of train_0 on local disk for another pass \((.+), now removed\)/.exec(r.stderr);
  t.truthy(kept, `no line about the copy: ${r.stderr}`);
  if (kept) {
    t.is(kept[1], (csv.length / 1e6).toFixed(1), 'the whole stream was kept');
    t.is(path.dirname(kept[2]), piped.spillDir, 'the copy was made in LINEAR_SPILL_DIR');
  }
  t.deepEqual(piped.leftInSpill, [], 'no copy is left behind');
  if (r.code !== 0) return;
  const model = await readModel(piped.tree);
  t.is(model.statistics.precision, 'extended');
  t.is(model.statistics.n, 200_000);
  t.deepEqual(numbersOf(model), numbersOf(fromFile.model));
});

// ---------------------------------------------------------------------------
// 3 and 5. Failures: a coded output/failure line naming the place, exit 2, no model, no stack.

const EXIT_USER = 2;
const FAILURE_REASON_LIMIT = 1024;

interface Expected {
  /** The code, or the codes the catalogue allows for the case. */
  code: string | string[];
  mentions: (string | RegExp)[];
}

/** Checks a finished `train` run failed as a training job must. */
async function checkTrainFailure(t: ExecutionContext, tree: MlTree, r: CliResult, expected: Expected): Promise<string> {
  const codes = typeof expected.code === 'string' ? [expected.code] : expected.code;
  t.is(r.code, EXIT_USER, describe(r));
  t.false(r.stderr.includes('    at '), `stderr carries a stack trace:\n${r.stderr}`);
  t.false(await exists(tree.modelFile), 'a failed training run must not leave model/model.json');
  if (!(await exists(tree.failureFile))) {
    t.fail(`output/failure was not written; ${describe(r)}`);
    return '';
  }
  const failure = await readFile(tree.failureFile, 'utf8');
  t.false(failure.includes('    at '), `output/failure carries a stack trace:\n${failure}`);
  const [first, ...rest] = failure.replace(/\n$/, '').split('\n');
  t.log(first);
  t.deepEqual(rest, [], 'output/failure holds a single line');
  t.true(
    codes.some((code) => first.startsWith(`${code}: `)),
    `expected ${codes.join(' or ')}, got: ${first}`,
  );
  t.true(first.length < FAILURE_REASON_LIMIT, `failure line is ${first.length} characters`);
  for (const m of expected.mentions) {
    if (typeof m === 'string') t.true(first.includes(m), `message should mention ${JSON.stringify(m)}: ${first}`);
    else t.regex(first, m);
  }
  t.true(
    r.stderr.split('\n').some((l) => codes.some((code) => l.includes(`${code}: `))),
    `stderr should log the failure too: ${r.stderr}`,
  );
  return first;
}

async function expectTrainFailure(t: ExecutionContext, spec: MlTreeSpec, expected: Expected): Promise<string> {
  const tree = await makeMlTree(spec, t);
  return checkTrainFailure(t, tree, await cli(['train'], { root: tree.root }), expected);
}

test('Pipe mode where the FIFO never appears: MISSING_CHANNEL naming it, after LINEAR_PIPE_WAIT_SECONDS', async (t) => {
  const tree = await makeMlTree({ inputDataConfig: { train: { TrainingInputMode: 'Pipe' } } }, t);
  const started = Date.now();
  const r = await cli(['train'], { root: tree.root, env: { LINEAR_PIPE_WAIT_SECONDS: '0.5' } });
  const elapsed = Date.now() - started;
  await checkTrainFailure(t, tree, r, { code: 'MISSING_CHANNEL', mentions: [path.join(tree.dataDir, 'train_0'), "'train'", '0.5 s'] });
  t.true(elapsed < 15_000, `took ${elapsed} ms`);
});

test('Pipe mode whose local copy cannot be kept: a pass that needs it fails with the fix, one that does not still trains', async (t) => {
  const svm = Buffer.from(libsvmWith('2 1:1 3:3', 2));
  const missing = path.join(os.tmpdir(), `linear-no-such-dir-${process.pid}`);
  const needsCopy = await trainThroughPipe(t, svm, { ContentType: 'text/libsvm' }, { LINEAR_SPILL_DIR: missing });
  t.regex(needsCopy.result.stderr, /could not keep a copy of .*train_0 in .*linear-no-such-dir/);
  await checkTrainFailure(t, needsCopy.tree, needsCopy.result, { code: 'UNREADABLE_FILE', mentions: ['another pass over', 'train_0', 'LINEAR_SPILL_DIR', 'FastFile'] });
  const csv = Buffer.from('1,2\n2,4\n3,7\n4,8\n');
  const oneNeeded = await trainThroughPipe(t, csv, { ContentType: 'text/csv' }, { LINEAR_SPILL_DIR: missing });
  t.is(oneNeeded.result.code, 0, describe(oneNeeded.result));
});

/** Four good libsvm lines and one bad one at line `at`. */
function libsvmWith(bad: string, at: number): string {
  const good = ['1.5 1:2 2:3', '2.5 1:3 2:5.5', '0.5 1:-1 3:4', '4 2:7 3:1', '3 1:2 2:2 3:2'];
  good.splice(at - 1, 0, bad);
  return `${good.join('\n')}\n`;
}

test('libsvm with a token that is not index:value: MALFORMED_RECORD naming the file and line', async (t) => {
  await expectTrainFailure(t, { channels: { train: { 'bad.libsvm': libsvmWith('2 1:4 oops 3:1', 3) } } }, { code: 'MALFORMED_RECORD', mentions: ['train/bad.libsvm', /\bline 3\b/] });
});

test('libsvm with index 0 where indices start at 1: MALFORMED_RECORD naming the file and line', async (t) => {
  await expectTrainFailure(
    t,
    { inputDataConfig: { train: { ContentType: 'text/libsvm' } }, channels: { train: { 'zero.txt': libsvmWith('2 0:4 3:1', 4) } } },
    { code: 'MALFORMED_RECORD', mentions: ['train/zero.txt', /\bline 4\b/] },
  );
});

test('a ContentType the bytes contradict (RecordIO declared, CSV given): CONTENT_TYPE_MISMATCH naming both', async (t) => {
  await expectTrainFailure(
    t,
    { inputDataConfig: { train: { ContentType: 'application/x-recordio-protobuf' } }, channels: { train: { 'data.csv': '1,2,3\n4,5,7\n7,8,8\n9,1,1\n' } } },
    { code: 'CONTENT_TYPE_MISMATCH', mentions: ['train/data.csv', 'application/x-recordio-protobuf', 'CSV'] },
  );
});

withPython(`a ContentType the bytes contradict (CSV declared, RecordIO or Parquet given): CONTENT_TYPE_MISMATCH${NEEDS_PYTHON}`, async (t) => {
  const w = await data();
  await expectTrainFailure(
    t,
    { inputDataConfig: { train: { ContentType: 'text/csv' } }, channels: { train: { 'matrix_0.pbr': await w.file('train', 'dense-f64.pbr') } } },
    { code: 'CONTENT_TYPE_MISMATCH', mentions: ['train/matrix_0.pbr', 'text/csv', 'RecordIO'] },
  );
  await expectTrainFailure(
    t,
    { inputDataConfig: { train: { ContentType: 'text/libsvm' } }, channels: { train: { 'part-0.parquet': await w.file('train', 'data.parquet') } } },
    { code: 'CONTENT_TYPE_MISMATCH', mentions: ['train/part-0.parquet', 'text/libsvm', 'Parquet'] },
  );
});

/** The first records of the dense float64 file, whole. */
async function goodRecords(w: Written, count: number): Promise<{ bytes: Buffer; all: Frame[] }> {
  const bytes = await w.file('train', 'dense-f64.pbr');
  const all = frames(bytes);
  return { bytes: bytes.subarray(0, all[count - 1].end), all };
}

withPython(`RecordIO cut off in the middle of a record: MALFORMED_RECORD naming the file and the record${NEEDS_PYTHON}`, async (t) => {
  const w = await data();
  const { bytes, all } = await goodRecords(w, 5);
  const cut = bytes.subarray(0, all[2].offset + 8 + Math.floor(all[2].payload.length / 2));
  await expectTrainFailure(t, { channels: { train: { 'cut.pbr': cut } } }, { code: 'MALFORMED_RECORD', mentions: ['train/cut.pbr', /\brecord 3\b/] });
});

withPython(`RecordIO with a wrong magic after a good record: MALFORMED_RECORD naming the file and the record${NEEDS_PYTHON}`, async (t) => {
  const w = await data();
  const { bytes, all } = await goodRecords(w, 2);
  const second = Buffer.from(bytes.subarray(all[1].offset, all[1].end));
  second.writeUInt32LE(0xdeadbeef, 0);
  const broken = Buffer.concat([bytes.subarray(0, all[0].end), second]);
  await expectTrainFailure(t, { channels: { train: { 'magic.pbr': broken } } }, { code: 'MALFORMED_RECORD', mentions: ['train/magic.pbr', /\brecord 2\b/] });
});

withPython(`RecordIO whose features are a bytes tensor: MALFORMED_RECORD naming the file and the record${NEEDS_PYTHON}`, async (t) => {
  const w = await data();
  await expectTrainFailure(
    t,
    { channels: { train: { 'bytes.pbr': await w.file('hostile', 'bytes-tensor.pbr') } } },
    { code: 'MALFORMED_RECORD', mentions: ['train/bytes.pbr', /\brecord 2\b/, 'bytes'] },
  );
});

withPython(`RecordIO whose protobuf has a bad varint: MALFORMED_RECORD naming the file and the record${NEEDS_PYTHON}`, async (t) => {
  const w = await data();
  const { bytes } = await goodRecords(w, 1);
  // Field 1 (features), length-delimited, with a length varint of 11 bytes: longer than any varint may be.
  const payload = Buffer.from([0x0a, ...Array<number>(10).fill(0xff), 0x01, 0x00, 0x00]);
  await expectTrainFailure(
    t,
    { channels: { train: { 'varint.pbr': Buffer.concat([bytes, frame(payload)]) } } },
    { code: 'MALFORMED_RECORD', mentions: ['train/varint.pbr', /\brecord 2\b/] },
  );
});

withPython(`a sparse RecordIO record without a shape: MALFORMED_RECORD naming the file and the record${NEEDS_PYTHON}`, async (t) => {
  const w = await data();
  await expectTrainFailure(
    t,
    { channels: { train: { 'noshape.pbr': await w.file('hostile', 'sparse-no-shape.pbr') } } },
    { code: 'MALFORMED_RECORD', mentions: ['train/noshape.pbr', /\brecord 2\b/] },
  );
});

withPython(`Parquet with a null: MISSING_VALUE naming the file, the row and the column${NEEDS_PYTHON}`, async (t) => {
  const w = await data();
  await expectTrainFailure(
    t,
    { channels: { train: { 'null.parquet': await w.file('hostile', 'null.parquet') } } },
    { code: 'MISSING_VALUE', mentions: ['train/null.parquet', /\brow 1501\b/, /unit|column 3\b/] },
  );
});

withPython(`Parquet with a string column: UNSUPPORTED_CONTENT_TYPE naming the file and the column${NEEDS_PYTHON}`, async (t) => {
  const w = await data();
  await expectTrainFailure(
    t,
    { channels: { train: { 'string.parquet': await w.file('hostile', 'string.parquet') } } },
    { code: 'UNSUPPORTED_CONTENT_TYPE', mentions: ['train/string.parquet', 'unit'] },
  );
});

withPython(`a truncated Parquet file: MALFORMED_RECORD naming the file${NEEDS_PYTHON}`, async (t) => {
  const w = await data();
  const whole = await w.file('train', 'data.parquet');
  await expectTrainFailure(
    t,
    { channels: { train: { 'cut.parquet': whole.subarray(0, Math.floor(whole.length / 2)) } } },
    { code: 'MALFORMED_RECORD', mentions: ['train/cut.parquet'] },
  );
});

withPython(`Parquet in Pipe mode: UNSUPPORTED_CONTENT_TYPE pointing to FastFile${NEEDS_PYTHON}`, async (t) => {
  const w = await data();
  const run = await trainThroughPipe(t, await w.file('train', 'data.parquet'));
  await checkTrainFailure(t, run.tree, run.result, { code: 'UNSUPPORTED_CONTENT_TYPE', mentions: ['train_0', 'Parquet', 'FastFile'] });
  t.deepEqual(run.leftInSpill, [], 'no copy is left behind');
});

// ---------------------------------------------------------------------------
// 4. Scored channels and `linear test` in every format.

/** The metric lines of the scored channels. */
const scoredMetricLines = (stdout: string) => stdout.split('\n').filter((l) => /^(validation|test):|^#quality_metric: host=\S+, (validation|test) /.test(l));

/** Trains on the header CSV with validation and test channels holding `name` from the holdout set. */
async function scored(t: ExecutionContext, w: Written, name: string, contentType?: string): Promise<string[]> {
  const contents = await w.file('holdout', name);
  const channel = contentType ? { ContentType: contentType } : undefined;
  const { result } = await train(t, {
    ...(channel ? { inputDataConfig: { validation: channel, test: channel } } : {}),
    channels: { train: { 'data.csv': await w.file('train', 'with-header.csv') }, validation: { [name]: contents }, test: { [name]: contents } },
  });
  return scoredMetricLines(result.stdout);
}

let csvMetrics: Promise<string[]> | undefined;

for (const [name, contentType] of [
  ['dense-f64.pbr', undefined],
  ['sparse.pbr', 'application/x-recordio-protobuf'],
  ['data.libsvm', undefined],
  ['data.parquet', undefined],
] as const) {
  withPython(`validation and test channels in ${name} give the metric lines of CSV${NEEDS_PYTHON}`, async (t) => {
    const w = await data();
    csvMetrics ??= scored(t, w, 'with-header.csv');
    const [reference, lines] = await Promise.all([csvMetrics, scored(t, w, name, contentType)]);
    t.is(reference.length, 20, reference.join('\n'));
    t.deepEqual(lines, reference);
  });
}

/** `linear test` with the CSV model and `name` from the holdout set as the test channel. */
async function predict(t: ExecutionContext, w: Written, name: string): Promise<CliResult> {
  const { tree } = await baseline();
  const own = await makeMlTree({ model: await readFile(tree.modelFile, 'utf8'), channels: { test: { [name]: await w.file('holdout', name) } } }, t);
  return cli(['test'], { root: own.root });
}

const testMetrics = (stderr: string) => stderr.split('\n').filter((l) => /\btest:(mse|rmse|r2|mae)=/.test(l));

const csvPredictions = new Map<string, Promise<CliResult>>();

/** `linear test` on a CSV holdout file, once per run. */
function csvPredict(t: ExecutionContext, w: Written, name: string): Promise<CliResult> {
  let run = csvPredictions.get(name);
  if (run === undefined) {
    run = predict(t, w, name);
    csvPredictions.set(name, run);
  }
  return run;
}

for (const name of ['dense-f64.pbr', 'sparse.pbr', 'data.parquet']) {
  withPython(`linear test on labelled ${name} prints the predictions and metrics of CSV${NEEDS_PYTHON}`, async (t) => {
    const w = await data();
    const [csv, r] = await Promise.all([csvPredict(t, w, 'with-header.csv'), predict(t, w, name)]);
    t.is(csv.code, 0, describe(csv));
    t.is(csv.stdout.trim().split('\n').length, w.manifest.holdout.rows);
    t.is(testMetrics(csv.stderr).length, 4, csv.stderr);
    t.is(r.code, 0, describe(r));
    t.is(r.stdout, csv.stdout);
    t.deepEqual(testMetrics(r.stderr), testMetrics(csv.stderr));
  });
}

for (const name of ['features-f64.pbr', 'features.parquet']) {
  withPython(`linear test on unlabelled ${name} prints the predictions of CSV${NEEDS_PYTHON}`, async (t) => {
    const w = await data();
    const [labelled, csv, r] = await Promise.all([csvPredict(t, w, 'with-header.csv'), csvPredict(t, w, 'features.csv'), predict(t, w, name)]);
    t.is(csv.code, 0, describe(csv));
    t.is(csv.stdout, labelled.stdout, 'features alone predict as the labelled rows do');
    t.is(r.code, 0, describe(r));
    t.is(r.stdout, csv.stdout);
    t.deepEqual(testMetrics(r.stderr), [], 'no label, no metrics');
  });
}

// ---------------------------------------------------------------------------
// 6. Serving RecordIO-protobuf, libsvm and sniffed bodies.

let serving: Promise<RunningServer> | undefined;

function server(): Promise<RunningServer> {
  serving ??= (async () => startServer((await baseline()).tree.root))();
  return serving;
}

test.after.always(async () => {
  if (serving) await (await serving.catch(() => undefined))?.stop();
});

interface Answer {
  status: number;
  type: string | null;
  body: Buffer;
}

async function invoke(body: Buffer | string, headers: Record<string, string>): Promise<Answer> {
  const s = await server();
  const res = await fetch(`${s.url}/invocations`, { method: 'POST', body, headers });
  return { status: res.status, type: res.headers.get('content-type'), body: Buffer.from(await res.arrayBuffer()) };
}

const scores = (a: Answer): number[] => (JSON.parse(a.body.toString('utf8')) as { predictions: { score: number }[] }).predictions.map((p) => p.score);

/** JSON scores for the serve rows sent as CSV: what every other body must give. */
async function csvScores(w: Written): Promise<number[]> {
  const answer = await invoke(await w.file('serve', 'features.csv'), { 'Content-Type': 'text/csv', Accept: 'application/json' });
  if (answer.status !== 200) throw new Error(`CSV body: ${answer.status} ${answer.body.toString()}`);
  return scores(answer);
}

async function saveAnswer(t: ExecutionContext, answer: Answer, name: string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'linear-answers-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, name);
  await writeFile(file, answer.body);
  return file;
}

withPython(`RecordIO-protobuf bodies from the SDK (dense and sparse) answer RecordIO the SDK reads: one record per row, score = JSON score in float32${NEEDS_PYTHON}`, async (t) => {
  const w = await data();
  const expected = await csvScores(w);
  t.is(expected.length, w.manifest.serve.rows);
  const headers = { 'Content-Type': 'application/x-recordio-protobuf', Accept: 'application/x-recordio-protobuf' };
  const answers = await Promise.all(['dense.pbr', 'sparse.pbr'].map(async (name) => invoke(await w.file('serve', name), headers)));
  const files: string[] = [];
  for (const [i, a] of answers.entries()) {
    t.is(a.status, 200, a.body.toString());
    t.is(a.type, 'application/x-recordio-protobuf');
    files.push(await saveAnswer(t, a, `answer-${i}.pbr`));
  }
  if (answers.some((a) => a.status !== 200)) return;
  const decoded = await readRecords(files);
  for (const file of files) {
    const records = decoded[file];
    t.is(records.length, expected.length, `${path.basename(file)}: one record per row`);
    records.forEach((record, i) => {
      t.deepEqual(Object.keys(record.label), ['score']);
      t.is(record.label.score.type, 'float32_tensor');
      t.deepEqual(record.label.score.values, [Math.fround(expected[i])], `row ${i + 1}`);
      t.deepEqual(record.features, {}, 'no features in an answer');
    });
  }
  // The same bodies answered in JSON give the CSV scores exactly.
  for (const name of ['dense.pbr', 'sparse.pbr']) {
    const json = await invoke(await w.file('serve', name), { 'Content-Type': 'application/x-recordio-protobuf' });
    t.is(json.status, 200, json.body.toString());
    t.deepEqual(scores(json), expected, name);
  }
});

const INTERVAL_KEYS = ['score', 'standard_error', 'confidence_lower', 'confidence_upper', 'prediction_lower', 'prediction_upper'];

withPython(`RecordIO answers carry the interval bounds as further label keys, asked in Accept or a custom attribute${NEEDS_PYTHON}`, async (t) => {
  const w = await data();
  const dense = await w.file('serve', 'dense.pbr');
  const json = await invoke(await w.file('serve', 'features.csv'), { 'Content-Type': 'text/csv', Accept: 'application/json; intervals=0.95' });
  t.is(json.status, 200, json.body.toString());
  const bands = (JSON.parse(json.body.toString()) as { predictions: Record<string, number>[] }).predictions;
  t.deepEqual(Object.keys(bands[0]).sort(), [...INTERVAL_KEYS].sort());
  const viaAccept = await invoke(dense, { 'Content-Type': 'application/x-recordio-protobuf', Accept: 'application/x-recordio-protobuf; intervals=0.95' });
  const viaAttribute = await invoke(dense, {
    'Content-Type': 'application/x-recordio-protobuf',
    Accept: 'application/x-recordio-protobuf',
    'X-Amzn-SageMaker-Custom-Attributes': 'intervals=0.95',
  });
  const files: string[] = [];
  for (const [i, a] of [viaAccept, viaAttribute].entries()) {
    t.is(a.status, 200, a.body.toString());
    t.is(a.type, 'application/x-recordio-protobuf');
    files.push(await saveAnswer(t, a, `intervals-${i}.pbr`));
  }
  if (viaAccept.status !== 200 || viaAttribute.status !== 200) return;
  const decoded = await readRecords(files);
  for (const file of files) {
    const records = decoded[file];
    t.is(records.length, bands.length);
    records.forEach((record, i) => {
      t.deepEqual(Object.keys(record.label).sort(), [...INTERVAL_KEYS].sort(), `row ${i + 1}`);
      for (const key of INTERVAL_KEYS) {
        t.is(record.label[key].type, 'float32_tensor');
        t.deepEqual(record.label[key].values, [Math.fround(bands[i][key])], `row ${i + 1} ${key}`);
      }
    });
  }
});

withPython(`text/libsvm bodies, with or without a leading label, score like CSV${NEEDS_PYTHON}`, async (t) => {
  const w = await data();
  const expected = await csvScores(w);
  t.true(w.manifest.serve.zeros > 0, 'the rows have zeros, left out of libsvm');
  for (const name of ['labelled.libsvm', 'features.libsvm']) {
    const a = await invoke(await w.file('serve', name), { 'Content-Type': 'text/libsvm', Accept: 'application/json' });
    t.is(a.status, 200, `${name}: ${a.body.toString()}`);
    if (a.status === 200) t.deepEqual(scores(a), expected, name);
  }
});

withPython(`an application/octet-stream RecordIO body (the SDK's default predictor) is sniffed${NEEDS_PYTHON}`, async (t) => {
  const w = await data();
  const expected = await csvScores(w);
  const a = await invoke(await w.file('serve', 'dense.pbr'), { 'Content-Type': 'application/octet-stream', Accept: '*/*' });
  t.is(a.status, 200, a.body.toString());
  t.is(a.type, 'application/json');
  if (a.status === 200) t.deepEqual(scores(a), expected);
});

withPython(`a truncated RecordIO body is 400 MALFORMED_RECORD; /execution-parameters still answers${NEEDS_PYTHON}`, async (t) => {
  const w = await data();
  const dense = await w.file('serve', 'dense.pbr');
  const all = frames(dense);
  const cut = dense.subarray(0, all[1].offset + 8 + 5);
  const a = await invoke(cut, { 'Content-Type': 'application/x-recordio-protobuf', Accept: 'application/x-recordio-protobuf' });
  t.is(a.status, 400, a.body.toString());
  t.is(a.type, 'application/json');
  const error = JSON.parse(a.body.toString()) as { code: string; message: string };
  t.is(error.code, 'MALFORMED_RECORD');
  t.regex(error.message, /\brecord 2\b/);
  const s = await server();
  const params = await fetch(`${s.url}/execution-parameters`);
  t.is(params.status, 200);
  t.like(await params.json(), { BatchStrategy: 'MULTI_RECORD' });
  const ping = await fetch(`${s.url}/ping`);
  t.is(ping.status, 200);
});
