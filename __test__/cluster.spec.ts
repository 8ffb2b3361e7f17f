/**
 * The peer protocol over real sockets on loopback: hosts 127.0.0.1..3 (all of
 * 127/8 is loopback on Linux, so each worker resolves the leader's name for
 * real), a free port per test, short heartbeats. Hosts that die or hang run
 * in a child process (helpers/cluster-host.ts) that the test kills or stops.
 */
import test, { type ExecutionContext } from 'ava';
import { randomFillSync } from 'node:crypto';
import { once } from 'node:events';
import { createServer, request, type Server } from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
import { joinCluster, topologyOf, type Cluster, type ClusterLeader, type ClusterOptions, type ClusterWorker } from '../src/cluster';
import { encodeFrame } from '../src/cluster/wire';
import { ERROR_CATALOGUE, LinearError, type ErrorCodeName } from '../src/errors';
import { freePort } from './helpers/ports';
import { startHost, type HostScript } from './helpers/cluster-host';

const LEADER = '127.0.0.1';
const HOSTS = ['127.0.0.1', '127.0.0.2', '127.0.0.3'];
const HEARTBEAT_MS = 100;
/** For the tests of a lost host; the others allow more, as a loaded machine may starve a process that long. */
const SILENCE_MS = 1_000;
const PATIENT_SILENCE_MS = 5_000;


interface Options extends Partial<ClusterOptions> {
  hosts?: string[];
}

function join(current: string, port: number, options: Options = {}): Promise<Cluster> {
  const { hosts = HOSTS, ...rest } = options;
  return joinCluster(topologyOf({ currentHost: current, hosts }), {
    port,
    heartbeatMs: HEARTBEAT_MS,
    silenceMs: PATIENT_SILENCE_MS,
    joinTimeoutMs: 10_000,
    log: () => {},
    ...rest,
  });
}

function asLeader(cluster: Cluster): ClusterLeader {
  if (!cluster.isLeader) throw new Error(`${cluster.topology.current} is not the leader`);
  return cluster;
}

function asWorker(cluster: Cluster): ClusterWorker {
  if (cluster.isLeader) throw new Error(`${cluster.topology.current} is the leader`);
  return cluster;
}

/** Joins all three hosts on `port`: the leader and two workers. */
async function trio(port: number, options: Options = {}): Promise<[ClusterLeader, ClusterWorker, ClusterWorker]> {
  const [a, b, c] = await Promise.all(HOSTS.map((host) => join(host, port, options)));
  return [asLeader(a), asWorker(b), asWorker(c)];
}

/** The host's payload for a step: `size` random bytes. */
function payloadOf(size: number): Buffer {
  return randomFillSync(Buffer.alloc(size));
}

/** Asserts `promise` rejects with a LinearError of `code` whose message matches every pattern. */
async function rejectsWith(t: ExecutionContext, promise: Promise<unknown>, code: ErrorCodeName, ...patterns: RegExp[]): Promise<LinearError> {
  const err = await t.throwsAsync(promise, { instanceOf: LinearError });
  t.is(err?.code, code, err?.message);
  for (const pattern of patterns) t.regex(err?.message ?? '', pattern);
  t.true((err?.message.length ?? 0) < 1024);
  t.false(/\n\s+at /.test(err?.message ?? ''), 'no stack trace');
  return err!;
}

/** Resolves once `signal` has aborted, at once if it already has. */
async function aborted(signal: AbortSignal): Promise<void> {
  if (!signal.aborted) await once(signal, 'abort');
}

/** POSTs raw bytes to the leader and resolves with the status and text. */
function postRaw(port: number, route: string, body: Buffer): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: LEADER, port, method: 'POST', path: `/${route}`, headers: { 'content-length': body.length } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

function script(current: string, port: number, steps: string[]): HostScript {
  return { hosts: HOSTS, current, port, heartbeatMs: HEARTBEAT_MS, silenceMs: PATIENT_SILENCE_MS, steps };
}

test('the leader is the first host in plain sorted order, the same from every host', (t) => {
  const hosts = ['algo-2', 'algo-10', 'algo-1'];
  t.deepEqual(topologyOf({ currentHost: 'algo-2', hosts }), { hosts: ['algo-1', 'algo-10', 'algo-2'], current: 'algo-2', leader: 'algo-1', isLeader: false });
  t.true(topologyOf({ currentHost: 'algo-1', hosts }).isLeader);
  t.deepEqual(hosts, ['algo-2', 'algo-10', 'algo-1'], 'the caller\'s list is left as it was');
});

test('the new codes are in the catalogue: a peer\'s failure is the user\'s (exit 2), a lost or unreachable peer internal (exit 1)', (t) => {
  t.is(new LinearError('PEER_FAILED', 'x').exitCode, 2);
  for (const code of ['PEER_LOST', 'PEER_UNREACHABLE', 'PEER_REFUSED'] as const) {
    t.is(ERROR_CATALOGUE[code].kind, 'internal');
    t.is(new LinearError(code, 'x').exitCode, 1);
  }
});

test('LINEAR_CLUSTER_PORT sets the port on every host; a value that is not a port is refused', async (t) => {
  const port = await freePort();
  const pair = HOSTS.slice(0, 2);
  // Only this test leaves the port to the environment, so the others are not affected.
  process.env.LINEAR_CLUSTER_PORT = String(port);
  try {
    const options = { heartbeatMs: HEARTBEAT_MS, log: () => {} };
    const [leader, two] = await Promise.all(pair.map((host) => joinCluster(topologyOf({ currentHost: host, hosts: pair }), options)));
    const stranger = await postRaw(port, 'status', Buffer.alloc(0));
    t.is(stranger.status, 404);
    t.is(stranger.text, 'no POST /status here: this port is the leader of a linear training job');
    await Promise.all([leader.close(), two.close()]);
    process.env.LINEAR_CLUSTER_PORT = '70000';
    await rejectsWith(t, joinCluster(topologyOf({ currentHost: LEADER, hosts: pair }), options), 'INVALID_CONFIG', /^LINEAR_CLUSTER_PORT=70000 must be a whole number from 1 to 65535$/);
  } finally {
    delete process.env.LINEAR_CLUSTER_PORT;
  }
});

test('a single host opens no port: gather returns its own payload at once', async (t) => {
  const port = await freePort();
  const cluster = asLeader(await join(LEADER, port, { hosts: [LEADER] }));
  // The port is still free: something else can listen on it.
  const other = createServer().listen(port, '0.0.0.0');
  await once(other, 'listening');
  other.close();
  const all = await cluster.gather('fit', Buffer.from('mine'));
  t.deepEqual([...all.keys()], [LEADER]);
  t.is(all.get(LEADER)!.toString(), 'mine');
  cluster.reply('fit', Buffer.from('model'));
  await cluster.close();
});

test('three hosts exchange two steps of 20 MB payloads arriving in any order; the leader logs a worker\'s progress', async (t) => {
  const port = await freePort();
  const logs: string[] = [];
  const [leader, two, three] = await trio(port, { log: (line) => logs.push(line) });
  const size = 20 * 1024 * 1024;
  two.progress('1,000 rows read');

  const payloads = new Map(HOSTS.map((host) => [host, payloadOf(size)]));

  // Step 1: the workers first, the leader last.
  const sent = [three.send('gram', payloads.get('127.0.0.3')!)];
  await delay(150);
  sent.push(two.send('gram', payloads.get('127.0.0.2')!));
  await delay(150);
  const gram = await leader.gather('gram', payloads.get(LEADER)!);
  t.deepEqual([...gram.keys()], HOSTS);
  for (const host of HOSTS) t.true(gram.get(host)!.equals(payloads.get(host)!), `${host}'s payload arrives intact`);
  const solution = payloadOf(size);
  leader.reply('gram', solution);
  for (const reply of await Promise.all(sent)) t.true(reply.equals(solution));

  // Step 2: the leader first, then one worker, then the other.
  const gathered = leader.gather('score', Buffer.from('leader'));
  await delay(150);
  const scored = [two.send('score', Buffer.from('two'))];
  await delay(150);
  scored.push(three.send('score', Buffer.alloc(0)));
  const score = await gathered;
  t.deepEqual([...score.values()].map(String), ['leader', 'two', '']);
  leader.reply('score', Buffer.from('done'));
  t.deepEqual((await Promise.all(scored)).map(String), ['done', 'done']);

  await Promise.all([leader.close(), two.close(), three.close()]);
  t.true(logs.includes('host 127.0.0.2: 1,000 rows read'), logs.join('\n'));
  t.true(logs.includes('all 3 hosts joined'));
});

test('a worker started 2 s before the leader keeps retrying and joins', async (t) => {
  const port = await freePort();
  const logs: string[] = [];
  const started = Date.now();
  const early = join('127.0.0.2', port, { hosts: HOSTS.slice(0, 2), log: (line) => logs.push(line) });
  await delay(2_000);
  const leader = asLeader(await join(LEADER, port, { hosts: HOSTS.slice(0, 2) }));
  const worker = asWorker(await early);
  t.true(Date.now() - started < 6_000);
  t.true(logs.some((line) => /cannot reach the leader 127\.0\.0\.1 on port \d+: its port is not open yet; retrying in 1 s/.test(line)), logs.join('\n'));
  const [all, reply] = await Promise.all([leader.gather('fit', Buffer.from('1')).then((all) => (leader.reply('fit', Buffer.from('ok')), all)), worker.send('fit', Buffer.from('2'))]);
  t.is(all.size, 2);
  t.is(reply.toString(), 'ok');
  await Promise.all([leader.close(), worker.close()]);
});

test("a worker's fail() makes the leader and the other worker reject with PEER_FAILED naming it, the step and its error", async (t) => {
  const port = await freePort();
  const [leader, two, three] = await trio(port);
  const expected = [/^host 127\.0\.0\.2 failed during step 'read': RAGGED_ROW: train\/a\.csv line 3 has 2 columns/];
  const gathering = rejectsWith(t, leader.gather('read', Buffer.from('1')), 'PEER_FAILED', ...expected);
  const waiting = rejectsWith(t, three.send('read', Buffer.from('3')), 'PEER_FAILED', ...expected);
  await two.fail('read', new LinearError('RAGGED_ROW', 'train/a.csv line 3 has 2 columns, the rows before it 3'));
  await Promise.all([gathering, waiting]);
  t.true(leader.signal.aborted && three.signal.aborted);
  // Later calls fail the same way; the failed host's own calls with its own error.
  await rejectsWith(t, leader.close(), 'PEER_FAILED', ...expected);
  await rejectsWith(t, two.send('read', Buffer.alloc(0)), 'RAGGED_ROW');
});

test('a busy worker learns of a failure from its next heartbeat, through its signal', async (t) => {
  const port = await freePort();
  const [leader, two, three] = await trio(port);
  const started = Date.now();
  await leader.fail('solve', new Error('out of memory'));
  await aborted(three.signal);
  t.true(Date.now() - started < PATIENT_SILENCE_MS, 'from a heartbeat, not from silence');
  await rejectsWith(t, three.send('solve', Buffer.alloc(0)), 'PEER_FAILED', /^host 127\.0\.0\.1 failed during step 'solve': INTERNAL_ERROR: out of memory$/);
  await aborted(two.signal);
});

test('a worker whose process dies while it waits for a reply is lost at once (its connection closes)', async (t) => {
  const port = await freePort();
  const dying = startHost(script('127.0.0.3', port, ['gram']));
  const [leader, two] = (await Promise.all([join(LEADER, port), join('127.0.0.2', port)])) as [ClusterLeader, ClusterWorker];
  const pattern = /^host 127\.0\.0\.3 stopped answering during step 'gram': its connection closed while it waited for the reply \(0(\.\d)? s after it was last heard from\)$/;
  const waiting = rejectsWith(t, two.send('gram', Buffer.from('2')), 'PEER_LOST', pattern);
  // Gathered: the dying host's send is now waiting at the leader.
  await leader.gather('gram', Buffer.from('1'));
  const killed = Date.now();
  await dying.kill();
  await waiting;
  t.true(Date.now() - killed < PATIENT_SILENCE_MS, 'before the silence limit');
  const err = t.throws(() => leader.reply('gram', Buffer.from('x')), { instanceOf: LinearError });
  t.is(err?.code, 'PEER_LOST');
});

test('a worker that hangs (SIGSTOP) is lost after the silence limit', async (t) => {
  const port = await freePort();
  const hanging = startHost(script('127.0.0.3', port, []));
  t.teardown(() => hanging.kill());
  const fast = { silenceMs: SILENCE_MS };
  const [leader, two] = (await Promise.all([join(LEADER, port, fast), join('127.0.0.2', port, fast)])) as [ClusterLeader, ClusterWorker];
  await hanging.next('joined');
  const pattern = /^host 127\.0\.0\.3 stopped answering during step 'gram': not heard from for 1(\.\d)? s$/;
  const gathering = rejectsWith(t, leader.gather('gram', Buffer.from('1')), 'PEER_LOST', pattern);
  const waiting = rejectsWith(t, two.send('gram', Buffer.from('2')), 'PEER_LOST', pattern);
  const stopped = Date.now();
  hanging.child.kill('SIGSTOP');
  await Promise.all([gathering, waiting]);
  const took = Date.now() - stopped;
  t.true(took >= SILENCE_MS * 0.8 && took < SILENCE_MS * 3, `${took} ms`);
});

test('when the leader dies, the workers reject with PEER_LOST naming it', async (t) => {
  const port = await freePort();
  const dying = startHost(script(LEADER, port, ['gram']));
  const fast = { silenceMs: SILENCE_MS };
  const [two, three] = (await Promise.all([join('127.0.0.2', port, fast), join('127.0.0.3', port, fast)])) as [ClusterWorker, ClusterWorker];
  await dying.next('joined');
  const pattern = /^host 127\.0\.0\.1 stopped answering during step '(gram|join)': no answer from it for 1(\.\d)? s$/;
  const waiting = rejectsWith(t, two.send('gram', Buffer.from('2')), 'PEER_LOST', pattern);
  const killed = Date.now();
  await dying.kill();
  await waiting;
  await aborted(three.signal);
  await rejectsWith(t, three.send('gram', Buffer.from('3')), 'PEER_LOST', pattern);
  t.true(Date.now() - killed < SILENCE_MS * 3);
});

test('SIGTERM on a worker: its pending call rejects with the signal\'s reason, the others with PEER_FAILED TERMINATED', async (t) => {
  const port = await freePort();
  const sigterm = new AbortController();
  const [leader, two, three] = await Promise.all([join(LEADER, port), join('127.0.0.2', port, { signal: sigterm.signal }), join('127.0.0.3', port)]).then(
    ([a, b, c]) => [asLeader(a), asWorker(b), asWorker(c)] as const,
  );
  const expected = /^host 127\.0\.0\.2 failed during step 'read': TERMINATED: host 127\.0\.0\.2 was stopped \(SIGTERM\)$/;
  const gathering = rejectsWith(t, leader.gather('read', Buffer.from('1')), 'PEER_FAILED', expected);
  const own = t.throwsAsync(two.send('read', Buffer.from('2')));
  const reason = new LinearError('TERMINATED', 'stopped by SIGTERM before finishing');
  sigterm.abort(reason);
  t.is(await own, reason);
  await gathering;
  await aborted(three.signal);
  await rejectsWith(t, three.send('read', Buffer.alloc(0)), 'PEER_FAILED', expected);
});

test('a worker that cannot reach the leader by the join deadline fails with PEER_UNREACHABLE, saying what to check', async (t) => {
  const port = await freePort();
  const started = Date.now();
  await rejectsWith(
    t,
    join('127.0.0.2', port, { joinTimeoutMs: 1_500 }),
    'PEER_UNREACHABLE',
    new RegExp(`^could not reach the leader 127\\.0\\.0\\.1 on port ${port} within 1\\.5 s \\(last: its port is not open yet\\)`),
    /security group allows TCP traffic between them on port \d+/,
    /LINEAR_CLUSTER_PORT/,
  );
  t.true(Date.now() - started < 5_000);
});

test('a leader that does not hear from a worker by the deadline fails with PEER_UNREACHABLE, and so do the joined workers', async (t) => {
  const port = await freePort();
  const leader = join(LEADER, port, { joinTimeoutMs: 1_000 });
  const two = asWorker(await join('127.0.0.2', port));
  const pattern = new RegExp(`^the leader 127\\.0\\.0\\.1 did not hear from host 127\\.0\\.0\\.3 on port ${port} within 1 s; check`);
  await rejectsWith(t, leader, 'PEER_UNREACHABLE', pattern);
  await aborted(two.signal);
  await rejectsWith(t, two.send('read', Buffer.alloc(0)), 'PEER_UNREACHABLE', pattern);
});

test("a host not in the leader's list is refused, and the job goes on", async (t) => {
  const port = await freePort();
  const pair = HOSTS.slice(0, 2);
  const [leader, two] = await Promise.all([join(LEADER, port, { hosts: pair }), join('127.0.0.2', port, { hosts: pair })]);
  await rejectsWith(t, join('127.0.0.4', port, { hosts: [LEADER, '127.0.0.4'] }), 'PEER_REFUSED', /^the leader 127\.0\.0\.1 refused this host's join \(HTTP 403\): host 127\.0\.0\.4 is not one of this job's workers \(127\.0\.0\.2\)$/);
  t.false(leader.signal.aborted);
  await Promise.all([leader.close(), two.close()]);
});

test('a worker with another host list is refused, and the job fails at once naming it', async (t) => {
  const port = await freePort();
  const pair = HOSTS.slice(0, 2);
  const leader = rejectsWith(t, join(LEADER, port, { hosts: pair }), 'PEER_FAILED', /^host 127\.0\.0\.2 failed during step 'join': PEER_REFUSED: the leader 127\.0\.0\.1 refused this host's join/);
  await rejectsWith(t, join('127.0.0.2', port, { hosts: HOSTS }), 'PEER_REFUSED', /lists the hosts 127\.0\.0\.1, 127\.0\.0\.2, 127\.0\.0\.3; the leader 127\.0\.0\.1, 127\.0\.0\.2: every host must read the same resourceconfig\.json/);
  await leader;
});

test('a second process joining under a joined host name is refused, and the job fails', async (t) => {
  const port = await freePort();
  const pair = HOSTS.slice(0, 2);
  const [leader, two] = await Promise.all([join(LEADER, port, { hosts: pair }), join('127.0.0.2', port, { hosts: pair })]);
  await rejectsWith(t, join('127.0.0.2', port, { hosts: pair }), 'PEER_REFUSED', /another process already joined as host 127\.0\.0\.2$/);
  const expected = /^host 127\.0\.0\.2 failed during step 'join': PEER_REFUSED: the leader 127\.0\.0\.1 refused this host's join \(HTTP 409\)/;
  await rejectsWith(t, leader.close(), 'PEER_FAILED', expected);
  // The process that joined is told too: the other one's report is not its own.
  await rejectsWith(t, asWorker(two).send('read', Buffer.alloc(0)), 'PEER_FAILED', expected);
});

test('the leader refuses a corrupted payload (CRC-32) and a frame of another protocol version, without failing the job', async (t) => {
  const port = await freePort();
  const pair = HOSTS.slice(0, 2);
  const [leader, two] = await Promise.all([join(LEADER, port, { hosts: pair }), join('127.0.0.2', port, { hosts: pair })]);
  const frame = Buffer.concat(encodeFrame({ host: '127.0.0.2', instance: 'x', step: 'gram', index: 0 }, payloadOf(1 << 20)));
  const corrupted = Buffer.from(frame);
  corrupted[corrupted.length - 1000] ^= 0x01;
  const crc = await postRaw(port, 'send', corrupted);
  t.is(crc.status, 400);
  t.regex(crc.text, /^the send from 127\.0\.0\.1 failed its CRC-32 check: corrupted in transit$/);
  const newer = Buffer.from(frame);
  newer.writeUInt16BE(2, 4);
  const version = await postRaw(port, 'send', newer);
  t.is(version.status, 400);
  t.regex(version.text, /speaks cluster protocol version 2, this host version 1: every host must run the same image/);
  const cut = await postRaw(port, 'send', frame.subarray(0, frame.length - 10));
  t.regex(cut.text, /is \d+ bytes where its header says \d+: cut short in transit/);
  t.false(leader.signal.aborted);
  await Promise.all([leader.close(), two.close()]);
});

/** A stand-in leader on `port` answering every request with `answer(frame)` of an "ok" frame. */
async function fakeLeader(port: number, answer: (frame: Buffer) => Buffer): Promise<Server> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.end(answer(Buffer.concat(encodeFrame({ status: 'ok' })))));
  });
  server.listen(port, '0.0.0.0');
  await once(server, 'listening');
  return server;
}

test("a worker refuses the leader's corrupted answer and one of another protocol version", async (t) => {
  const port = await freePort();
  const corrupting = await fakeLeader(port, (frame) => {
    frame[frame.length - 1] ^= 0x20;
    return frame;
  });
  t.teardown(() => corrupting.close());
  await rejectsWith(t, join('127.0.0.2', port), 'PEER_REFUSED', /^the leader 127\.0\.0\.1's answer to this host's join failed its CRC-32 check/);
  corrupting.close();
  await once(corrupting, 'close');

  const newer = await fakeLeader(port, (frame) => {
    frame.writeUInt16BE(2, 4);
    return frame;
  });
  t.teardown(() => newer.close());
  await rejectsWith(t, join('127.0.0.2', port), 'PEER_REFUSED', /answer to this host's join speaks cluster protocol version 2, this host version 1/);
});

test("the leader's close() waits for every worker's goodbye", async (t) => {
  const port = await freePort();
  const [leader, two, three] = await trio(port);
  const sent = Promise.all([two.send('fit', Buffer.from('2')), three.send('fit', Buffer.from('3'))]);
  await leader.gather('fit', Buffer.from('1'));
  leader.reply('fit', Buffer.from('model'));
  await sent;
  let leaderClosed = false;
  const closing = leader.close().then(() => (leaderClosed = true));
  await two.close();
  await delay(300);
  t.false(leaderClosed, 'the leader still waits for 127.0.0.3');
  const started = Date.now();
  await Promise.all([three.close(), closing]);
  t.true(Date.now() - started < 1_000, 'the goodbye is answered before the leader closes');
});

test('hosts that disagree on a step fail instead of waiting for each other', async (t) => {
  const port = await freePort();
  const pair = HOSTS.slice(0, 2);
  const [leader, two] = await Promise.all([join(LEADER, port, { hosts: pair }), join('127.0.0.2', port, { hosts: pair })]).then(([a, b]) => [asLeader(a), asWorker(b)] as const);
  const gathering = rejectsWith(t, leader.gather('gram', Buffer.from('1')), 'INTERNAL_ERROR', /hosts disagree on step 1/);
  await rejectsWith(t, two.send('score', Buffer.from('2')), 'PEER_FAILED', /INTERNAL_ERROR: hosts disagree on step 1: 127\.0\.0\.2 calls it 'score', another host 'gram'/);
  await gathering;
});
