/**
 * Feeds every source of a channel, in order, to a byte sink (trainer or
 * scorer), one chunk at a time: the next chunk is read while the native core
 * works on the current one, and memory stays flat whatever the file size.
 * Files that need random access (Parquet) are handed to the core by path;
 * Pipe-mode FIFOs are read once, optionally into a spill file that later
 * passes read instead.
 */
import { open, stat, type FileHandle } from 'node:fs/promises';
import * as path from 'node:path';
import { systemErrorReason } from '../errors';
import type { ByteSink, SourceSummary } from '../native';
import type { Progress } from '../report/progress';
import { prepareSource, readFileChunks, SmallFileBuffers, wholeFileChunks, type PreparedSource } from './file-chunks';
import { readPipeChunks } from './pipe-chunks';

export interface FileSummary extends SourceSummary {
  file: string;
  displayName: string;
  /** Bytes as stored (compressed for gzip), read from the file or pipe. */
  storedBytes: number;
}

/** Where a pipe's bytes were kept for another pass, and how many. */
export interface Spill {
  fifo: string;
  file: string;
  bytes: number;
}

export interface StreamOptions {
  /** Names files in messages, e.g. relative to the ml root. */
  root: string;
  signal?: AbortSignal;
  /** Return false to stop after the current chunk (e.g. nothing left to learn). */
  keepGoing?: () => boolean;
  /** Reports bytes, rows and throughput while reading, and a final line for the pass. */
  progress?: Progress;
  /** Rows so far, for the progress lines, when the sink counts them as it goes. */
  rows?: () => number;
  /** How messages name a source, when not by its path under the root (a spill names its pipe). */
  displayName?: (file: string) => string | undefined;
  /** Called after each source is read whole (a checkpoint may be written then). */
  afterSource?: () => Promise<void>;
  /** Keeps each FIFO's bytes in this directory (for another pass); the spills are added here. */
  spill?: { dir: string; spills: Spill[]; log: (line: string) => void };
}

export async function streamFiles(files: string[], sink: ByteSink, options: StreamOptions): Promise<FileSummary[]> {
  const { progress } = options;
  const stored = progress ? await Promise.all(files.map(storedSize)) : [];
  const total = stored.every((s) => s !== undefined) ? stored.reduce((sum: number, s) => sum + (s ?? 0), 0) : undefined;
  progress?.begin(total);
  const summaries: FileSummary[] = [];
  // position: stored bytes consumed (compressed bytes for gzip); bytes: what the parser got.
  let position = 0;
  let bytes = 0;
  let rows = 0;
  const state = () => ({ position, bytes, rows: options.rows?.() ?? rows });
  try {
    const nameOf = (file: string) => options.displayName?.(file) ?? (path.relative(options.root, file) || file);
    // The next file, prepared while the core parses a small file's bytes.
    let ahead: (() => PreparedSource) | undefined;
    const buffers = new SmallFileBuffers();
    for (const [index, file] of files.entries()) {
      const displayName = nameOf(file);
      const before = position;
      const onStored = (read: number) => {
        position = before + read;
      };
      const { kind, whole } = (ahead ?? (() => prepareSource(file, displayName, buffers)))();
      ahead = undefined;
      let summary: SourceSummary;
      if (kind === 'parquet') {
        summary = await sink.readFile(file, displayName);
        bytes += stored[index] ?? 0;
      } else {
        const spill = kind === 'pipe' && options.spill ? await openSpill(file, options.spill) : undefined;
        const chunks =
          kind === 'pipe'
            ? readPipeChunks(file, { signal: options.signal, displayName, ...(spill ? { onRaw: spill.write } : {}) })
            : whole !== null
              ? wholeFileChunks(whole, { signal: options.signal, onStored })
              : readFileChunks(file, { signal: options.signal, displayName, onStored });
        sink.beginSource(displayName);
        let sourceBytes = 0;
        try {
          for await (const chunk of chunks) {
            const pushed = sink.push(chunk);
            if (whole !== null && index + 1 < files.length) ahead = prepareAhead(files[index + 1], nameOf(files[index + 1]), buffers);
            await pushed;
            bytes += chunk.length;
            sourceBytes += chunk.length;
            if (kind === 'pipe') position = before + sourceBytes;
            progress?.update(state());
            if (options.keepGoing && !options.keepGoing()) {
              progress?.end(state());
              return summaries;
            }
          }
        } finally {
          await spill?.close();
        }
        summary = sink.endSource();
      }
      rows += summary.rows;
      position = before + (stored[index] ?? position - before);
      summaries.push({ ...summary, file, displayName, storedBytes: position - before });
      await options.afterSource?.();
    }
  } catch (err) {
    progress?.abandon();
    throw err;
  }
  progress?.end({ position, bytes, rows });
  return summaries;
}

/** A file's stored size; undefined for a FIFO, or when it cannot be read, which the read then reports properly. */
async function storedSize(file: string): Promise<number | undefined> {
  try {
    const stats = await stat(file);
    return stats.isFIFO() ? undefined : stats.size;
  } catch {
    return undefined;
  }
}

/** Prepares a source now; an error it meets is thrown when the source's turn comes. */
function prepareAhead(file: string, name: string, buffers: SmallFileBuffers): () => PreparedSource {
  try {
    const prepared = prepareSource(file, name, buffers);
    return () => prepared;
  } catch (err) {
    return () => {
      throw err;
    };
  }
}

/**
 * A file that keeps a pipe's bytes as they pass, for a pass that needs them
 * again. When the disk fills, the copy is dropped (and said so): the pass
 * that reads it still goes on, and only a later pass would fail.
 */
async function openSpill(fifo: string, spill: NonNullable<StreamOptions['spill']>): Promise<{ write: (chunk: Buffer) => Promise<void>; close: () => Promise<void> }> {
  const file = path.join(spill.dir, `${path.basename(fifo)}.${process.pid}.spill`);
  const entry: Spill = { fifo, file, bytes: 0 };
  spill.spills.push(entry);
  let handle: FileHandle | undefined;
  const drop = async (err: unknown) => {
    await handle?.close().catch(() => undefined);
    handle = undefined;
    entry.bytes = -1;
    spill.log(`could not keep a copy of ${fifo} in ${spill.dir} (${systemErrorReason(err)}); a second pass over it will not be possible`);
  };
  try {
    handle = await open(file, 'w');
  } catch (err) {
    await drop(err);
  }
  return {
    write: async (chunk) => {
      if (handle === undefined) return;
      try {
        await handle.write(chunk);
        entry.bytes += chunk.length;
      } catch (err) {
        await drop(err);
      }
    },
    close: async () => {
      await handle?.close();
      handle = undefined;
    },
  };
}
