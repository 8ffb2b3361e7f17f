/**
 * Checkpoints for jobs on managed spot capacity. SageMaker syncs the
 * checkpoint directory (CheckpointConfig.LocalPath, /opt/ml/checkpoints by
 * default) with S3 while the job runs and restores it when a stopped job
 * starts again. After a source (file) is finished, at most every
 * `checkpoint_interval` seconds, and when SIGTERM stops the job, this host
 * writes where its pass stands; a new run of the same job resumes there and
 * fits the bits an uninterrupted run would (see the core's checkpoint module).
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { readJsonConfig } from '../contract/config';
import type { MlPaths } from '../contract/paths';
import { systemErrorReason } from '../errors';
import type { Hyperparameters } from '../contract/hyperparameters';
import type { ResumePoint, Trainer } from '../native';

/** The hyperparameters that shape the fit: how often to checkpoint does not. */
function fitting(h: Hyperparameters): Omit<Hyperparameters, 'checkpointInterval'> {
  const { checkpointInterval: _, ...rest } = h;
  return rest;
}

/** What a checkpoint is for: if any of it differs, the checkpoint is of another job. */
export interface CheckpointSubject {
  host: string;
  hosts: string[];
  hyperparameters: Hyperparameters;
  channel: unknown;
  /** This host's files, as read (names relative to the data directory). */
  files: string[];
  root: string;
}

export class Checkpoints {
  private last = Date.now();

  private constructor(
    private readonly file: string,
    private readonly fingerprint: string,
    private readonly intervalMs: number,
    private readonly log: (line: string) => void,
  ) {}

  /** The job's checkpoints, or undefined when the job has no checkpointconfig.json. */
  static async open(paths: MlPaths, subject: CheckpointSubject, intervalSeconds: number, log: (line: string) => void): Promise<Checkpoints | undefined> {
    const config = await readJsonConfig(paths.config.checkpoint);
    if (config === undefined) return undefined;
    const local = typeof config.LocalPath === 'string' && config.LocalPath !== '' ? config.LocalPath : paths.checkpointDir;
    const sizes = await Promise.all(subject.files.map(async (file) => [path.relative(subject.root, file), (await fs.stat(file)).size]));
    const { host, hosts, hyperparameters, channel } = subject;
    const fingerprint = createHash('sha256')
      .update(JSON.stringify({ host, hosts, hyperparameters: fitting(hyperparameters), channel, sizes }))
      .digest('hex');
    // Host-unique: several hosts may share one checkpoint location in S3.
    return new Checkpoints(path.join(local, `linear-${host}.checkpoint`), fingerprint, intervalSeconds * 1000, log);
  }

  /** Resumes `trainer` from this job's checkpoint, if there is one that fits; says which. */
  async resume(trainer: Trainer): Promise<ResumePoint | undefined> {
    let bytes: Buffer;
    try {
      bytes = await fs.readFile(this.file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.log(`ignoring the checkpoint ${this.file}: ${systemErrorReason(err)}`);
      return undefined;
    }
    try {
      const point = trainer.resume(bytes, this.fingerprint, 'it');
      this.log(`resumed from the checkpoint ${this.file}: ${point.sourcesDone} file(s) of the ${point.pass === 'extended' ? 'extended-precision' : 'first'} pass already read`);
      return point;
    } catch (err) {
      this.log(`ignoring the checkpoint ${this.file}: ${(err as Error).message}`);
      return undefined;
    }
  }

  /** After a finished source: writes the checkpoint when the interval has passed. */
  async afterSource(trainer: Trainer): Promise<void> {
    if (Date.now() - this.last >= this.intervalMs) await this.save(trainer);
  }

  /** Writes where `trainer` stands (temp file and rename: SageMaker uploads whole files only). */
  async save(trainer: Trainer): Promise<void> {
    this.last = Date.now();
    const bytes = trainer.checkpoint(this.fingerprint);
    if (bytes === null) return;
    const temp = `${this.file}.${process.pid}.tmp`;
    try {
      await fs.mkdir(path.dirname(this.file), { recursive: true });
      await fs.writeFile(temp, bytes);
      await fs.rename(temp, this.file);
    } catch (err) {
      await fs.rm(temp, { force: true }).catch(() => undefined);
      this.log(`could not write the checkpoint ${this.file} (${systemErrorReason(err)}); training goes on without it`);
    }
  }
}
