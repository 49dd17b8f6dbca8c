import type { KvStore } from "../kvstore/kvstore.js";
import { keys } from "../resources/keys.js";
import { PollTimeoutError, pollUntil } from "../util/poll.js";
import { parseManifests, type Manifest } from "../resources/manifest.js";
import { objectKey } from "../resources/object-keys.js";
import type { PodSpec, PodStatus } from "../resources/pod.js";
import type { ServiceStatus } from "../resources/service.js";
import type { ServiceModel } from "../services/service-list-format.js";
import { CNP_KIND, POLICY_API_VERSION, parseNetworkPolicy } from "../policy/index.js";
import { SERVICES, type CasePolicy, type PolicyClusters } from "./cases.js";
import { ECHO_PORT, type ClusterEnv, type NodeInfo, type PodInfo, type ServiceInfo } from "./plan.js";

/**
 * The connectivity test's own workloads, in the test namespace of each cluster (Cilium's names
 * where they apply): `client` in the cluster under test; `echo` in every cluster with one pod per
 * node, so the client has an echo pod on its own node and on another node; the LoadBalancer
 * service `echo` over the local echo pods; and the global service `echo-remote`, which in the
 * client's cluster selects no pod, so its only backends are the other cluster's.
 */

export const TEST_NAMESPACE = "trellis-test";

/** What the test needs of one cluster; the CLI gives it the kvstore and the agents' tables. */
export interface TestCluster {
  readonly name: string;
  readonly store: KvStore;
  /** Every agent's service table (`GET /v1/services`), one list per node. */
  serviceTables(): Promise<ServiceModel[][]>;
  /** The node's network namespace, when it is known (the lab). */
  nodeNetns(node: string): string | undefined;
  /**
   * Whether the pod's server accepts connections on `port`, checked from inside the pod (a
   * readiness probe: a pod is Running as soon as its process starts, before it listens).
   */
  podServing(pod: PodInfo, port: number): Promise<boolean>;
  /** Every agent's policy engine: its repository revision and whether a change still waits for the kernel. */
  policyStatus(): Promise<{ readonly node: string; readonly revision: number; readonly pending: boolean }[]>;
}

export type Progress = (line: string) => void;

export class ConnectivitySetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConnectivitySetupError";
  }
}

/** The manifests for one cluster; `remote` is the --multi-cluster peer's name, if any. */
export function testManifests(role: "local" | "remote", cluster: string, nodeCount: number, remote: string | undefined, ns = TEST_NAMESPACE): string {
  const deployment = (name: string, replicas: number, labels: Record<string, string>, ports: boolean) => `apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}, namespace: ${ns}, labels: {name: ${name}}}
spec:
  replicas: ${replicas}
  selector: {matchLabels: {name: ${name}}}
  template:
    metadata: {labels: ${JSON.stringify(labels)}}
    spec: {containers: [{name: ${name}, image: trellis/echo${ports ? `, ports: [{containerPort: ${ECHO_PORT}}]` : ""}}]}
`;
  const globalService = (selectCluster: string) => `apiVersion: v1
kind: Service
metadata:
  name: ${SERVICES.echoRemote}
  namespace: ${ns}
  annotations: {service.cilium.io/global: "true"}
spec:
  ports: [{port: ${ECHO_PORT}, targetPort: ${ECHO_PORT}}]
  selector: {name: echo, test-cluster: ${selectCluster}}
`;
  const docs: string[] = [deployment("echo", nodeCount, { name: "echo", kind: "echo", "test-cluster": cluster }, true)];
  if (role === "local") {
    docs.push(deployment("client", 1, { name: "client", kind: "client" }, false));
    docs.push(`apiVersion: v1
kind: Service
metadata: {name: ${SERVICES.echo}, namespace: ${ns}}
spec:
  type: LoadBalancer
  ports: [{port: ${ECHO_PORT}, targetPort: ${ECHO_PORT}}]
  selector: {name: echo}
`);
    if (remote) docs.push(globalService(remote));
  } else {
    docs.push(globalService(cluster));
  }
  return docs.join("---\n");
}

/** Writes the objects as `trellis apply` does (with a creation timestamp). */
export async function applyManifests(store: KvStore, text: string): Promise<Manifest[]> {
  const manifests = parseManifests(text, "connectivity test workloads");
  const now = new Date().toISOString();
  for (const m of manifests) await store.put(objectKey(m), JSON.stringify({ ...m.object, metadata: { ...m.object.metadata, creationTimestamp: now } }));
  return manifests;
}

async function listJson<T>(store: KvStore, prefix: string): Promise<T[]> {
  return (await store.list(prefix)).kvs.map((kv) => JSON.parse(kv.value.toString()) as T);
}

export async function nodesOf(c: TestCluster): Promise<NodeInfo[]> {
  const regs = await listJson<{ name: string; ip: string }>(c.store, keys.nodeRegistrations());
  return regs.map((r) => ({ name: r.name, ip: r.ip, netns: c.nodeNetns(r.name) })).sort((a, b) => a.name.localeCompare(b.name, "en", { numeric: true }));
}

/** The running pods of a deployment in the test namespace. */
export async function deploymentPods(store: KvStore, deployment: string, ns = TEST_NAMESPACE): Promise<PodInfo[]> {
  const specs = (await listJson<PodSpec>(store, `${keys.pods()}${ns}/`)).filter((p) => p.deployment === deployment);
  const statuses = new Map((await listJson<PodStatus>(store, `${keys.podStatuses()}${ns}/`)).map((s) => [s.name, s]));
  return specs.flatMap((p) => {
    const s = statuses.get(p.name);
    return s?.phase === "Running" && s.ip ? [{ name: p.name, node: p.node, ip: s.ip, netns: s.netns }] : [];
  });
}

export async function waitUntil<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>, intervalMs = 300): Promise<T> {
  try {
    return await pollUntil(what, timeoutMs, probe, intervalMs);
  } catch (e) {
    throw e instanceof PollTimeoutError ? new ConnectivitySetupError(e.message) : e;
  }
}

export async function waitForDeployment(c: TestCluster, name: string, replicas: number, servingPort: number | undefined, timeoutMs: number, progress: Progress): Promise<PodInfo[]> {
  progress(`⌛ [${c.name}] Waiting for deployment ${TEST_NAMESPACE}/${name} to become ready...`);
  const serving = new Set<string>();
  return waitUntil(`deployment ${TEST_NAMESPACE}/${name} in ${c.name} to have ${replicas} running pod(s)${servingPort ? ` serving port ${servingPort}` : ""}; see "trellis get pods -n ${TEST_NAMESPACE} --context ${c.name}"`, timeoutMs, async () => {
    const pods = await deploymentPods(c.store, name);
    if (pods.length !== replicas) return undefined;
    if (servingPort !== undefined) {
      for (const p of pods) if (!serving.has(p.name) && (await c.podServing(p, servingPort))) serving.add(p.name);
      if (!pods.every((p) => serving.has(p.name))) return undefined;
    }
    return pods;
  });
}

export async function serviceInfo(store: KvStore, name: string, ns = TEST_NAMESPACE): Promise<ServiceInfo | undefined> {
  const kv = await store.get(keys.serviceStatus(ns, name));
  if (!kv) return undefined;
  const st = JSON.parse(kv.value.toString()) as ServiceStatus;
  return { port: ECHO_PORT, clusterIP: st.clusterIP, loadBalancerIP: st.loadBalancerIPs?.[0], nodePort: st.nodePorts?.[String(ECHO_PORT)] };
}

/**
 * A service is ready when it has its addresses and every agent of the cluster has realized its
 * ClusterIP frontend with `backends` backends: control-plane readiness, so a broken data path
 * shows up in the tests rather than as a timeout here.
 */
export async function waitForService(c: TestCluster, name: string, backends: number, needs: { loadBalancer?: boolean }, timeoutMs: number, progress: Progress): Promise<ServiceInfo> {
  progress(`⌛ [${c.name}] Waiting for service ${TEST_NAMESPACE}/${name} to become ready...`);
  return waitUntil(`service ${TEST_NAMESPACE}/${name} in ${c.name} to have its addresses and ${backends} backend(s) on every node; see "trellis service list --context ${c.name}"`, timeoutMs, async () => {
    const info = await serviceInfo(c.store, name);
    if (!info?.clusterIP || (needs.loadBalancer && (!info.loadBalancerIP || !info.nodePort))) return undefined;
    const tables = await c.serviceTables();
    const realized = tables.every((t) =>
      t.some((m) => {
        const r = m.status.realized;
        return r["frontend-address"].ip === info.clusterIP && r["frontend-address"].port === ECHO_PORT && r["backend-addresses"].filter((b) => b.state === "active").length === backends;
      }),
    );
    return realized ? info : undefined;
  });
}

async function testObjectsLeft(store: KvStore, ns: string): Promise<number> {
  let n = 0;
  for (const prefix of [keys.deployments(), keys.services(), keys.pods(), keys.podStatuses(), keys.policies()]) n += (await store.list(`${prefix}${ns}/`)).kvs.length;
  return n;
}

/** The stored form of a test policy, validated as `trellis apply` validates it. */
export function testPolicyDocument(p: CasePolicy, clusters: PolicyClusters, ns = TEST_NAMESPACE): Record<string, unknown> {
  const doc = { apiVersion: POLICY_API_VERSION, kind: CNP_KIND, metadata: { name: p.name, namespace: ns }, spec: p.spec(clusters) };
  parseNetworkPolicy(doc);
  return doc;
}

/**
 * Writes or deletes test policies in one cluster and waits until every agent there has taken the
 * change into its kernel: its policy revision moved past what it was, with nothing pending.
 */
export async function changeTestPolicies(c: TestCluster, change: "apply" | "remove", policies: readonly CasePolicy[], clusters: PolicyClusters, timeoutMs: number, progress: Progress, ns = TEST_NAMESPACE): Promise<void> {
  if (policies.length === 0) return;
  const before = new Map((await c.policyStatus()).map((s) => [s.node, s.revision]));
  for (const p of policies) {
    if (change === "apply") await c.store.put(keys.policy(ns, p.name), JSON.stringify(testPolicyDocument(p, clusters, ns)));
    else await c.store.delete(keys.policy(ns, p.name));
  }
  const names = policies.map((p) => p.name).join(", ");
  progress(`${change === "apply" ? "🛡️  Applying" : "🧽 Removing"} policy ${names} in ${c.name}...`);
  await waitUntil(`every agent of ${c.name} to enforce the change of policy ${names}; see "trellis status --context ${c.name}"`, timeoutMs, async () => {
    const now = await c.policyStatus();
    return now.every((s) => !s.pending && s.revision > (before.get(s.node) ?? -1)) ? true : undefined;
  }, 100);
}

/**
 * Removes the test namespace's deployments and services and waits for their pods to be gone, so
 * the next run starts clean. Returns whether there was anything to remove.
 */
export async function removeTestWorkloads(c: TestCluster, timeoutMs: number, progress: Progress, ns = TEST_NAMESPACE): Promise<boolean> {
  if ((await testObjectsLeft(c.store, ns)) === 0) return false;
  progress(`🔥 [${c.name}] Deleting the workloads of namespace ${ns}...`);
  await c.store.deletePrefix(`${keys.deployments()}${ns}/`);
  await c.store.deletePrefix(`${keys.services()}${ns}/`);
  await c.store.deletePrefix(`${keys.policies()}${ns}/`);
  progress(`⌛ [${c.name}] Waiting for the pods of namespace ${ns} to be removed...`);
  await waitUntil(`the pods of namespace ${ns} in ${c.name} to be removed; see "trellis get pods -n ${ns} --context ${c.name}"`, timeoutMs, async () => ((await testObjectsLeft(c.store, ns)) === 0 ? true : undefined));
  return true;
}

/** Deploys what the test needs into both clusters and returns what it found there. */
export async function deployTestWorkloads(local: TestCluster, remote: TestCluster | undefined, timeoutMs: number, progress: Progress): Promise<{ local: ClusterEnv & { client: PodInfo }; remote?: ClusterEnv }> {
  const localNodes = await nodesOf(local);
  const remoteNodes = remote ? await nodesOf(remote) : [];
  if (localNodes.length === 0) throw new ConnectivitySetupError(`${local.name} has no registered nodes: are its agents running? ("trellis lab status")`);
  if (remote && remoteNodes.length === 0) throw new ConnectivitySetupError(`${remote.name} has no registered nodes: are its agents running? ("trellis lab status")`);
  progress(`✨ [${local.name}] Deploying client and echo (${localNodes.length} pod(s)) in namespace ${TEST_NAMESPACE}...`);
  await applyManifests(local.store, testManifests("local", local.name, localNodes.length, remote?.name));
  if (remote) {
    progress(`✨ [${remote.name}] Deploying echo (${remoteNodes.length} pod(s)) in namespace ${TEST_NAMESPACE}...`);
    await applyManifests(remote.store, testManifests("remote", remote.name, remoteNodes.length, undefined));
  }
  const [client] = await waitForDeployment(local, "client", 1, undefined, timeoutMs, progress);
  const echo = await waitForDeployment(local, "echo", localNodes.length, ECHO_PORT, timeoutMs, progress);
  const remoteEcho = remote ? await waitForDeployment(remote, "echo", remoteNodes.length, ECHO_PORT, timeoutMs, progress) : [];
  const services: Record<string, ServiceInfo> = {};
  services[SERVICES.echo] = await waitForService(local, SERVICES.echo, echo.length, { loadBalancer: true }, timeoutMs, progress);
  if (remote) services[SERVICES.echoRemote] = await waitForService(local, SERVICES.echoRemote, remoteEcho.length, {}, timeoutMs, progress);
  return {
    local: { name: local.name, nodes: localNodes, echo, services, client: client! },
    ...(remote ? { remote: { name: remote.name, nodes: remoteNodes, echo: remoteEcho, services: {} } } : {}),
  };
}
