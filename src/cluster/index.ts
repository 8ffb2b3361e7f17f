/**
 * The peer protocol of a multi-instance training job. SageMaker starts one
 * container per host; the first host in sorted order leads. The leader runs
 * an HTTP server on LINEAR_CLUSTER_PORT (7433) and the workers are its
 * clients, so only one port must be open between the instances. Each step is
 * a gather: every host hands in a payload, the leader gets them all and
 * replies the same payload to every worker.
 *
 * The same training code runs on every host:
 *
 *   const cluster = await joinCluster(topologyOf(resource), { log, signal });
 *   try {
 *     if (cluster.isLeader) {
 *       const parts = await cluster.gather('fit', mine);
 *       cluster.reply('fit', solve(parts));
 *     } else {
 *       use(await cluster.send('fit', mine));
 *     }
 *     await cluster.close();
 *   } catch (err) {
 *     await cluster.fail('fit', err);
 *     throw err;
 *   }
 *
 * A failure anywhere fails every host: a host's own (fail(), SIGTERM) as
 * PEER_FAILED naming it, a host gone silent or whose connection closed as
 * PEER_LOST, a host that never showed up as PEER_UNREACHABLE. With the
 * default 5 s heartbeats and 30 s silence limit, every host knows within
 * about 40 s.
 */
import { startLeader, type ClusterLeader } from './leader';
import { settingsOf, type ClusterOptions } from './member';
import type { Topology } from './topology';
import { joinLeader, type ClusterWorker } from './worker';

export type { ClusterLeader } from './leader';
export type { ClusterWorker } from './worker';
export { CLUSTER_PORT_ENV, DEFAULT_CLUSTER_PORT, type ClusterMember, type ClusterOptions } from './member';
export { topologyOf, type Topology } from './topology';

/** One host's view of the job's cluster, for its whole life; `isLeader` tells which calls it has. */
export type Cluster = ClusterLeader | ClusterWorker;

/**
 * This host's membership, once it has joined: the leader resolves when every
 * worker has joined, a worker when the leader has accepted it. A single host
 * gets a leader that opens no port, whose gather() returns its own payload at
 * once, so the caller needs no special case.
 */
export async function joinCluster(topology: Topology, options: ClusterOptions): Promise<Cluster> {
  const settings = settingsOf(options);
  return topology.isLeader ? startLeader(topology, settings) : joinLeader(topology, settings);
}
