import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';
import { addAbortSignal, pipeline, type Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { ErrorCode, LinearError, systemErrorReason } from '../errors';

/** Large enough to amortise per-chunk parsing overhead, small enough to keep memory flat. */
export const DEFAULT_CHUNK_SIZE = 4 * 1024 * 1024;

export interface ReadFileChunksOptions {
  /** Aborting stops the read; the AbortError is rethrown as is for the caller to map. */
  signal?: AbortSignal;
  chunkSize?: number;
  /** How messages name the file, e.g. relative to the ml root; defaults to the path. */
  displayName?: string;
}

const GZIP_MAGIC = Buffer.from([0x1f, 0x8b]);

/**
 * Streams a file's bytes in chunks of about `chunkSize`, decompressing it on the
 * way if it starts with the gzip magic bytes (whatever its name or declared type).
 * The next chunk is read while the caller processes the current one.
 */
export async function* readFileChunks(file: string, opts: ReadFileChunksOptions = {}): AsyncGenerator<Buffer> {
  const name = opts.displayName ?? file;
  const { stream, gzipped } = await openBytes(file, name, opts.chunkSize ?? DEFAULT_CHUNK_SIZE);
  if (opts.signal !== undefined) addAbortSignal(opts.signal, stream);
  try {
    for await (const chunk of stream) yield chunk as Buffer;
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    if (gzipped && isZlibError(err)) {
      throw new LinearError(
        ErrorCode.CORRUPT_GZIP,
        `${name} starts like gzip but is corrupt or truncated: ${(err as Error).message}; ` +
          're-compress it or upload it uncompressed',
      );
    }
    throw unreadable(name, err);
  } finally {
    // Also runs when the caller stops early; destroying closes the file.
    stream.destroy();
  }
}

/** Opens the file once: the magic bytes are read in place, then the stream starts again at byte 0. */
async function openBytes(
  file: string,
  name: string,
  chunkSize: number,
): Promise<{ stream: Readable; gzipped: boolean }> {
  let handle: FileHandle;
  try {
    handle = await open(file, 'r');
  } catch (err) {
    throw unreadable(name, err);
  }
  try {
    // A file shorter than the magic leaves zeros in `head`, so it never matches.
    const head = Buffer.alloc(GZIP_MAGIC.length);
    await handle.read(head, 0, head.length, 0);
    const gzipped = head.equals(GZIP_MAGIC);
    const source = handle.createReadStream({ start: 0, highWaterMark: chunkSize });
    if (!gzipped) return { stream: source, gzipped };
    // The callback has nothing to add: pipeline destroys the gunzip stream with any
    // read or inflate error, and the loop in readFileChunks sees it there.
    const stream = pipeline(source, createGunzip({ chunkSize }), () => {});
    return { stream, gzipped };
  } catch (err) {
    await handle.close();
    throw unreadable(name, err);
  }
}

/** zlib reports bad or truncated data with Z_* codes (Z_DATA_ERROR, Z_BUF_ERROR, ...). */
function isZlibError(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' && code.startsWith('Z_');
}

function unreadable(name: string, err: unknown): LinearError {
  return new LinearError(ErrorCode.UNREADABLE_FILE, `cannot read ${name}: ${systemErrorReason(err)}`);
}
