/**
 * Pipe mode: a channel's bytes from its FIFO, inflated on the way when they
 * start with the gzip magic. The FIFO is opened blocking (on the libuv
 * pool), so the read waits for SageMaker to start writing instead of seeing
 * an empty stream as the end of the data.
 */
import { open } from 'node:fs/promises';
import { addAbortSignal, pipeline, Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { sniffFormat } from '../native';
import { DEFAULT_CHUNK_SIZE, MAGIC_BYTES, inflateError, unreadable } from './file-chunks';

export interface ReadPipeOptions {
  signal?: AbortSignal;
  displayName: string;
  /** Sees every byte as it came through the pipe (still compressed), e.g. to keep a copy for another pass. */
  onRaw?: (chunk: Buffer) => Promise<void>;
}

export async function* readPipeChunks(fifo: string, opts: ReadPipeOptions): AsyncGenerator<Buffer> {
  const name = opts.displayName;
  let handle;
  try {
    handle = await open(fifo, 'r');
  } catch (err) {
    throw unreadable(name, err);
  }
  const source = handle.createReadStream({ highWaterMark: DEFAULT_CHUNK_SIZE });
  if (opts.signal !== undefined) addAbortSignal(opts.signal, source);
  const raw = source[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  try {
    // The first bytes decide whether the stream is gzip; a pipe may deliver them a few at a time.
    const head: Buffer[] = [];
    let headBytes = 0;
    let done = false;
    while (headBytes < MAGIC_BYTES && !done) {
      const next = await raw.next().catch((err: unknown) => Promise.reject(unreadable(name, err)));
      if (next.done) done = true;
      else {
        head.push(next.value);
        headBytes += next.value.length;
        await opts.onRaw?.(next.value);
      }
    }
    const rest = async function* (): AsyncGenerator<Buffer> {
      yield* head;
      for (;;) {
        const next = await raw.next().catch((err: unknown) => Promise.reject(unreadable(name, err)));
        if (next.done) return;
        await opts.onRaw?.(next.value);
        yield next.value;
      }
    };
    if (sniffFormat(Buffer.concat(head).subarray(0, MAGIC_BYTES), true) !== 'gzip') {
      yield* rest();
      return;
    }
    const inflated = pipeline(Readable.from(rest()), createGunzip({ chunkSize: DEFAULT_CHUNK_SIZE }), () => {});
    try {
      for await (const chunk of inflated) yield chunk as Buffer;
    } catch (err) {
      throw inflateError(name, err);
    } finally {
      inflated.destroy();
    }
  } finally {
    source.destroy();
  }
}
