/**
 * The bytes hosts exchange. Workers POST to the leader; every request and
 * every answer body is one frame (integers big-endian):
 *
 *   "LNRC" | version u16 | meta bytes u32 | payload bytes u32 | CRC-32 u32 | meta (JSON) | payload
 *
 * The version is read right after the magic, so a peer of another version is
 * refused by name rather than misread; the CRC-32 covers meta and payload, so
 * a flipped bit anywhere is caught. A refusal is plain text with a 4xx status,
 * which a peer of any version can read.
 */
import type { Agent, IncomingMessage } from 'node:http';
import { request } from 'node:http';
// zlib.crc32 is native and needs Node 20.15 or 22.2; the image runs Node 22.
import { crc32 } from 'node:zlib';
import { ErrorCode, LinearError } from '../errors';
import type { FailureRecord } from './failure';

export const PROTOCOL_VERSION = 1;
const MAGIC = 'LNRC';
const PREFIX_BYTES = 18;
const EMPTY = Buffer.alloc(0);
export const OCTET_STREAM = 'application/octet-stream';

/** What a worker asks of the leader; each is a path, `/join` and so on. */
export const ROUTES = ['join', 'heartbeat', 'send', 'fail', 'goodbye'] as const;
export type Route = (typeof ROUTES)[number];

/** Every request names its host and its process, so two processes claiming one name are told apart. */
export interface Sender {
  host: string;
  instance: string;
}
export interface JoinMeta extends Sender {
  /** The worker's sorted host list, which must be the leader's. */
  hosts: string[];
}
export interface HeartbeatMeta extends Sender {
  progress?: string;
}
export interface SendMeta extends Sender {
  step: string;
  /** The step's position, from 0: hosts must agree on the name at each. */
  index: number;
}
export interface FailMeta extends Sender {
  failure: FailureRecord;
}

/** The leader's answer to every request it does not refuse. */
export type Answer = { status: 'ok' } | { status: 'reply'; index: number } | { status: 'failed'; failure: FailureRecord };

/**
 * CRC-32 of meta then payload. An empty payload is skipped: it may have no
 * memory behind it, and zlib's crc32 of a null pointer is 0, not the CRC so far.
 */
function checksum(meta: Buffer, payload: Buffer): number {
  const crc = crc32(meta);
  return payload.length === 0 ? crc : crc32(payload, crc);
}

/** A frame as parts, so a payload of tens of MB is written out without a copy. */
export function encodeFrame(meta: object, payload: Buffer = EMPTY): Buffer[] {
  const metaBytes = Buffer.from(JSON.stringify(meta));
  const prefix = Buffer.alloc(PREFIX_BYTES);
  prefix.write(MAGIC, 0, 'latin1');
  prefix.writeUInt16BE(PROTOCOL_VERSION, 4);
  prefix.writeUInt32BE(metaBytes.length, 6);
  prefix.writeUInt32BE(payload.length, 10);
  prefix.writeUInt32BE(checksum(metaBytes, payload), 14);
  return [Buffer.concat([prefix, metaBytes]), payload];
}

/** Checks and splits a frame; `what` names it in the PEER_REFUSED error ("the send from 10.0.0.2"). */
export function decodeFrame(body: Buffer, what: string): { meta: unknown; payload: Buffer } {
  const refused = (problem: string) => new LinearError(ErrorCode.PEER_REFUSED, `${what} ${problem}`);
  if (body.length < PREFIX_BYTES || body.toString('latin1', 0, 4) !== MAGIC) throw refused('is not a linear cluster message');
  const version = body.readUInt16BE(4);
  if (version !== PROTOCOL_VERSION) {
    throw refused(`speaks cluster protocol version ${version}, this host version ${PROTOCOL_VERSION}: every host must run the same image`);
  }
  const metaEnd = PREFIX_BYTES + body.readUInt32BE(6);
  const expected = metaEnd + body.readUInt32BE(10);
  if (body.length !== expected) throw refused(`is ${body.length} bytes where its header says ${expected}: cut short in transit`);
  const meta = body.subarray(PREFIX_BYTES, metaEnd);
  const payload = body.subarray(metaEnd);
  if (checksum(meta, payload) !== body.readUInt32BE(14)) throw refused('failed its CRC-32 check: corrupted in transit');
  try {
    return { meta: JSON.parse(meta.toString('utf8')), payload };
  } catch {
    throw refused('has metadata that is not JSON');
  }
}

/** The host and process a decoded request names; anything else in it was written by the same version of this code. */
export function senderOf(meta: unknown): Sender | undefined {
  const m = meta as Partial<Sender> | null;
  return typeof m?.host === 'string' && typeof m.instance === 'string' ? { host: m.host, instance: m.instance } : undefined;
}

export function byteLength(parts: Buffer[]): number {
  return parts.reduce((sum, part) => sum + part.length, 0);
}

export interface LeaderAddress {
  host: string;
  port: number;
  agent: Agent;
}

export interface PostOptions {
  /** Gives up when the connection is idle this long (a heartbeat, a join attempt); none for a long poll. */
  idleTimeoutMs?: number;
  signal?: AbortSignal;
}

/**
 * POSTs a frame and resolves with the status and the whole body. Rejects with
 * Node's own error (ENOTFOUND, ECONNREFUSED, ECONNRESET, ETIMEDOUT, an abort)
 * when no complete answer arrives; the caller decides whether to retry.
 */
export function post(to: LeaderAddress, route: Route, frame: Buffer[], options: PostOptions = {}): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: to.host,
        port: to.port,
        method: 'POST',
        path: `/${route}`,
        agent: to.agent,
        headers: { 'content-type': OCTET_STREAM, 'content-length': byteLength(frame) },
        // Set before connecting, so it also bounds a connection or name lookup that hangs.
        ...(options.idleTimeoutMs === undefined ? {} : { timeout: options.idleTimeoutMs }),
        ...(options.signal ? { signal: options.signal } : {}),
      },
      (res) => {
        readBody(res).then((body) => resolve({ status: res.statusCode ?? 0, body }), reject);
      },
    );
    req.on('timeout', () => req.destroy(Object.assign(new Error(`no answer for ${options.idleTimeoutMs} ms`), { code: 'ETIMEDOUT' })));
    req.on('error', reject);
    for (const part of frame) req.write(part);
    req.end();
  });
}

/** The whole body of a request or an answer; rejects if its connection closes first. */
export function readBody(message: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    message.on('data', (chunk: Buffer) => chunks.push(chunk));
    message.on('end', () => resolve(Buffer.concat(chunks)));
    message.on('error', reject);
    message.on('close', () => {
      if (!message.complete) reject(Object.assign(new Error('the connection closed mid-message'), { code: 'ECONNRESET' }));
    });
  });
}
