/**
 * The leader's side: an HTTP server the workers call (it never calls them).
 * Workers join, heartbeat, and send one payload per step, whose request stays
 * open (a long poll) until the leader replies to that step. Once the job has
 * failed, every answer carries the failure: that is how the workers learn it.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { ErrorCode, LinearError, clip, systemErrorReason, toLinearError } from '../errors';
import { errorOf, lostRecord, recordOf, terminatedRecord, unreachableRecord, type FailureRecord } from './failure';
import { CLUSTER_PORT_ENV, duration, hostList, type ClusterMember, type Settings } from './member';
import type { Topology } from './topology';
import {
  OCTET_STREAM,
  ROUTES,
  byteLength,
  decodeFrame,
  encodeFrame,
  readBody,
  senderOf,
  type Answer,
  type FailMeta,
  type HeartbeatMeta,
  type JoinMeta,
  type SendMeta,
} from './wire';

export interface ClusterLeader extends ClusterMember {
  readonly isLeader: true;
  /**
   * Adds this host's payload for `step` and resolves with every host's (this
   * one's included), keyed by host in sorted order, once all have arrived.
   * Then call reply() for the same step: the workers wait for it.
   */
  gather(step: string, payload: Buffer): Promise<ReadonlyMap<string, Buffer>>;
  /** Releases the workers waiting in `step`, each with `payload`. Throws the job's failure if there is one. */
  reply(step: string, payload: Buffer): void;
}

/**
 * Listens (unless this is the only host) and resolves once every worker has
 * joined; rejects with PEER_UNREACHABLE naming the missing ones after the join
 * deadline, once the joined ones have been told.
 */
export async function startLeader(topology: Topology, settings: Settings): Promise<ClusterLeader> {
  const leader = new Leader(topology, settings);
  await leader.start();
  return leader;
}

/** After a failure, the leader keeps answering this long past a heartbeat interval, so every worker hears of it. */
const TELL_MARGIN_MS = 1_000;
/** close() waits this long for the workers' goodbyes. */
const GOODBYE_WAIT_MS = 10_000;
/** Once closed, connections still busy are cut after this long. */
const CLOSE_GRACE_MS = 1_000;
/** A worker's progress is logged at most this often. */
const PROGRESS_LOG_MS = 30_000;
/** Far above a heartbeat interval, so a worker's pooled connection is not closed just as it is reused. */
const KEEP_ALIVE_MS = 65_000;

/** A worker, as the leader knows it. */
interface Peer {
  host: string;
  /** The process that joined as this host: another one claiming the name is refused. */
  instance?: string;
  lastHeard: number;
  /** Its send, waiting for the reply to step `index`. */
  waiting?: { index: number; res: ServerResponse };
  /** Knows of the job's failure: it was told, it reported it, or it is gone. */
  told: boolean;
  saidGoodbye: boolean;
  progressLoggedAt?: number;
}

interface Step {
  index: number;
  name: string;
  payloads: Map<string, Buffer>;
  gathered: boolean;
}

class Leader implements ClusterLeader {
  readonly isLeader = true as const;
  private readonly failed = new AbortController();
  readonly signal = this.failed.signal;
  /** The job's failure, as every later answer carries it. */
  private failure?: FailureRecord;
  private readonly peers: Map<string, Peer>;
  private server?: Server;
  private timer?: NodeJS.Timeout;
  private lastWatch = 0;
  /** Re-checked after anything a waiting call may depend on changes. */
  private readonly waiters = new Set<() => void>();
  private phase: 'joining' | 'running' | 'closing' | 'ended' = 'joining';
  private ending?: Promise<void>;
  private readonly joinDeadline: number;
  /** Each step's name by position, as the first host to reach it called it. */
  private readonly stepNames: string[] = [];
  /** Steps some host has sent to and this host has not gathered yet. */
  private readonly steps = new Map<number, Step>();
  /** How many steps this host has gathered. */
  private gathers = 0;
  /** The step this host is gathering or has yet to reply to. */
  private open?: Step;
  /** Kept for a worker that sends again after its connection dropped. */
  private lastReply?: { index: number; frame: Buffer[] };

  constructor(
    readonly topology: Topology,
    private readonly settings: Settings,
  ) {
    const now = Date.now();
    this.joinDeadline = now + settings.joinTimeoutMs;
    const workers = topology.hosts.filter((host) => host !== topology.current);
    this.peers = new Map(workers.map((host) => [host, { host, lastHeard: now, told: false, saidGoodbye: false }]));
  }

  async start(): Promise<void> {
    const { signal, heartbeatMs, log, port } = this.settings;
    if (signal?.aborted) throw signal.reason;
    // A single host is a cluster of one: no port, and gather() returns its own payload.
    if (this.peers.size > 0) this.server = await this.listen();
    signal?.addEventListener('abort', this.onAbort, { once: true });
    if (this.peers.size === 0) {
      this.phase = 'running';
      return;
    }
    this.lastWatch = Date.now();
    this.timer = setInterval(() => this.watch(), heartbeatMs);
    log(`leader ${this.topology.current}: waiting on port ${port} for ${this.peers.size} worker(s) to join: ${hostList([...this.peers.keys()])}`);
    try {
      await this.until(() => [...this.peers.values()].every((peer) => peer.instance !== undefined));
    } catch (err) {
      await this.ending;
      throw err;
    }
    this.phase = 'running';
    log(`all ${this.topology.hosts.length} hosts joined`);
  }

  async gather(step: string, payload: Buffer): Promise<ReadonlyMap<string, Buffer>> {
    this.throwIfFailed();
    if (this.open) throw new LinearError(ErrorCode.INTERNAL_ERROR, `gather('${step}') before reply('${this.open.name}')`);
    const index = this.gathers++;
    const open = this.stepAt(index, step, this.topology.current);
    if (open === undefined) throw this.signal.reason;
    this.open = open;
    this.steps.delete(index);
    open.payloads.set(this.topology.current, payload);
    await this.until(() => open.payloads.size === this.topology.hosts.length);
    const all = new Map(this.topology.hosts.map((host) => [host, open.payloads.get(host)!]));
    open.payloads.clear();
    open.gathered = true;
    return all;
  }

  reply(step: string, payload: Buffer): void {
    this.throwIfFailed();
    const open = this.open;
    if (open === undefined || !open.gathered || open.name !== step) {
      throw new LinearError(ErrorCode.INTERNAL_ERROR, `reply('${step}') without a finished gather('${step}')`);
    }
    this.open = undefined;
    const frame = encodeFrame({ status: 'reply', index: open.index } satisfies Answer, payload);
    this.lastReply = { index: open.index, frame };
    for (const peer of this.peers.values()) {
      if (peer.waiting?.index !== open.index) continue;
      const { res } = peer.waiting;
      peer.waiting = undefined;
      answer(res, frame);
    }
  }

  /** The leader's own progress is in its own log already. */
  progress(): void {}

  fail(step: string, error: unknown): Promise<void> {
    return this.failWith(recordOf(this.topology.current, step, error), toLinearError(error));
  }

  async close(): Promise<void> {
    this.throwIfFailed();
    if (this.open) throw new LinearError(ErrorCode.INTERNAL_ERROR, `close() before reply('${this.open.name}'): the workers wait for it`);
    if (this.phase === 'ended') return;
    this.phase = 'closing';
    const unsaid = () => [...this.peers.values()].filter((peer) => !peer.saidGoodbye).map((peer) => peer.host);
    if (!(await this.until(() => unsaid().length === 0, GOODBYE_WAIT_MS))) {
      this.settings.log(`closing without a goodbye from ${hostList(unsaid())} after ${duration(GOODBYE_WAIT_MS)}`);
    }
    this.end();
  }

  /** The step everyone is in, for messages: the latest any host has reached. */
  private get step(): string {
    return this.stepNames.at(-1) ?? 'join';
  }

  /** The step at `index`, once `host` agrees on its name; on a disagreement the job fails and this returns undefined. */
  private stepAt(index: number, name: string, host: string): Step | undefined {
    const known = this.stepNames[index];
    if (known === undefined) this.stepNames[index] = name;
    else if (known !== name) {
      const error = new LinearError(
        ErrorCode.INTERNAL_ERROR,
        `hosts disagree on step ${index + 1}: ${host} calls it '${clip(name, 100)}', another host '${clip(known, 100)}'; every host must exchange the same steps in the same order`,
      );
      void this.failWith(recordOf(this.topology.current, known, error), error);
      return undefined;
    }
    if (this.open?.index === index) return this.open;
    let step = this.steps.get(index);
    if (step === undefined) {
      step = { index, name, payloads: new Map(), gathered: false };
      this.steps.set(index, step);
    }
    return step;
  }

  private throwIfFailed(): void {
    if (this.signal.aborted) throw this.signal.reason;
  }

  /** Resolves true once `ready()` holds, false after `timeoutMs`; rejects with the job's failure unless `evenIfFailed`. */
  private until(ready: () => boolean, timeoutMs?: number, evenIfFailed = false): Promise<boolean> {
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const settle = (done: () => void) => {
        this.waiters.delete(check);
        clearTimeout(timer);
        this.signal.removeEventListener('abort', onFailure);
        done();
      };
      const check = () => {
        if (ready()) settle(() => resolve(true));
      };
      const onFailure = () => settle(() => reject(this.signal.reason));
      if (!evenIfFailed && this.signal.aborted) return onFailure();
      if (ready()) return resolve(true);
      this.waiters.add(check);
      if (!evenIfFailed) this.signal.addEventListener('abort', onFailure, { once: true });
      if (timeoutMs !== undefined) timer = setTimeout(() => settle(() => resolve(false)), timeoutMs);
    });
  }

  private changed(): void {
    for (const check of [...this.waiters]) check();
  }

  /**
   * The job failed: every call rejects with `error`, every worker waiting in a
   * step is answered with the failure now, and the others at their next
   * heartbeat; after one heartbeat interval (and a margin) the server closes.
   */
  private failWith(record: FailureRecord, error: unknown): Promise<void> {
    if (this.ending) return this.ending;
    if (this.phase === 'ended') return Promise.resolve();
    this.failure = record;
    this.failed.abort(error);
    for (const peer of this.peers.values()) {
      if (peer.waiting) this.answerFailure(peer, peer.waiting.res);
    }
    const everyoneKnows = () => [...this.peers.values()].every((peer) => peer.told || peer.instance === undefined);
    this.ending = this.until(everyoneKnows, this.settings.heartbeatMs + TELL_MARGIN_MS, true).then(() => this.end());
    return this.ending;
  }

  private readonly onAbort = () => {
    void this.failWith(terminatedRecord(this.topology.current, this.step), this.settings.signal?.reason);
  };

  private lose(peer: Peer, how: string): void {
    // Nothing more can reach it.
    peer.told = true;
    const record = lostRecord(peer.host, this.step, how);
    void this.failWith(record, errorOf(record));
  }

  /** Every heartbeat interval: the join deadline, then each worker's silence. */
  private watch(): void {
    const now = Date.now();
    const { port, joinTimeoutMs, silenceMs, heartbeatMs } = this.settings;
    // A late tick means this host's own event loop was blocked, with the workers' heartbeats
    // waiting unread: that time is not their silence.
    const blocked = now - this.lastWatch - heartbeatMs;
    this.lastWatch = now;
    if (blocked > heartbeatMs) for (const peer of this.peers.values()) peer.lastHeard += blocked;
    if (this.phase === 'joining' && now >= this.joinDeadline) {
      const missing = [...this.peers.values()].filter((peer) => peer.instance === undefined).map((peer) => peer.host);
      const what = `the leader ${this.topology.current} did not hear from ${missing.length === 1 ? 'host' : 'hosts'} ${hostList(missing)} on port ${port} within ${duration(joinTimeoutMs)}`;
      const record = unreachableRecord(missing, 'join', what, port);
      void this.failWith(record, errorOf(record));
      return;
    }
    if (this.phase !== 'joining' && this.phase !== 'running') return;
    for (const peer of this.peers.values()) {
      if (peer.instance !== undefined && now - peer.lastHeard >= silenceMs) {
        this.lose(peer, `not heard from for ${duration(now - peer.lastHeard)}`);
        return;
      }
    }
  }

  private async listen(): Promise<Server> {
    const server = createServer(
      {
        // A send waits for its reply as long as the slowest host takes (many minutes): no request timeout.
        requestTimeout: 0,
        headersTimeout: 60_000,
        keepAliveTimeout: KEEP_ALIVE_MS,
      },
      (req, res) => void this.handle(req, res),
    );
    const { port } = this.settings;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err) =>
        reject(new LinearError(ErrorCode.INVALID_CONFIG, `the leader cannot listen on port ${port}: ${systemErrorReason(err)} (${CLUSTER_PORT_ENV} sets another port, the same on every host)`)),
      );
      server.listen(port, '0.0.0.0', resolve);
    });
    return server;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const route = ROUTES.find((r) => req.url === `/${r}`);
    if (req.method !== 'POST' || route === undefined) {
      return refuse(res, 404, `no ${req.method} ${req.url} here: this port is the leader of a linear training job`);
    }
    let meta: unknown;
    let payload: Buffer;
    try {
      ({ meta, payload } = decodeFrame(await readBody(req), `the ${route} from ${req.socket.remoteAddress}`));
    } catch (err) {
      return refuse(res, 400, toLinearError(err).message);
    }
    const sender = senderOf(meta);
    const peer = sender && this.peers.get(sender.host);
    if (sender === undefined || peer === undefined) {
      const who = sender ? `host ${clip(sender.host, 100)} is` : `the ${route} names no host and`;
      return refuse(res, 403, `${who} not one of this job's workers (${hostList([...this.peers.keys()])})`);
    }
    if (route === 'join') this.join(peer, meta as JoinMeta, res);
    else if (route === 'fail') this.reported(peer, meta as FailMeta, res);
    else if (peer.instance !== sender.instance) {
      return refuse(res, 409, `host ${peer.host} has not joined, or another process joined as it`);
    } else {
      peer.lastHeard = Date.now();
      if (route === 'heartbeat') this.heartbeat(peer, meta as HeartbeatMeta, res);
      else if (route === 'send') this.send(peer, meta as SendMeta, payload, res);
      else {
        peer.saidGoodbye = true;
        answer(res, OK);
      }
    }
    this.changed();
  }

  private join(peer: Peer, meta: JoinMeta, res: ServerResponse): void {
    const ours = this.topology.hosts;
    const theirs = Array.isArray(meta.hosts) ? meta.hosts : [];
    if (theirs.join('\n') !== ours.join('\n')) {
      return refuse(res, 409, `host ${peer.host} lists the hosts ${hostList(theirs)}; the leader ${hostList(ours)}: every host must read the same resourceconfig.json`);
    }
    if (peer.instance !== undefined && peer.instance !== meta.instance) {
      return refuse(res, 409, `another process already joined as host ${peer.host}`);
    }
    if (this.failure) return this.answerFailure(peer, res);
    peer.lastHeard = Date.now();
    if (peer.instance === undefined) {
      peer.instance = meta.instance;
      const joined = [...this.peers.values()].filter((p) => p.instance !== undefined).length;
      this.settings.log(`host ${peer.host} joined (${joined} of ${this.peers.size} workers)`);
    }
    answer(res, OK);
  }

  private heartbeat(peer: Peer, meta: HeartbeatMeta, res: ServerResponse): void {
    const now = Date.now();
    if (typeof meta.progress === 'string' && (peer.progressLoggedAt === undefined || now - peer.progressLoggedAt >= PROGRESS_LOG_MS)) {
      peer.progressLoggedAt = now;
      this.settings.log(`host ${peer.host}: ${clip(meta.progress, 200)}`);
    }
    if (this.failure) this.answerFailure(peer, res);
    else answer(res, OK);
  }

  private send(peer: Peer, meta: SendMeta, payload: Buffer, res: ServerResponse): void {
    if (this.failure) return this.answerFailure(peer, res);
    if (this.lastReply?.index === meta.index) return answer(res, this.lastReply.frame);
    const step = this.stepAt(meta.index, meta.step, peer.host);
    if (step === undefined) return this.answerFailure(peer, res);
    if (!step.payloads.has(peer.host)) step.payloads.set(peer.host, payload);
    peer.waiting = { index: meta.index, res };
    // A worker's process that dies closes its connection: no need to wait out the silence.
    res.once('close', () => {
      if (peer.waiting?.res !== res) return;
      peer.waiting = undefined;
      this.lose(peer, `its connection closed while it waited for the reply (${duration(Date.now() - peer.lastHeard)} after it was last heard from)`);
    });
  }

  /** A worker's own failure, reported by fail(). */
  private reported(peer: Peer, meta: FailMeta, res: ServerResponse): void {
    const f = meta.failure as Partial<FailureRecord> | undefined;
    // The host is the sender's, whatever the record says.
    const record: FailureRecord = { host: peer.host, step: String(f?.step ?? this.step), code: String(f?.code ?? ErrorCode.INTERNAL_ERROR), message: String(f?.message ?? '') };
    // Another process under the same name (refused at join) knows, not the one that joined.
    if (meta.instance === peer.instance) peer.told = true;
    answer(res, OK);
    void this.failWith(record, errorOf(record));
  }

  private answerFailure(peer: Peer, res: ServerResponse): void {
    if (peer.waiting?.res === res) peer.waiting = undefined;
    peer.told = true;
    answer(res, encodeFrame({ status: 'failed', failure: this.failure! } satisfies Answer));
  }

  private end(): void {
    this.phase = 'ended';
    clearInterval(this.timer);
    this.settings.signal?.removeEventListener('abort', this.onAbort);
    const server = this.server;
    if (server === undefined) return;
    // Idle connections close now; one still busy (a goodbye's answer on its way) gets a moment.
    server.close();
    setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS).unref();
  }
}

const OK = encodeFrame({ status: 'ok' } satisfies Answer);

function answer(res: ServerResponse, frame: Buffer[]): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(200, { 'content-type': OCTET_STREAM, 'content-length': byteLength(frame) });
  for (const part of frame) res.write(part);
  res.end();
}

/** Plain text, which a peer of any protocol version can read. */
function refuse(res: ServerResponse, status: number, text: string): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
