import test, { type ExecutionContext } from 'ava';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { listChannelFiles } from '../src/contract/channels';
import { channelFormat } from '../src/contract/channel-format';
import {
  readInputDataConfig,
  readResourceConfig,
  type ChannelConfig,
} from '../src/contract/config';
import { mlPaths, type MlPaths } from '../src/contract/paths';
import { ErrorCode, LinearError } from '../src/errors';
import { readFileChunks, type ReadFileChunksOptions } from '../src/readers/file-chunks';

async function tempDir(t: ExecutionContext, prefix: string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function mlTree(t: ExecutionContext): Promise<MlPaths> {
  return mlPaths(await tempDir(t, 'linear-ml-'));
}

async function writeFiles(root: string, files: Record<string, string | Buffer>): Promise<void> {
  for (const [relative, content] of Object.entries(files)) {
    const file = path.join(root, relative);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, content);
  }
}

async function readAll(file: string, opts?: ReadFileChunksOptions): Promise<{ bytes: Buffer; chunks: number }> {
  const parts: Buffer[] = [];
  for await (const chunk of readFileChunks(file, opts)) parts.push(chunk);
  return { bytes: Buffer.concat(parts), chunks: parts.length };
}

// listChannelFiles

test('a channel lists every file below it, recursively, in code-unit order', async (t) => {
  const paths = await mlTree(t);
  const train = paths.channel('train');
  await writeFiles(train, {
    'b.csv': '1,2\n',
    'a/z.csv': '1,2\n',
    'a/b/c.csv': '1,2\n',
    'B.csv': '1,2\n',
    'a-1.csv': '1,2\n',
  });
  const files = await listChannelFiles(paths, 'train');
  t.deepEqual(
    files?.map((file) => path.relative(train, file)),
    ['B.csv', 'a-1.csv', 'a/b/c.csv', 'a/z.csv', 'b.csv'],
  );
  t.true(files?.every((file) => path.isAbsolute(file)));
});

test('hidden files and hidden directories are skipped', async (t) => {
  const paths = await mlTree(t);
  const train = paths.channel('train');
  await writeFiles(train, {
    'data.csv': '1,2\n',
    '.DS_Store': 'x',
    '.ipynb_checkpoints/data-checkpoint.csv': '1,2\n',
    'part/.hidden.csv': '1,2\n',
    'part/shown.csv': '1,2\n',
  });
  const files = await listChannelFiles(paths, 'train');
  t.deepEqual(files?.map((file) => path.relative(train, file)), ['data.csv', 'part/shown.csv']);
});

test('symbolic links to files and directories are followed, without looping on cycles', async (t) => {
  const paths = await mlTree(t);
  const train = paths.channel('train');
  const elsewhere = await tempDir(t, 'linear-elsewhere-');
  await writeFiles(elsewhere, { 'linked.csv': '1,2\n', 'dir/inner.csv': '1,2\n' });
  await writeFiles(train, { 'own.csv': '1,2\n' });
  await symlink(path.join(elsewhere, 'linked.csv'), path.join(train, 'file-link.csv'));
  await symlink(path.join(elsewhere, 'dir'), path.join(train, 'dir-link'));
  await symlink(train, path.join(train, 'loop'));
  const files = await listChannelFiles(paths, 'train');
  t.deepEqual(files?.map((file) => path.relative(train, file)), ['dir-link/inner.csv', 'file-link.csv', 'own.csv']);
});

test('a missing channel is undefined and an empty one is an empty list', async (t) => {
  const paths = await mlTree(t);
  t.is(await listChannelFiles(paths, 'train'), undefined);
  await mkdir(paths.channel('validation'), { recursive: true });
  t.deepEqual(await listChannelFiles(paths, 'validation'), []);
});

test('a broken symbolic link is reported, not skipped', async (t) => {
  const paths = await mlTree(t);
  const train = paths.channel('train');
  await mkdir(train, { recursive: true });
  await symlink(path.join(train, 'gone.csv'), path.join(train, 'data.csv'));
  const err = await t.throwsAsync(listChannelFiles(paths, 'train'), { instanceOf: LinearError });
  t.is(err?.code, ErrorCode.UNREADABLE_FILE);
  t.regex(err?.message ?? '', /data\.csv: it is a symbolic link to a missing file/);
});

test('a channel that is a file, not a directory, is unreadable', async (t) => {
  const paths = await mlTree(t);
  await writeFiles(paths.dataDir, { train: '1,2\n' });
  const err = await t.throwsAsync(listChannelFiles(paths, 'train'), { instanceOf: LinearError });
  t.is(err?.code, ErrorCode.UNREADABLE_FILE);
  t.regex(err?.message ?? '', /is not a directory/);
});

// readFileChunks

test('a plain file comes back byte for byte', async (t) => {
  const dir = await tempDir(t, 'linear-read-');
  const file = path.join(dir, 'data.csv');
  await writeFile(file, '1,2\n3,4\n');
  t.is((await readAll(file)).bytes.toString(), '1,2\n3,4\n');
});

test('an empty file yields no chunks', async (t) => {
  const dir = await tempDir(t, 'linear-read-');
  const file = path.join(dir, 'empty.csv');
  await writeFile(file, '');
  t.is((await readAll(file)).chunks, 0);
});

test('a gzip file is decompressed whatever its name', async (t) => {
  const dir = await tempDir(t, 'linear-read-');
  const file = path.join(dir, 'data.csv');
  const text = '1,2\n3,4\n'.repeat(1000);
  await writeFile(file, gzipSync(text));
  t.is((await readAll(file)).bytes.toString(), text);
});

test('the stored position is reported after each chunk: bytes of a plain file, compressed bytes of a gzip file', async (t) => {
  const dir = await tempDir(t, 'linear-read-');
  // Random hex does not compress much, so the gzip file is read in several chunks.
  const text = Array.from({ length: 20 }, () => randomBytes(16 * 1024).toString('hex')).join('\n');
  for (const [name, bytes] of [['plain.csv', Buffer.from(text)], ['packed.csv.gz', gzipSync(text)]] as const) {
    const file = path.join(dir, name);
    await writeFile(file, bytes);
    const positions: number[] = [];
    for await (const chunk of readFileChunks(file, { chunkSize: 64 * 1024, onStored: (n) => positions.push(n) })) t.true(chunk.length > 0);
    t.true(positions.length >= 3, `${name}: ${positions.join(', ')}`);
    t.true(positions.every((p, i) => i === 0 || p >= positions[i - 1]), `${name}: ${positions.join(', ')}`);
    t.true(positions[0] < bytes.length, `${name}: the first chunk reports part of the file`);
    t.is(positions.at(-1), bytes.length, name);
  }
});

test('a multi-member gzip file decompresses to all members in order', async (t) => {
  const dir = await tempDir(t, 'linear-read-');
  const file = path.join(dir, 'data.csv.gz');
  await writeFile(file, Buffer.concat([gzipSync('1,2\n'), gzipSync('3,4\n'), gzipSync('5,6\n')]));
  t.is((await readAll(file)).bytes.toString(), '1,2\n3,4\n5,6\n');
});

test('a corrupt gzip file is CORRUPT_GZIP', async (t) => {
  const dir = await tempDir(t, 'linear-read-');
  const compressed = gzipSync('1,2\n3,4\n'.repeat(1000));
  const damaged = Buffer.from(compressed);
  damaged.fill(0xff, 10, 30);
  const truncated = compressed.subarray(0, compressed.length / 2);
  for (const [name, bytes] of [['damaged.csv.gz', damaged], ['truncated.csv.gz', truncated]] as const) {
    const file = path.join(dir, name);
    await writeFile(file, bytes);
    const err = await t.throwsAsync(readAll(file, { displayName: `train/${name}` }), { instanceOf: LinearError });
    t.is(err?.code, ErrorCode.CORRUPT_GZIP, name);
    const expected = new RegExp(`^train/${name} starts like gzip but is corrupt or truncated: .+; re-compress`);
    t.regex(err?.message ?? '', expected);
  }
});

test('a directory where a file is expected is UNREADABLE_FILE: it is a directory, not a file', async (t) => {
  const dir = await tempDir(t, 'linear-read-');
  const file = path.join(dir, 'subdir');
  await mkdir(file);
  const err = await t.throwsAsync(readAll(file, { displayName: 'train/x.csv' }), { instanceOf: LinearError });
  t.is(err?.code, ErrorCode.UNREADABLE_FILE);
  t.is(err?.message, 'cannot read train/x.csv: it is a directory, not a file');
});

// Root reads a mode-000 file anyway, so there the case cannot be made: it is
// registered as skipped, with the reason in its name, never counted as passed.
const AS_ROOT = process.getuid?.() === 0;
const testUnlessRoot = AS_ROOT ? test.skip : test;
const SKIPPED_AS_ROOT = AS_ROOT ? ' (skipped: running as root, which reads a mode-000 file anyway)' : '';

testUnlessRoot(`a file without read permission is UNREADABLE_FILE: permission denied${SKIPPED_AS_ROOT}`, async (t) => {
  const dir = await tempDir(t, 'linear-read-');
  const file = path.join(dir, 'locked.csv');
  await writeFile(file, '1,2\n');
  await chmod(file, 0o000);
  const err = await t.throwsAsync(readAll(file, { displayName: 'train/x.csv' }), { instanceOf: LinearError });
  t.is(err?.code, ErrorCode.UNREADABLE_FILE);
  t.is(err?.message, 'cannot read train/x.csv: permission denied');
});

test('a missing file is UNREADABLE_FILE naming it by its path', async (t) => {
  const dir = await tempDir(t, 'linear-read-');
  const file = path.join(dir, 'gone.csv');
  const err = await t.throwsAsync(readAll(file), { instanceOf: LinearError });
  t.is(err?.code, ErrorCode.UNREADABLE_FILE);
  t.is(err?.message, `cannot read ${file}: no such file or directory`);
});

test('a large file arrives in several chunks of at most chunkSize', async (t) => {
  const dir = await tempDir(t, 'linear-read-');
  const bytes = randomBytes(1024 * 1024 + 123);
  bytes[0] = 0x31; // never the gzip magic, so the bytes pass through untouched
  const chunkSize = 64 * 1024;
  const plain = path.join(dir, 'large.bin');
  const gzipped = path.join(dir, 'large.bin.gz');
  await writeFile(plain, bytes);
  await writeFile(gzipped, gzipSync(bytes));
  for (const file of [plain, gzipped]) {
    const sizes: number[] = [];
    const parts: Buffer[] = [];
    for await (const chunk of readFileChunks(file, { chunkSize })) {
      sizes.push(chunk.length);
      // A chunk is valid until the next is asked for: keep a copy.
      parts.push(Buffer.from(chunk));
    }
    t.true(sizes.length >= 17, `${file}: ${sizes.length} chunks`);
    t.true(sizes.every((size) => size <= chunkSize), file);
    t.true(Buffer.concat(parts).equals(bytes), file);
  }
});

test('aborting the signal stops the read with an AbortError', async (t) => {
  const dir = await tempDir(t, 'linear-read-');
  const file = path.join(dir, 'large.csv');
  await writeFile(file, Buffer.alloc(1024 * 1024, '1,2\n'));
  const controller = new AbortController();
  let chunks = 0;
  const err = await t.throwsAsync(async () => {
    for await (const chunk of readFileChunks(file, { chunkSize: 16 * 1024, signal: controller.signal })) {
      t.true(chunk.length > 0);
      chunks += 1;
      if (chunks === 2) controller.abort();
    }
  });
  t.is(err?.name, 'AbortError');
  t.is(chunks, 2);
});

// inputdataconfig.json and resourceconfig.json

test('channel format: every declared type maps to its decoder, gzip and generic types sniff', (t) => {
  const cases: [string | undefined, string | undefined][] = [
    [undefined, undefined],
    ['text/csv', 'csv'],
    ['csv', 'csv'],
    ['Text/CSV;Label_Size=1', 'csv'],
    ['text/csv; charset=utf-8', 'csv'],
    ['text/libsvm', 'libsvm'],
    ['application/x-recordio-protobuf', 'recordio-protobuf'],
    ['application/x-parquet', 'parquet'],
    ['application/x-gzip', undefined],
    ['application/gzip', undefined],
    ['application/octet-stream', undefined],
  ];
  for (const [contentType, format] of cases) {
    const cfg: ChannelConfig = { inputMode: 'File', distribution: 'FullyReplicated', recordWrapper: 'None', ...(contentType === undefined ? {} : { contentType }) };
    t.is(channelFormat('train', cfg, { training: true }).format, format, String(contentType));
  }
  const csv = channelFormat('train', { inputMode: 'Pipe', distribution: 'FullyReplicated', recordWrapper: 'RecordIO', contentType: 'text/csv;header=present' }, { training: true, labelColumn: 'y' });
  t.deepEqual(csv, { format: 'csv', header: true, unwrapRecords: true, labelColumn: 'y' });
  t.is(channelFormat('train', { inputMode: 'File', distribution: 'FullyReplicated', recordWrapper: 'None', contentType: 'text/libsvm; zero_based=true' }, { training: true }).zeroBased, true);
});

test('channel format: unread types, label-less training CSV and bad parameters are UNSUPPORTED_CONTENT_TYPE', (t) => {
  const format = (contentType: string, training = true) => () =>
    channelFormat('train', { inputMode: 'File', distribution: 'FullyReplicated', recordWrapper: 'None', contentType }, { training });
  const cases: [string, RegExp][] = [
    ['application/x-image', /declare one of text\/csv, text\/libsvm, application\/x-recordio-protobuf, application\/x-parquet/],
    ['text/csv;label_size=0', /label, in the first column/],
    ['text/csv;header=maybe', /header=present or header=absent/],
    ['text/libsvm;zero_based=yes', /zero_based=true or false/],
    ['text/csv; charset=utf-16', /charset=utf-16/],
  ];
  for (const [contentType, message] of cases) {
    const err = t.throws(format(contentType), { instanceOf: LinearError }, contentType);
    t.is(err?.code, ErrorCode.UNSUPPORTED_CONTENT_TYPE, contentType);
    t.regex(err?.message ?? '', message, contentType);
  }
  t.notThrows(format('text/csv;label_size=0', false), 'a scored channel may carry features only');
});

test('readInputDataConfig reads modes, distributions and content types, defaulting to File and FullyReplicated', async (t) => {
  const paths = await mlTree(t);
  t.deepEqual(await readInputDataConfig(paths), {});
  await writeFiles(path.dirname(paths.config.inputData), {
    'inputdataconfig.json': JSON.stringify({
      train: { ContentType: 'text/csv', TrainingInputMode: 'File', S3DistributionType: 'ShardedByS3Key' },
      validation: {},
    }),
  });
  t.deepEqual(await readInputDataConfig(paths), {
    train: { contentType: 'text/csv', inputMode: 'File', distribution: 'ShardedByS3Key', recordWrapper: 'None' },
    validation: { inputMode: 'File', distribution: 'FullyReplicated', recordWrapper: 'None' },
  });
});

test('readInputDataConfig rejects an unknown input mode', async (t) => {
  const paths = await mlTree(t);
  await writeFiles(path.dirname(paths.config.inputData), {
    'inputdataconfig.json': JSON.stringify({ train: { TrainingInputMode: 'Stream' } }),
  });
  const err = await t.throwsAsync(readInputDataConfig(paths), { instanceOf: LinearError });
  t.is(err?.code, ErrorCode.INVALID_CONFIG);
  t.regex(err?.message ?? '', /channel 'train' has TrainingInputMode "Stream"/);
});

test('readResourceConfig defaults to one host and checks the file it is given', async (t) => {
  const paths = await mlTree(t);
  t.deepEqual(await readResourceConfig(paths), { currentHost: 'algo-1', hosts: ['algo-1'] });
  const configDir = path.dirname(paths.config.resource);
  await writeFiles(configDir, {
    'resourceconfig.json': JSON.stringify({ current_host: 'algo-2', hosts: ['algo-1', 'algo-2'], extra: 1 }),
  });
  t.deepEqual(await readResourceConfig(paths), { currentHost: 'algo-2', hosts: ['algo-1', 'algo-2'] });
  await writeFiles(configDir, { 'resourceconfig.json': JSON.stringify({ current_host: 'algo-3', hosts: ['algo-1'] }) });
  const err = await t.throwsAsync(readResourceConfig(paths), { instanceOf: LinearError });
  t.is(err?.code, ErrorCode.INVALID_CONFIG);
});
