/**
 * The only importer of the native addon. Its errors arrive as
 * `CODE: message`; they become LinearErrors here, so callers never see a raw
 * native error.
 */
import type * as Addon from '../index';
import { LinearError, isErrorCode } from './errors';

let loaded: typeof Addon | undefined;

/** Loaded on first use, so a missing or broken build is a coded error, not a crash at startup. */
function native(): typeof Addon {
  if (loaded) return loaded;
  try {
    loaded = require('../index.js') as typeof Addon;
    return loaded;
  } catch (err) {
    const why = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw new LinearError('INTERNAL_ERROR', `the native addon could not be loaded (${why}); rebuild it with npm run build`);
  }
}

export type NativeFit = Addon.BindingFit;
export type FitOptions = Addon.BindingFitOptions;
export type NativeModel = Addon.Model;
export type ScoreMetrics = Addon.BindingScoreMetrics;
export type SourceSummary = Addon.BindingSourceSummary;
export type Training = Addon.BindingTraining;
export type Basis = Addon.BindingBasis;
export type ResumePoint = Addon.BindingResumePoint;
/** Up to 5,000 training rows drawn with a fixed seed, in reading order, with the model's predictions. */
export interface RowSample {
  /** The draw's fixed seed. */
  seed: number;
  /** Training rows (of weight > 0) it was drawn from: on several hosts, the leader's own. */
  rows: number;
  /** Labels. */
  actual: Float64Array;
  /** The model's predictions for the same rows. */
  fitted: Float64Array;
  /** Sample weights; null when unweighted. */
  weights: Float64Array | null;
}
/** How a channel's data is declared: format, CSV header, libsvm indexing, Parquet label column, RecordIO wrapping. */
export type ChannelFormat = Addon.BindingChannelFormat;

const CODED = /^([A-Z][A-Z_]+): ([\s\S]*)$/;

/** Native errors carry a stable code; anything else is a bug, not bad input. */
export function fromNative(err: unknown): never {
  const message = err instanceof Error ? err.message : String(err);
  const coded = CODED.exec(message);
  if (coded && isErrorCode(coded[1])) throw new LinearError(coded[1], coded[2]);
  throw new LinearError('INTERNAL_ERROR', coded ? `${coded[1]} (not a catalogued code): ${coded[2]}` : message);
}

async function guarded<T>(work: () => T | Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    return fromNative(err);
  }
}

function guardedSync<T>(work: () => T): T {
  try {
    return work();
  } catch (err) {
    return fromNative(err);
  }
}

const PUSH_AGAIN = 'push was called again before the previous push resolved; await each push';

/**
 * One push at a time: the addon runs pushes on a thread pool, so a second push
 * started before the first resolved could fold its chunk first. Overlapping
 * calls are rejected instead of silently reordering rows.
 */
class PushGate {
  private busy = false;

  run<T>(work: () => T | Promise<T>): Promise<T> {
    if (this.busy) return Promise.reject(new LinearError('INVALID_ARGUMENT', PUSH_AGAIN));
    this.busy = true;
    return guarded(work).finally(() => {
      this.busy = false;
    });
  }
}

/** Whatever consumes a channel's bytes source by source. */
export interface ByteSink {
  beginSource(name: string): void;
  push(chunk: Buffer): Promise<unknown>;
  endSource(): SourceSummary;
  /** A whole file the core reads by path (Parquet, which needs random access). */
  readFile(file: string, name: string): Promise<SourceSummary>;
}

/**
 * What a source's first bytes are: 'gzip', 'csv', 'libsvm',
 * 'recordio-protobuf', 'parquet' or 'text' (CSV or libsvm alike); undefined
 * when more bytes are needed (only when `complete` is false).
 */
export function sniffFormat(head: Uint8Array, complete: boolean): string | undefined {
  return guardedSync(() => native().sniffFormat(head, complete)) ?? undefined;
}

/** Stops running native computations at their next step (they end with TERMINATED); nothing to do before the addon loaded. */
export function cancelNativeWork(): void {
  loaded?.cancel();
}

/** Parses and checks a model file's bytes; `source` names it in MODEL_INVALID messages. */
export function parseModel(bytes: Uint8Array, source: string): NativeModel {
  return guardedSync(() => native().Model.parse(bytes, source));
}

/** A model's file text, verified to load back as the same model. */
export function modelText(model: NativeModel): string {
  return guardedSync(() => model.toJson());
}

/** Exact least squares on in-memory data (`x` row-major, `y.length` rows). */
export function fit(x: Float64Array, y: Float64Array, features: number, options: FitOptions = {}): Promise<NativeFit> {
  return guarded(() => native().fit(x, y, features, options));
}

export function fitSync(x: Float64Array, y: Float64Array, features: number, options: FitOptions = {}): NativeFit {
  return guardedSync(() => native().fitSync(x, y, features, options));
}

/** Streams a channel's rows (label first) into a fit; see `finish` for further passes. */
export class Trainer implements ByteSink {
  private readonly native: Addon.Trainer;
  private readonly pushes = new PushGate();

  constructor(options: FitOptions, expectedFeatures?: number, format?: ChannelFormat) {
    this.native = guardedSync(() => new (native().Trainer)(options, expectedFeatures, format));
  }

  readFile(file: string, name: string): Promise<SourceSummary> {
    return this.pushes.run(() => this.native.readFile(file, name));
  }

  /** Why `finish` answered null: 'rows' (the first pass only learnt the width), 'extended' or 'residuals' (robust standard errors and/or exact residual diagnostics). */
  get nextPass(): string | null {
    return guardedSync(() => this.native.nextPass);
  }

  beginSource(name: string): void {
    guardedSync(() => this.native.beginSource(name));
  }

  /** Await each push before the next; an overlapping push rejects with INVALID_ARGUMENT. */
  push(chunk: Buffer): Promise<void> {
    return this.pushes.run(() => this.native.push(chunk));
  }

  endSource(): SourceSummary {
    return guardedSync(() => this.native.endSource());
  }

  /** The fit, or null when every source must be streamed once more (see `nextPass`). */
  finish(): Promise<NativeFit | null> {
    return guarded(() => this.native.finish());
  }

  /** The model artifact of the finished fit (NON_FINITE_RESULT when a number in it is not finite), with where its rows were read. */
  model(training: Training): NativeModel {
    return guardedSync(() => this.native.model(training));
  }

  /** Several hosts: the basis this host's first source with rows gave, once known. */
  get basis(): Basis | null {
    return guardedSync(() => this.native.basis);
  }

  /** Several hosts: read this host's share in the job's basis, naming columns by the job's header. */
  join(shift: Float64Array, header: string[] | null): void {
    guardedSync(() => this.native.join(shift, header));
  }

  /** Several hosts: this host's state for the pass under way (versioned, checksummed). */
  state(): Buffer {
    return guardedSync(() => this.native.state());
  }

  /** Several hosts, the leader: `finish` merging the other hosts' states. */
  finishWith(states: { host: string; state: Buffer }[]): Promise<NativeFit | null> {
    return guarded(() => this.native.finishWith(states));
  }

  /** The pass under way after its last finished source (for `fingerprint`'s job); null when there is nothing to keep. */
  checkpoint(fingerprint: string): Buffer | null {
    return guardedSync(() => this.native.checkpoint(fingerprint));
  }

  /** Continues from a checkpoint of `fingerprint`'s job: its pass and how many of that pass's sources to skip. */
  resume(checkpoint: Buffer, fingerprint: string, from: string): ResumePoint {
    return guardedSync(() => this.native.resume(checkpoint, fingerprint, from));
  }

  /** Several hosts, a worker: start the pass the leader asked for. */
  follow(pass: string): void {
    guardedSync(() => this.native.follow(pass));
  }

  startNextPass(): void {
    guardedSync(() => this.native.startNextPass());
  }

  /**
   * After the fit: a deterministic sample of the training rows (labels,
   * predictions, weights or null) in reading order; null before the fit.
   * On several hosts, the leader's sample is of the rows it read.
   */
  sample(): RowSample | null {
    const sample = guardedSync(() => this.native.sample());
    return sample ? { seed: sample.seed, rows: sample.rows, actual: sample.actual, fitted: sample.fitted, weights: sample.weights ?? null } : null;
  }

  get rows(): number {
    return guardedSync(() => this.native.rows);
  }

  get featureNames(): string[] {
    return guardedSync(() => this.native.featureNames);
  }

}

/** Streams a channel's rows through a model: predictions, and metrics when labelled. */
export class Scorer implements ByteSink {
  private readonly native: Addon.Scorer;
  private readonly emit: (predictions: Float64Array) => void;
  private readonly pushes = new PushGate();

  constructor(model: NativeModel, emit: (predictions: Float64Array) => void, format?: ChannelFormat) {
    this.native = guardedSync(() => new (native().Scorer)(model, format));
    this.emit = emit;
  }

  async readFile(file: string, name: string): Promise<SourceSummary> {
    const end = await this.pushes.run(() => this.native.readFile(file, name));
    this.emit(end.predictions);
    return end.summary;
  }

  beginSource(name: string): void {
    guardedSync(() => this.native.beginSource(name));
  }

  /** Await each push before the next; an overlapping push rejects with INVALID_ARGUMENT. */
  async push(chunk: Buffer): Promise<void> {
    this.emit(await this.pushes.run(() => this.native.push(chunk)));
  }

  endSource(): SourceSummary {
    const end = guardedSync(() => this.native.endSource());
    this.emit(end.predictions);
    return end.summary;
  }

  get labelled(): boolean | null {
    return guardedSync(() => this.native.labelled);
  }

  metrics(): ScoreMetrics | null {
    return guardedSync(() => this.native.metrics());
  }
}

export type Invocation = Addon.BindingInvocation;

/** Bodies below this many bytes are answered on the JS thread: a hop to the pool costs more. */
const INLINE_BODY_BYTES = 256 * 1024;

/** Request bodies in, response bodies out (decode, predict, encode natively). */
export class Predictor {
  private readonly native: Addon.Predictor;

  constructor(model: NativeModel) {
    this.native = guardedSync(() => new (native().Predictor)(model));
  }

  /** Whether `invokeSync` should answer this body rather than `invoke`. */
  static answersInline(body: Buffer): boolean {
    return body.length < INLINE_BODY_BYTES;
  }

  /** The response body, computed on the calling thread (small bodies: see `answersInline`). */
  invokeSync(body: Buffer, invocation: Invocation): Buffer {
    // No guardedSync closure: this runs once per request.
    try {
      return this.native.invokeSync(body, invocation);
    } catch (err) {
      return fromNative(err);
    }
  }

  /** The response body: small bodies on the calling thread, large ones off it. */
  invoke(body: Buffer, invocation: Invocation): Promise<Buffer> {
    if (Predictor.answersInline(body)) return guarded(() => this.native.invokeSync(body, invocation));
    return guarded(() => this.native.invoke(body, invocation));
  }
}
