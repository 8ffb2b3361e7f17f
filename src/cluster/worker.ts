/**
 * A worker's side: an HTTP client of the leader only. It joins (retrying
 * while the leader's name does not resolve yet or its port is not open),
 * heartbeats, and sends one payload per step, waiting on that request for the
 * leader's reply. A leader that does not answer for the silence limit is lost.
 */
import { randomUUID } from 'node:crypto';
import { Agent } from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
import { ErrorCode, LinearError, clip, toLinearError } from '../errors';
import { errorOf, lostRecord, recordOf, terminatedRecord, unreachableRecord, type FailureRecord } from './failure';
import { duration, type ClusterMember, type Settings } from './member';
import type { Topology } from './topology';
import { decodeFrame, encodeFrame, post, type Answer, type FailMeta, type HeartbeatMeta, type JoinMeta, type LeaderAddress, type PostOptions, type Route, type SendMeta, type Sender } from './wire';

export interface ClusterWorker extends ClusterMember {
  readonly isLeader: false;
  /**
   * Sends this host's payload for `step` and resolves with the leader's reply
   * to it, which may come many minutes later: the leader waits for the slowest
   * host, then solves.
   */
  send(step: string, payload: Buffer): Promise<Buffer>;
}

/**
 * Resolves once the leader has accepted this host. Rejects with
 * PEER_UNREACHABLE when the leader cannot be reached by the join deadline,
 * PEER_REFUSED when it refuses this host, or the job's failure.
 */
export async function joinLeader(topology: Topology, settings: Settings): Promise<ClusterWorker> {
  const worker = new Worker(topology, settings);
  await worker.join();
  return worker;
}

/** Join attempts back off from 1 s, doubling, up to 30 s. */
const FIRST_RETRY_MS = 1_000;
const MAX_RETRY_MS = 30_000;
/** fail() and close() try this long to reach the leader. */
const TELL_MS = 5_000;
/** Between attempts to tell the leader. */
const TELL_RETRY_MS = 250;

const NETWORK_WORDS: ReadonlyMap<string, string> = new Map([
  ['ENOTFOUND', 'its name does not resolve yet'],
  ['EAI_AGAIN', 'its name does not resolve yet'],
  ['ECONNREFUSED', 'its port is not open yet'],
  ['ECONNRESET', 'the connection was reset'],
  ['ETIMEDOUT', 'no answer'],
  ['EHOSTUNREACH', 'no route to it'],
  ['ENETUNREACH', 'no route to it'],
]);

/** Why a request got no answer, in a few words. */
function networkReason(err: unknown): string {
  return NETWORK_WORDS.get((err as NodeJS.ErrnoException).code ?? '') ?? toLinearError(err).message;
}

/** Rejects with the signal's reason once it aborts, whatever `work` is still doing (its own outcome is then ignored). */
function unlessAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

class Worker implements ClusterWorker {
  readonly isLeader = false as const;
  private readonly failed = new AbortController();
  readonly signal = this.failed.signal;
  /** Aborts every request still open once this host has left. */
  private readonly connections = new AbortController();
  private readonly sender: Sender;
  private readonly leader: LeaderAddress;
  private timer?: NodeJS.Timeout;
  private heartbeating = false;
  private lastAnswer = 0;
  private lastTick = 0;
  private latestProgress?: string;
  /** The step this host is in, for messages. */
  private step = 'join';
  private sent = 0;
  private sending = false;
  private ending?: Promise<void>;

  constructor(
    readonly topology: Topology,
    private readonly settings: Settings,
  ) {
    // A random id tells this process from another one claiming the same host name.
    this.sender = { host: topology.current, instance: randomUUID() };
    this.leader = { host: topology.leader, port: settings.port, agent: new Agent({ keepAlive: true }) };
  }

  async join(): Promise<void> {
    const { signal, joinTimeoutMs, silenceMs, heartbeatMs, port, log } = this.settings;
    if (signal?.aborted) throw signal.reason;
    signal?.addEventListener('abort', this.onAbort, { once: true });
    const deadline = Date.now() + joinTimeoutMs;
    const frame = encodeFrame({ ...this.sender, hosts: this.topology.hosts } satisfies JoinMeta);
    let retryMs = FIRST_RETRY_MS;
    log(`joining the leader ${this.leader.host} on port ${port}`);
    for (;;) {
      try {
        // Not cut to the time left: a last attempt that times out at once would hide why the others failed.
        this.heard((await unlessAborted(this.ask('join', frame, { idleTimeoutMs: silenceMs }), this.signal)).answer);
        break;
      } catch (err) {
        if (this.signal.aborted) {
          await this.ending;
          throw this.signal.reason;
        }
        if (err instanceof LinearError) {
          // Refused: tell the leader, or it would wait for this host until the join deadline.
          await this.leave(err, recordOf(this.topology.current, 'join', err));
          throw err;
        }
        const left = deadline - Date.now();
        if (left <= 0) {
          const what = `could not reach the leader ${this.leader.host} on port ${port} within ${duration(joinTimeoutMs)} (last: ${networkReason(err)})`;
          const error = errorOf(unreachableRecord([this.leader.host], 'join', what, port));
          await this.leave(error);
          throw error;
        }
        const wait = Math.min(retryMs, left);
        log(`cannot reach the leader ${this.leader.host} on port ${port}: ${networkReason(err)}; retrying in ${duration(wait)}`);
        try {
          await unlessAborted(delay(wait, undefined, { signal: this.signal }), this.signal);
        } catch {
          await this.ending;
          throw this.signal.reason;
        }
        retryMs = Math.min(retryMs * 2, MAX_RETRY_MS);
      }
    }
    this.lastAnswer = this.lastTick = Date.now();
    this.timer = setInterval(() => this.tick(), heartbeatMs);
    log(`joined the leader ${this.leader.host}`);
  }

  async send(step: string, payload: Buffer): Promise<Buffer> {
    if (this.signal.aborted) throw this.signal.reason;
    if (this.sending) throw new LinearError(ErrorCode.INTERNAL_ERROR, `send('${step}') while send('${this.step}') waits for its reply`);
    if (this.ending) throw new LinearError(ErrorCode.INTERNAL_ERROR, `send('${step}') after close()`);
    this.sending = true;
    this.step = step;
    const index = this.sent++;
    try {
      return await unlessAborted(this.deliver(encodeFrame({ ...this.sender, step, index } satisfies SendMeta, payload), index), this.signal);
    } finally {
      this.sending = false;
    }
  }

  progress(text: string): void {
    this.latestProgress = text;
  }

  fail(step: string, error: unknown): Promise<void> {
    return this.leave(toLinearError(error), recordOf(this.topology.current, step, error));
  }

  close(): Promise<void> {
    if (this.signal.aborted) return Promise.reject(this.signal.reason);
    if (this.ending) return this.ending;
    clearInterval(this.timer);
    this.ending = this.tell('goodbye', this.sender).then((said) => {
      if (!said) this.settings.log(`could not say goodbye to the leader ${this.leader.host} within ${duration(TELL_MS)}`);
      this.end();
    });
    return this.ending;
  }

  /**
   * Sends a step's frame until the leader answers it. After a dropped
   * connection it sends again (the leader keeps the first payload and answers
   * the latest request); whether the leader is still there is for the
   * heartbeats to judge.
   */
  private async deliver(frame: Buffer[], index: number): Promise<Buffer> {
    for (;;) {
      try {
        const { answer, payload } = await this.ask('send', frame);
        this.heard(answer);
        if (answer.status !== 'reply' || answer.index !== index) {
          throw new LinearError(ErrorCode.INTERNAL_ERROR, `the leader answered step ${index + 1} with ${clip(JSON.stringify(answer), 200)}`);
        }
        return payload;
      } catch (err) {
        if (err instanceof LinearError || this.signal.aborted) throw err;
        await delay(this.settings.heartbeatMs, undefined, { signal: this.signal });
      }
    }
  }

  /** The leader's answer; a PEER_REFUSED LinearError if it refused; Node's own error if no answer came. */
  private async ask(route: Route, frame: Buffer[], options: PostOptions = {}): Promise<{ answer: Answer; payload: Buffer }> {
    const { status, body } = await post(this.leader, route, frame, { ...options, signal: this.connections.signal });
    if (status !== 200) {
      const text = body.toString('utf8').trim();
      throw new LinearError(ErrorCode.PEER_REFUSED, clip(`the leader ${this.leader.host} refused this host's ${route} (HTTP ${status}): ${text}`, 1000));
    }
    const { meta, payload } = decodeFrame(body, `the leader ${this.leader.host}'s answer to this host's ${route}`);
    return { answer: meta as Answer, payload };
  }

  /** Any answer shows the leader is there; one carrying the job's failure ends this host's part. */
  private heard(answer: Answer): void {
    this.lastAnswer = Date.now();
    if (answer.status !== 'failed') return;
    const error = errorOf(answer.failure);
    void this.leave(error);
    throw error;
  }

  /** Every heartbeat interval: the leader's silence, then a heartbeat unless one is still out. */
  private tick(): void {
    const now = Date.now();
    // A late tick means this host's own event loop was blocked, with answers waiting unread:
    // that time is not the leader's silence.
    const blocked = now - this.lastTick - this.settings.heartbeatMs;
    this.lastTick = now;
    if (blocked > this.settings.heartbeatMs) this.lastAnswer += blocked;
    const silent = now - this.lastAnswer;
    if (silent >= this.settings.silenceMs) {
      const record = lostRecord(this.leader.host, this.step, `no answer from it for ${duration(silent)}`);
      void this.leave(errorOf(record));
    } else if (!this.heartbeating) {
      void this.heartbeat();
    }
  }

  private async heartbeat(): Promise<void> {
    this.heartbeating = true;
    const meta: HeartbeatMeta = { ...this.sender, ...(this.latestProgress === undefined ? {} : { progress: this.latestProgress }) };
    try {
      this.heard((await this.ask('heartbeat', encodeFrame(meta), { idleTimeoutMs: this.settings.silenceMs })).answer);
    } catch (err) {
      // A missed heartbeat is only silence, which tick() measures; a refusal means the leader no longer takes this host.
      if (err instanceof LinearError && err.code === ErrorCode.PEER_REFUSED) void this.leave(err);
    } finally {
      this.heartbeating = false;
    }
  }

  private readonly onAbort = () => {
    void this.leave(this.settings.signal?.reason, terminatedRecord(this.topology.current, this.step));
  };

  /**
   * Ends this host's part with `error`: pending calls reject at once. With
   * `record` (this host's own failure) the leader is told first, before the
   * connections close: a send closing before the news would read as this
   * host's process dying.
   */
  private leave(error: unknown, record?: FailureRecord): Promise<void> {
    if (this.ending) return this.ending;
    this.failed.abort(error);
    clearInterval(this.timer);
    this.ending = (record ? this.tell('fail', { ...this.sender, failure: record }) : Promise.resolve(true)).then(() => this.end());
    return this.ending;
  }

  /** Best effort within TELL_MS: tries again after a dropped connection, not after a refusal. */
  private async tell(route: 'fail' | 'goodbye', meta: Sender | FailMeta): Promise<boolean> {
    const deadline = Date.now() + TELL_MS;
    const frame = encodeFrame(meta);
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      try {
        await this.ask(route, frame, { idleTimeoutMs: left });
        return true;
      } catch (err) {
        if (err instanceof LinearError) return false;
        await delay(Math.min(TELL_RETRY_MS, left));
      }
    }
  }

  private end(): void {
    clearInterval(this.timer);
    this.settings.signal?.removeEventListener('abort', this.onAbort);
    this.connections.abort();
    this.leader.agent.destroy();
  }
}
