import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';
import { addAbortSignal, pipeline, type Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { ErrorCode, LinearError, systemErrorReason } from '../errors';
import { sniffFormat } from '../native';

/** Large enough to amortise per-chunk parsing overhead, small enough to keep memory flat. */
export const DEFAULT_CHUNK_SIZE = 8 * 1024 * 1024;

export interface ReadFileChunksOptions {
  /** Aborting stops the read; the AbortError is rethrown as is for the caller to map. */
  signal?: AbortSignal;
  chunkSize?: number;
  /** How messages name the file, e.g. relative to the ml root; defaults to the path. */
  displayName?: string;
  /** After each chunk: bytes of the file read so far as stored (compressed bytes for gzip), for progress. */
  onStored?: (bytes: number) => void;
}

/** What a gzip file is read and inflated in. */
const GZIP_PIECE = 1024 * 1024;

/** Enough of a source's first bytes to tell gzip (and any other binary format) by its magic. */
export const MAGIC_BYTES = 4;

/**
 * Streams a file's bytes in chunks of about `chunkSize`, decompressing it on the
 * way if it starts with the gzip magic bytes (whatever its name or declared type).
 * The next chunk is read while the caller processes the current one. A chunk is
 * only valid until the caller asks for the next: plain files cycle through two
 * buffers, so memory stays flat and no page is faulted in twice.
 */
export async function* readFileChunks(file: string, opts: ReadFileChunksOptions = {}): AsyncGenerator<Buffer> {
  const name = opts.displayName ?? file;
  const chunkSize = opts.chunkSize ?? DEFAULT_CHUNK_SIZE;
  const opened = await openBytes(file, name, chunkSize);
  const onStored = opts.onStored ?? (() => undefined);
  if ('handle' in opened) yield* readPlain(opened.handle, name, chunkSize, opts.signal, onStored);
  else yield* readGzip(opened, name, opts.signal, onStored);
}

async function* readGzip(opened: Gzipped, name: string, signal: AbortSignal | undefined, onStored: (bytes: number) => void): AsyncGenerator<Buffer> {
  const { stream } = opened;
  if (signal !== undefined) addAbortSignal(signal, stream);
  try {
    for await (const chunk of stream) {
      onStored(opened.storedBytes());
      yield chunk as Buffer;
    }
  } catch (err) {
    throw inflateError(name, err);
  } finally {
    // Also runs when the caller stops early; destroying closes the file.
    stream.destroy();
  }
}

/** What went wrong inflating `name`: abort as is, corrupt gzip coded, anything else unreadable. */
export function inflateError(name: string, err: unknown): Error {
  if ((err as Error).name === 'AbortError' || err instanceof LinearError) return err as Error;
  if (isZlibError(err)) {
    // The source starts with the gzip magic, so a bad magic can only be where a
    // member ended and zlib read what follows (anything but zero padding) as the next.
    const trailing = (err as Error).message === 'incorrect header check';
    return new LinearError(
      ErrorCode.CORRUPT_GZIP,
      trailing
        ? `${name} has bytes after the end of its gzip data that are not gzip (trailing garbage or a damaged second member); ` +
            're-compress it or upload it uncompressed'
        : `${name} starts like gzip but is corrupt or truncated: ${(err as Error).message}; ` +
            're-compress it or upload it uncompressed',
    );
  }
  return unreadable(name, err);
}

/** Two buffers in turn: one with the chunk the caller holds, one being filled. */
async function* readPlain(
  handle: FileHandle,
  name: string,
  chunkSize: number,
  signal: AbortSignal | undefined,
  onStored: (bytes: number) => void,
): AsyncGenerator<Buffer> {
  const buffers = [Buffer.allocUnsafe(chunkSize), Buffer.allocUnsafe(chunkSize)];
  let position = 0;
  let turn = 0;
  let pending = handle.read(buffers[turn], 0, chunkSize, position);
  try {
    for (;;) {
      const { bytesRead } = await pending.catch((err: unknown) => {
        throw unreadable(name, err);
      });
      if (signal?.aborted) throw abortError(signal);
      if (bytesRead === 0) return;
      position += bytesRead;
      const filled = buffers[turn].subarray(0, bytesRead);
      turn = 1 - turn;
      pending = handle.read(buffers[turn], 0, chunkSize, position);
      onStored(position);
      yield filled;
    }
  } finally {
    await pending.catch(() => undefined);
    await handle.close();
  }
}

/** What a source is, found before it is read; a small plain file comes with its bytes. */
export interface PreparedSource {
  kind: 'pipe' | 'parquet' | 'stream';
  /** The whole file, when it is a plain (not gzip) regular file of at most one chunk. */
  whole: Buffer | null;
}

/**
 * Two buffers in turn for small files read whole, as a large file's chunks
 * are: one holds the file the core is parsing, the other the next file. A
 * channel of thousands of files then allocates two buffers, not one per file.
 */
export class SmallFileBuffers {
  private readonly buffers: Buffer[] = [];
  private turn = 0;

  constructor(readonly size: number = DEFAULT_CHUNK_SIZE) {}

  /** The buffer not given out last time: the caller is done with the one before that. */
  next(): Buffer {
    this.turn = 1 - this.turn;
    this.buffers[this.turn] ??= Buffer.allocUnsafe(this.size);
    return this.buffers[this.turn];
  }
}

/**
 * Tells a FIFO (opened once, by its reader), Parquet (read by path) and a
 * streamed file apart, and reads a small plain file whole. Blocking calls on
 * purpose: a channel of many small files calls this for the next file while
 * the core parses the current one on its own threads, and a few system calls
 * cost less than a wait on the thread pool for each of them.
 */
export function prepareSource(file: string, name: string, buffers: SmallFileBuffers): PreparedSource {
  let fd: number;
  try {
    // By name first: opening a FIFO would wait for its writer.
    if (statSync(file).isFIFO()) return { kind: 'pipe', whole: null };
    fd = openSync(file, 'r');
  } catch (err) {
    throw unreadable(name, err);
  }
  try {
    const stats = fstatSync(fd);
    const small = stats.isFile() && stats.size <= buffers.size;
    const head = small ? buffers.next().subarray(0, stats.size) : Buffer.allocUnsafe(MAGIC_BYTES);
    let filled = 0;
    for (let read = -1; read !== 0 && filled < head.length; filled += read) read = readSync(fd, head, filled, head.length - filled, filled);
    const sniffed = sniffFormat(head.subarray(0, Math.min(filled, MAGIC_BYTES)), true);
    if (sniffed === 'parquet') return { kind: 'parquet', whole: null };
    return { kind: 'stream', whole: small && sniffed !== 'gzip' ? head.subarray(0, filled) : null };
  } catch (err) {
    throw unreadable(name, err);
  } finally {
    closeSync(fd);
  }
}

/** A small file's bytes read ahead by {@link prepareSource}, as the one chunk {@link readFileChunks} would give. */
export async function* wholeFileChunks(bytes: Buffer, opts: Pick<ReadFileChunksOptions, 'signal' | 'onStored'>): AsyncGenerator<Buffer> {
  if (opts.signal?.aborted) throw abortError(opts.signal);
  opts.onStored?.(bytes.length);
  if (bytes.length > 0) yield bytes;
}

/** A gzip file being inflated, and how far into the compressed bytes its reader is. */
interface Gzipped {
  stream: Readable;
  storedBytes: () => number;
}

/**
 * Opens the file once and reads its magic bytes in place: a plain file is read
 * through its handle, a gzip file is streamed from byte 0 through gunzip.
 */

async function openBytes(file: string, name: string, chunkSize: number): Promise<{ handle: FileHandle } | Gzipped> {
  const { handle, sniffed } = await openSniffed(file, name);
  if (sniffed !== 'gzip') return { handle };
  try {
    // Smaller pieces than a plain file's: each stage of the pipe buffers a few of
    // them, and 1 MiB still parses on every core.
    const piece = Math.min(chunkSize, GZIP_PIECE);
    const source = handle.createReadStream({ start: 0, highWaterMark: piece });
    // The callback has nothing to add: pipeline destroys the gunzip stream with any
    // read or inflate error, and the loop in readFileChunks sees it there.
    return { stream: pipeline(source, createGunzip({ chunkSize: piece }), () => {}), storedBytes: () => source.bytesRead };
  } catch (err) {
    await handle.close();
    throw unreadable(name, err);
  }
}

/** Opens a file and sniffs its first bytes (see `sniffFormat`); the caller closes the handle. */
async function openSniffed(file: string, name: string): Promise<{ handle: FileHandle; sniffed: string | undefined }> {
  let handle: FileHandle;
  try {
    handle = await open(file, 'r');
  } catch (err) {
    throw unreadable(name, err);
  }
  try {
    const head = Buffer.alloc(MAGIC_BYTES);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    return { handle, sniffed: sniffFormat(head.subarray(0, bytesRead), true) };
  } catch (err) {
    await handle.close();
    throw unreadable(name, err);
  }
}

/** The same shape of error a stream gives when its signal aborts. */
function abortError(signal: AbortSignal): Error {
  const err = new Error('The operation was aborted', { cause: signal.reason });
  err.name = 'AbortError';
  return err;
}

/** zlib reports bad or truncated data with Z_* codes (Z_DATA_ERROR, Z_BUF_ERROR, ...). */
function isZlibError(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' && code.startsWith('Z_');
}

export function unreadable(name: string, err: unknown): LinearError {
  return new LinearError(ErrorCode.UNREADABLE_FILE, `cannot read ${name}: ${systemErrorReason(err)}`);
}
