/**
 * Feeds every file of a channel, in order, to a byte sink (trainer or
 * scorer), one chunk at a time: the next chunk is read while the native core
 * works on the current one, and memory stays flat whatever the file size.
 */
import { stat } from 'node:fs/promises';
import * as path from 'node:path';
import type { ByteSink, SourceSummary } from '../native';
import type { Progress } from '../report/progress';
import { readFileChunks } from './file-chunks';

export interface FileSummary extends SourceSummary {
  file: string;
  displayName: string;
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
    for (const [index, file] of files.entries()) {
      const displayName = path.relative(options.root, file) || file;
      const before = position;
      const onStored = (read: number) => {
        position = before + read;
      };
      sink.beginSource(displayName);
      for await (const chunk of readFileChunks(file, { signal: options.signal, displayName, onStored })) {
        await sink.push(chunk);
        bytes += chunk.length;
        progress?.update(state());
        if (options.keepGoing && !options.keepGoing()) {
          progress?.end({ position, bytes, rows });
          return summaries;
        }
      }
      const summary = sink.endSource();
      rows += summary.rows;
      position = before + (stored[index] ?? position - before);
      summaries.push({ ...summary, file, displayName });
    }
  } catch (err) {
    progress?.abandon();
    throw err;
  }
  progress?.end({ position, bytes, rows });
  return summaries;
}

/** A file's stored size; undefined when it cannot be read, which the read then reports properly. */
async function storedSize(file: string): Promise<number | undefined> {
  try {
    return (await stat(file)).size;
  } catch {
    return undefined;
  }
}
