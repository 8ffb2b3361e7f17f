import type { Dirent, Stats } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { ErrorCode, LinearError, systemErrorReason } from '../errors';
import type { ChannelConfig } from './config';
import type { MlPaths } from './paths';

/** The channel training fits. */
export const TRAIN_CHANNEL = 'train' as const;
/** The channels training scores with the fitted model, when their rows carry labels. */
export const SCORED_CHANNELS = ['validation', 'test'] as const;

/**
 * Every data file of a File/FastFile channel, or undefined when the channel was
 * not given. S3 prefixes may arrive as nested folders, so the walk is recursive;
 * the order is fixed so repeated runs read rows in the same order.
 */
export async function listChannelFiles(paths: MlPaths, channel: string): Promise<string[] | undefined> {
  const root = paths.channel(channel);
  let rootStats: Stats;
  try {
    rootStats = await stat(root);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw unreadable(root, err);
  }
  if (!rootStats.isDirectory()) {
    throw new LinearError(ErrorCode.UNREADABLE_FILE, `cannot read channel '${channel}': ${root} is not a directory`);
  }
  const relativePaths: string[] = [];
  await collectFiles(root, '', new Set([identity(rootStats)]), relativePaths);
  // The default sort compares UTF-16 code units, so the order does not depend on the locale.
  return relativePaths.sort().map((relative) => path.join(root, relative));
}

/**
 * Adds the regular files under `dir` to `out`. Symbolic links are followed because
 * mounts may use them; `ancestors` holds the directories on the current path so a
 * link back up the tree is not walked forever.
 */
async function collectFiles(dir: string, relativeDir: string, ancestors: ReadonlySet<string>, out: string[]) {
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    throw unreadable(dir, err);
  }
  for (const entry of entries) {
    // Hidden entries are tool droppings (.DS_Store, .ipynb_checkpoints), not data.
    if (entry.name.startsWith('.')) continue;
    const full = path.join(dir, entry.name);
    const relative = relativeDir === '' ? entry.name : `${relativeDir}/${entry.name}`;
    if (entry.isFile()) {
      out.push(relative);
    } else if (entry.isDirectory() || entry.isSymbolicLink()) {
      const stats = await statEntry(full);
      if (stats.isFile()) {
        out.push(relative);
      } else if (stats.isDirectory() && !ancestors.has(identity(stats))) {
        await collectFiles(full, relative, new Set([...ancestors, identity(stats)]), out);
      }
    }
  }
}

async function statEntry(file: string): Promise<Stats> {
  try {
    return await stat(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new LinearError(ErrorCode.UNREADABLE_FILE, `cannot read ${file}: it is a symbolic link to a missing file`);
    }
    throw unreadable(file, err);
  }
}

/** Device and inode: the same directory reached through different links has one identity. */
function identity(stats: Stats): string {
  return `${stats.dev}:${stats.ino}`;
}

function unreadable(file: string, err: unknown): LinearError {
  return new LinearError(ErrorCode.UNREADABLE_FILE, `cannot read ${file}: ${systemErrorReason(err)}`);
}

/** How long a Pipe-mode channel's FIFO may take to appear (SageMaker creates it as the job starts). */
const PIPE_WAIT_MS = Number(process.env.LINEAR_PIPE_WAIT_SECONDS ?? 120) * 1000;
const PIPE_POLL_MS = 100;

/**
 * The sources of a channel: its files in File and FastFile mode (undefined
 * when the channel was not given), or in Pipe mode the FIFO of epoch 0 only:
 * an exact fit reads every row once, and later epochs may reshuffle rows
 * between hosts. Waits for the FIFO to appear.
 */
export async function channelSources(paths: MlPaths, channel: string, cfg: ChannelConfig | undefined, signal?: AbortSignal): Promise<string[] | undefined> {
  if (cfg?.inputMode !== 'Pipe') return listChannelFiles(paths, channel);
  const fifo = paths.pipe(channel);
  const deadline = Date.now() + PIPE_WAIT_MS;
  for (;;) {
    const stats = await stat(fifo).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw unreadable(fifo, err);
    });
    if (stats !== undefined) return [fifo];
    if (Date.now() >= deadline || signal?.aborted) {
      throw new LinearError(
        ErrorCode.MISSING_CHANNEL,
        `channel '${channel}' is in Pipe mode but ${fifo} did not appear within ${PIPE_WAIT_MS / 1000} s; ` +
          'check the channel name and its S3 data, or use File or FastFile mode',
      );
    }
    await new Promise((resolve) => setTimeout(resolve, PIPE_POLL_MS));
  }
}
