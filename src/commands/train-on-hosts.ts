/**
 * Training on several hosts (instance_count > 1). Each host reads its share
 * of the train channel (its own shard, or its part of replicated files),
 * reduces every file to a factor state and sends the states to the leader,
 * which merges them in the order one host would have read the files: the
 * model is bit-for-bit the one a single host fits on all the data.
 *
 * Steps, each a gather at the leader and one reply to every worker:
 *   start:  every host has joined (so a failure from here on reaches all).
 *   basis:  each host's first rows fix a basis; the job takes that of the
 *           first file (in listing order) with rows, and its header.
 *   pass N: each host's states; the leader merges and solves, and replies
 *           "extended" (every host reads its share again in double-double)
 *           or, once the model is written, "done".
 */
import { stat } from 'node:fs/promises';
import { joinCluster, type Cluster, type Topology } from '../cluster';
import type { ChannelConfig, Distribution } from '../contract/config';
import { SCORED_CHANNELS, TRAIN_CHANNEL } from '../contract/channels';
import type { Hyperparameters } from '../contract/hyperparameters';
import { ErrorCode, LinearError } from '../errors';
import type { Basis, NativeFit, Trainer, Training } from '../native';
import type { FileSummary } from '../readers/channel-stream';
import type { Checkpoints } from './checkpoints';
import type { RunContext } from './context';

/** What a host needs to read its share: a fresh trainer, and a way to stream files into one. */
export interface HostReading {
  files: string[];
  distribution: Distribution;
  newTrainer: () => Trainer;
  /** Streams `files` into `trainer` (a progress label, when to stop early, what to do after each file). */
  stream: (
    files: string[],
    trainer: Trainer,
    pass: { label: string; keepGoing?: () => boolean; afterSource?: () => Promise<void>; signal: AbortSignal },
  ) => Promise<FileSummary[]>;
  /** This host's checkpoints of its share, when the job has a CheckpointConfig. */
  checkpoints: (share: string[]) => Promise<Checkpoints | undefined>;
}

/** The leader's fit: the caller writes the model, then releases the workers (or fails the job). */
export interface LeaderFit {
  trainer: Trainer;
  fit: NativeFit;
  training: Training;
  /** After the model is written: tells the workers, and waits for their goodbyes. */
  release(): Promise<void>;
  /** Something failed after the fit (scoring, writing): every host fails with it. */
  fail(err: unknown): Promise<void>;
}

/**
 * What several hosts cannot do yet, refused on every host before any data
 * is read (each host reads the same configuration, so all refuse alike).
 */
export function checkSeveralHosts(hosts: string[], channels: Record<string, ChannelConfig>, h: Hyperparameters): void {
  if (hosts.length < 2) return;
  const refuse = (what: string, fix: string) =>
    new LinearError(ErrorCode.UNSUPPORTED_DISTRIBUTION, `${what} on ${hosts.length} hosts (${hosts.join(', ')}) is not supported; ${fix}`);
  if (channels[TRAIN_CHANNEL]?.inputMode === 'Pipe') {
    throw refuse(`Pipe mode for channel '${TRAIN_CHANNEL}'`, 'use File or FastFile mode (every host then reads its files by name, which fixes their order)');
  }
  if ([h.l2, h.l1, h.wd].includes('auto')) {
    throw refuse('cross-validating a penalty (auto)', 'train on one instance, or give the penalty as a number');
  }
  if (h.robustSe !== undefined) {
    throw refuse('robust standard errors (robust_se)', 'train on one instance, or leave robust_se unset');
  }
  if (h.residualDiagnostics === 'exact') {
    throw refuse('exact residual diagnostics (residual_diagnostics=exact)', 'train on one instance, or set residual_diagnostics to auto (estimated from a sample of rows)');
  }
  const sharded = SCORED_CHANNELS.find((name) => channels[name]?.distribution === 'ShardedByS3Key');
  if (sharded !== undefined) {
    throw refuse(`a ShardedByS3Key '${sharded}' channel`, `set its S3DataDistributionType to FullyReplicated (the leader scores all of '${sharded}' with the merged model)`);
  }
}

/**
 * This host's files. Sharded: all of its own. Replicated: every host lists
 * the same files, so each takes a contiguous run of them, balanced by size
 * (a file goes to the host whose share holds its middle byte).
 */
export async function shareOf(files: string[], distribution: Distribution, topology: Topology): Promise<string[]> {
  if (distribution === 'ShardedByS3Key') return files;
  const hosts = topology.hosts.length;
  const me = topology.hosts.indexOf(topology.current);
  const sizes = await Promise.all(files.map(async (file) => (await stat(file)).size));
  const total = sizes.reduce((sum, size) => sum + size, 0);
  let start = 0;
  return files.filter((_, i) => {
    const middle = start + sizes[i] / 2;
    start += sizes[i];
    const owner = total === 0 ? i % hosts : Math.min(hosts - 1, Math.floor((middle * hosts) / total));
    return owner === me;
  });
}

/** The leader's fit, or undefined on a worker once the leader has written the model. */
export async function fitOnHosts(topology: Topology, reading: HostReading, ctx: RunContext): Promise<LeaderFit | undefined> {
  const cluster = await joinCluster(topology, { log: ctx.log, signal: ctx.signal });
  let step = 'share';
  let pass = 0;
  let stopped: () => Promise<void> | undefined = () => undefined;
  const fail = async (err: unknown) => {
    await cluster.fail(step, err);
  };
  try {
    // No host starts work before every host has joined: a failure can then reach them all.
    step = 'start';
    if (cluster.isLeader) {
      await cluster.gather(step, pack({}));
      cluster.reply(step, pack({}));
    } else {
      await cluster.send(step, pack({}));
    }
    const share = await shareOf(reading.files, reading.distribution, topology);
    const bytes = await storedBytes(share);
    ctx.log(`${topology.current} reads ${share.length} of the ${reading.distribution === 'ShardedByS3Key' ? 'files of its shard' : `${reading.files.length} replicated files`} (${(bytes / 1e6).toFixed(1)} MB)`);
    const signal = AbortSignal.any([ctx.signal, cluster.signal]);

    step = 'basis';
    const probe = reading.newTrainer();
    await reading.stream(share, probe, { label: 'first rows', keepGoing: () => probe.basis === null, signal });
    const basis = await agree(cluster, step, probe.basis, reading.files.length);
    const trainer = reading.newTrainer();
    trainer.join(basis.shift, basis.header ?? null);
    // Only the first pass is checkpointed: the later ones follow the leader, whose decision is not kept.
    const checkpoints = await reading.checkpoints(share);
    const skip = (await checkpoints?.resume(trainer))?.sourcesDone ?? 0;
    stopped = () => (pass === 1 ? checkpoints?.save(trainer) : undefined);

    for (pass = 1; ; pass += 1) {
      step = `pass ${pass}`;
      const files = pass === 1 ? share.slice(skip) : share;
      const afterSource = pass === 1 && checkpoints ? () => checkpoints.afterSource(trainer) : undefined;
      const label = pass === 1 ? `channel '${TRAIN_CHANNEL}'` : `channel '${TRAIN_CHANNEL}', extended-precision pass`;
      await reading.stream(files, trainer, { label, signal, ...(afterSource ? { afterSource } : {}) });
      // The leader merges its own state in place; the workers send theirs.
      const mine = pack({ rows: trainer.rows, bytes }, cluster.isLeader ? undefined : trainer.state());
      if (!cluster.isLeader) {
        const { meta } = unpack(await cluster.send(step, mine));
        if (meta.next === 'done') {
          ctx.log(`the leader ${topology.leader} wrote the model`);
          await cluster.close();
          return undefined;
        }
        ctx.log(`the leader ${topology.leader} asked for an extended-precision pass; reading this host's share again`);
        trainer.follow(String(meta.next));
        continue;
      }
      const all = await cluster.gather(step, mine);
      const others = [...all].filter(([host]) => host !== topology.current).map(([host, payload]) => ({ host, state: unpack(payload).body }));
      const fit = await trainer.finishWith(others);
      if (fit === null) {
        ctx.log('the data is ill-conditioned for a one-pass f64 solution; every host reads its share again for an extended-precision factorisation');
        cluster.reply(step, pack({ next: trainer.nextPass }));
        trainer.startNextPass();
        continue;
      }
      const training: Training = {
        distribution: reading.distribution,
        hosts: [...all].map(([host, payload]) => {
          const { meta } = unpack(payload);
          return { host, rows: Number(meta.rows), bytes: Number(meta.bytes) };
        }),
      };
      const last = step;
      return {
        trainer,
        fit,
        training,
        release: async () => {
          cluster.reply(last, pack({ next: 'done' }));
          await cluster.close();
        },
        fail,
      };
    }
  } catch (caught) {
    // A read stopped because another host failed reports that failure, not the abort.
    const err: unknown = cluster.signal.aborted ? cluster.signal.reason : caught;
    if (ctx.signal.aborted) await stopped();
    await fail(err);
    throw err;
  }
}

/** The files' sizes as stored, summed (a pipe counts 0). */
export async function storedBytes(files: string[]): Promise<number> {
  const sizes = await Promise.all(files.map(async (file) => (await stat(file)).size));
  return sizes.reduce((sum, size) => sum + size, 0);
}

/** Every host's basis to the leader; the job's is that of the first file with rows. */
async function agree(cluster: Cluster, step: string, mine: Basis | null, files: number): Promise<Basis> {
  const payload = mine === null ? pack({}) : pack({ source: mine.source, header: mine.header ?? null }, Buffer.from(mine.shift.buffer, mine.shift.byteOffset, mine.shift.byteLength));
  let chosen: Buffer;
  if (cluster.isLeader) {
    const bases = [...(await cluster.gather(step, payload)).values()].filter((p) => unpack(p).meta.source !== undefined);
    // The listing's order: UTF-16 code units, as the channel's files are sorted.
    bases.sort((a, b) => (String(unpack(a).meta.source) < String(unpack(b).meta.source) ? -1 : 1));
    if (bases.length === 0) {
      throw new LinearError(
        ErrorCode.EMPTY_FILE,
        `no host read a data row: every file of channel '${TRAIN_CHANNEL}' on every host is empty or only a header (${files} file(s) here); upload rows with the label first`,
      );
    }
    chosen = bases[0];
    cluster.reply(step, chosen);
  } else {
    chosen = await cluster.send(step, payload);
  }
  const { meta, body } = unpack(chosen);
  return { source: String(meta.source), header: (meta.header as string[] | null) ?? undefined, shift: new Float64Array(new Uint8Array(body).buffer) };
}

/** A step's payload: a JSON object (its length first), then binary data. */
function pack(meta: Record<string, unknown>, body: Buffer = Buffer.alloc(0)): Buffer {
  const json = Buffer.from(JSON.stringify(meta));
  const length = Buffer.alloc(4);
  length.writeUInt32LE(json.length);
  return Buffer.concat([length, json, body]);
}

function unpack(payload: Buffer): { meta: Record<string, unknown>; body: Buffer } {
  const length = payload.readUInt32LE(0);
  return { meta: JSON.parse(payload.subarray(4, 4 + length).toString()) as Record<string, unknown>, body: payload.subarray(4 + length) };
}
