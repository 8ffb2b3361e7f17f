/**
 * Feeds every file of a channel, in order, to a byte sink (trainer or
 * scorer), one chunk at a time: the next chunk is read while the native core
 * works on the current one, and memory stays flat whatever the file size.
 */
import * as path from 'node:path';
import type { ByteSink, SourceSummary } from '../native';
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
}

export async function streamFiles(files: string[], sink: ByteSink, options: StreamOptions): Promise<FileSummary[]> {
  const summaries: FileSummary[] = [];
  for (const file of files) {
    const displayName = path.relative(options.root, file) || file;
    sink.beginSource(displayName);
    for await (const chunk of readFileChunks(file, { signal: options.signal, displayName })) {
      await sink.push(chunk);
      if (options.keepGoing && !options.keepGoing()) return summaries;
    }
    summaries.push({ ...sink.endSource(), file, displayName });
  }
  return summaries;
}
