import { join } from "node:path";

/**
 * Where the lab keeps its files: one directory (TRELLIS_LAB_DIR, default /var/lib/trellis/lab) with
 * the lab's record, each cluster's PKI, etcd data and logs, each node's agent socket and state,
 * and the daemons' pid files. `lab status` names it; `lab down` removes it.
 */
export function labDir(): string {
  return process.env.TRELLIS_LAB_DIR || "/var/lib/trellis/lab";
}

export const labPaths = {
  record: (root = labDir()) => join(root, "lab.json"),
  pids: (root = labDir()) => join(root, "pids"),
  cluster: (cluster: string, root = labDir()) => join(root, cluster),
  pki: (cluster: string, root = labDir()) => join(root, cluster, "pki"),
  etcdData: (cluster: string, root = labDir()) => join(root, cluster, "etcd-data"),
  /** The admin's etcd client config, in Cilium's etcd config file format. */
  etcdConfig: (cluster: string, root = labDir()) => join(root, cluster, "etcd-admin.yaml"),
  logs: (cluster: string, root = labDir()) => join(root, cluster, "logs"),
  node: (cluster: string, node: string, root = labDir()) => join(root, cluster, "nodes", node),
  agentSocket: (cluster: string, node: string, root = labDir()) => join(root, cluster, "nodes", node, "agent.sock"),
};
