/** Which hosts make up the job and which of them leads: the same answer on every host, from its resourceconfig.json. */

export interface Topology {
  /** Every host of the job, sorted. */
  hosts: string[];
  /** This host. */
  current: string;
  /** The first of `hosts`: it runs the server the others call. */
  leader: string;
  isLeader: boolean;
}

export function topologyOf(resource: { currentHost: string; hosts: string[] }): Topology {
  // A plain string sort, not SageMaker's order: each host must pick the same leader by itself.
  const hosts = [...resource.hosts].sort();
  const leader = hosts[0];
  return { hosts, current: resource.currentHost, leader, isLeader: resource.currentHost === leader };
}
