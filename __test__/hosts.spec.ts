/**
 * Training on several hosts, end to end on loopback: one real `linear train`
 * process per host, each with its own ml tree and resourceconfig.json. The
 * hosts are 127.0.0.1-3 (all of 127/8 is loopback on Linux), so every worker
 * resolves and reaches the leader for real. The leader's model must be the
 * bits one host fits on all the files.
 */
import test, { type ExecutionContext } from 'ava';
import { existsSync, readFileSync } from 'node:fs';
import { makeMlTree, runCli, type CliResult, type MlTree } from './helpers/ml-tree';
import { freePort } from './helpers/ports';

const HOSTS = ['127.0.0.1', '127.0.0.2', '127.0.0.3'];


/** Seeded rows `y,x1,x2,x3` (x2 offset near 1e5), with a header. */
function part(rows: number, seed: number): string {
  let state = seed;
  const next = () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
  const lines = ['y,x1,x2,x3'];
  for (let i = 0; i < rows; i += 1) {
    const [a, b, c] = [next() * 10, 1e5 + next() * 5, next()];
    lines.push([3 + 2 * a - 0.5 * b + c + next() * 0.1, a, b, c].map((v) => v.toPrecision(12)).join(','));
  }
  return `${lines.join('\n')}\n`;
}

const SIZES = [50, 3000, 7, 20000, 900, 12000];
const PARTS: Record<string, string> = Object.fromEntries(SIZES.map((n, i) => [`part-${i}.csv`, part(n, i + 1)]));

interface Job {
  trees: MlTree[];
  results: CliResult[];
}

/** Runs one `linear train` per host at once; `shares[h]` lists the files host h holds. */
async function trainOnHosts(
  t: ExecutionContext,
  hosts: string[],
  shares: string[][],
  options: { distribution: string; hyperparameters?: Record<string, string>; files?: Record<string, string> },
): Promise<Job> {
  const files = options.files ?? PARTS;
  const port = await freePort();
  const trees = await Promise.all(
    hosts.map((host, h) =>
      makeMlTree(
        {
          resourceConfig: { current_host: host, hosts },
          inputDataConfig: { train: { ContentType: 'text/csv', TrainingInputMode: 'File', S3DistributionType: options.distribution } },
          hyperparameters: options.hyperparameters ?? {},
          channels: { train: Object.fromEntries(shares[h].map((name) => [name, files[name]])) },
        },
        t,
      ),
    ),
  );
  const env = { LINEAR_CLUSTER_PORT: String(port) };
  const results = await Promise.all(trees.map((tree) => runCli(['train'], { root: tree.root, env, timeoutMs: 120_000 })));
  return { trees, results };
}

function modelOf(tree: MlTree): Record<string, unknown> {
  return JSON.parse(readFileSync(tree.modelFile, 'utf8')) as Record<string, unknown>;
}

/**
 * The model without where its rows were read and without the residual
 * diagnostics (on several hosts they come from the sample of the rows the
 * leader read): what must match one host's bits.
 */
function fitted(model: Record<string, unknown>): string {
  const { training: _, statistics, ...rest } = model;
  const { residuals: __, ...kept } = statistics as Record<string, unknown>;
  return JSON.stringify({ ...rest, statistics: kept });
}

let reference: Promise<Record<string, unknown>> | undefined;
/** One host reading every file. */
function oneHost(t: ExecutionContext): Promise<Record<string, unknown>> {
  reference ??= (async () => {
    const job = await trainOnHosts(t, ['algo-1'], [Object.keys(PARTS)], { distribution: 'FullyReplicated' });
    if (job.results[0].code !== 0) throw new Error(job.results[0].stderr);
    return modelOf(job.trees[0]);
  })();
  return reference;
}

function describeJob(job: Job): string {
  return job.results.map((r, h) => `--- host ${h + 1}: exit ${r.code}\n${r.stderr.slice(-1500)}`).join('\n');
}

interface HostShare {
  host: string;
  rows: number;
  bytes: number;
}

async function assertOneHostsBits(t: ExecutionContext, job: Job, distribution: string): Promise<HostShare[]> {
  t.deepEqual(
    job.results.map((r) => r.code),
    job.results.map(() => 0),
    describeJob(job),
  );
  const one = await oneHost(t);
  const leader = modelOf(job.trees[0]);
  t.is(fitted(leader), fitted(one), 'the leader fits one host\'s bits');
  const residuals = (leader.statistics as { residuals: { source: string } | null }).residuals;
  t.true(residuals === null || residuals.source === 'sample', 'several hosts: residual diagnostics only from the leader\'s sample');
  for (const tree of job.trees.slice(1)) t.false(existsSync(tree.modelFile), 'workers write no model');
  const training = leader.training as { distribution: string; hosts: HostShare[] };
  t.is(training.distribution, distribution);
  t.deepEqual(
    training.hosts.map((h) => h.host),
    HOSTS.slice(0, job.trees.length),
  );
  const n = (one.statistics as { n: number }).n;
  t.is(
    training.hosts.reduce((sum, h) => sum + h.rows, 0),
    n,
    'the hosts read every row once',
  );
  t.true(job.results[0].stdout.includes(`Hosts:`), 'the summary names the hosts');
  t.regex(job.results[0].stdout, /#quality_metric: host=127\.0\.0\.1, train mse/);
  for (const r of job.results.slice(1)) t.false(r.stdout.includes('#quality_metric'), 'metrics come from the leader only');
  return training.hosts;
}

test('sharded over three hosts with unequal shards and an empty one: one host\'s bits', async (t) => {
  const job = await trainOnHosts(t, HOSTS, [['part-0.csv', 'part-3.csv', 'part-5.csv'], [], ['part-1.csv', 'part-2.csv', 'part-4.csv']], { distribution: 'ShardedByS3Key' });
  const hosts = await assertOneHostsBits(t, job, 'ShardedByS3Key');
  t.is(hosts[1].rows, 0);
  t.is(hosts[1].bytes, 0);
});

test('sharded over two hosts where the leader has the empty shard: one host\'s bits', async (t) => {
  const job = await trainOnHosts(t, HOSTS.slice(0, 2), [[], Object.keys(PARTS)], { distribution: 'ShardedByS3Key' });
  await assertOneHostsBits(t, job, 'ShardedByS3Key');
});

test('replicated over three hosts: each reads a share, one host\'s bits', async (t) => {
  const all = Object.keys(PARTS);
  const job = await trainOnHosts(t, HOSTS, [all, all, all], { distribution: 'FullyReplicated' });
  const hosts = await assertOneHostsBits(t, job, 'FullyReplicated');
  for (const h of hosts) t.true(h.rows > 0, `${h.host} read a share`);
});

test('bad data on one worker fails every host, naming it; no model is written', async (t) => {
  const files = { ...PARTS, 'broken.csv': 'y,x1,x2,x3\n1,2,3,oops\n' };
  const job = await trainOnHosts(t, HOSTS, [['part-0.csv'], ['part-1.csv'], ['broken.csv']], { distribution: 'ShardedByS3Key', files });
  t.deepEqual(
    job.results.map((r) => r.code !== 0),
    [true, true, true],
    describeJob(job),
  );
  const failures = job.trees.map((tree) => (existsSync(tree.failureFile) ? readFileSync(tree.failureFile, 'utf8') : `no failure file\n${describeJob(job)}`));
  t.regex(failures[2], /^NON_NUMERIC_VALUE: .*broken\.csv/);
  for (const failure of failures.slice(0, 2)) t.regex(failure, /^PEER_FAILED: .*127\.0\.0\.3.*NON_NUMERIC_VALUE/);
  for (const tree of job.trees) t.false(existsSync(tree.modelFile));
});
