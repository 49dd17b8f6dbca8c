import { resolve } from "node:path";
import type { ContextEntry } from "../cli/config-file.js";
import type { EtcdServerCertificate } from "../operator/cert-renewal.js";
import type { KeyPairPem } from "../pki/certificates.js";
import { addServerAddresses, pkiFiles, readServerCert, rekeyClusterPki, renewServerCert } from "./cluster-pki.js";
import { labPaths } from "./lab-dirs.js";
import { readLabRecord } from "./lab-record.js";
import { connectAdmin, controlDaemon, daemonConfigPath, labUsers, plansOf } from "./lab.js";
import type { LabClusterPlan } from "./address-plan.js";
import { Supervisor } from "./supervisor.js";

/**
 * What the lab does for the mesh commands where a real installation would roll out pods: re-key a
 * cluster when its CA changes, add the mesh's exposed addresses to etcd's certificate, and run
 * KVStoreMesh. Commands call these only for contexts that belong to the lab.
 */
export function labClusterOf(context: ContextEntry): LabClusterPlan | undefined {
  const record = readLabRecord();
  if (!record || context.context["state-dir"] !== labPaths.cluster(context.context.cluster)) return undefined;
  return plansOf(record).find((p) => p.name === context.context.cluster);
}

async function waitForEtcd(cluster: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const store = await connectAdmin(cluster);
    try {
      if ((await store.revision()) > 0) return;
    } catch (e) {
      if (Date.now() > deadline) throw new Error(`etcd of ${cluster} did not come back within 30 s: ${(e as Error).message}`);
    } finally {
      await store.close();
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * The cluster's CA became `ca` (ca import): issue etcd's and every client certificate again from
 * it, trust old and new, and restart etcd and the cluster's daemons so they load them.
 */
export async function labAdoptCa(plan: LabClusterPlan, ca: KeyPairPem, progress: (l: string) => void): Promise<boolean> {
  const changed = await rekeyClusterPki(labPaths.pki(plan.name), plan.name, [plan.controlPlane.ip], labUsers(plan.name), ca);
  if (!changed) return false;
  await controlDaemon(plan.name, "etcd", undefined, "restart");
  await waitForEtcd(plan.name);
  const sup = new Supervisor(labPaths.pids());
  const running = ["operator", "kvstoremesh"].filter((c) => sup.isRunning(`${plan.name}/${c}`));
  for (const c of running) await controlDaemon(plan.name, c, undefined, "restart");
  for (const n of plan.nodes) {
    await controlDaemon(plan.name, "agent", n.name, "restart");
    await controlDaemon(plan.name, "pod-runner", n.name, "restart");
  }
  progress(`  ${plan.name}: etcd and client certificates re-issued from the new CA; etcd, operator and ${plan.nodes.length} agent(s) restarted`);
  return true;
}

/** etcd's certificate must name every address peers dial (LB IP, node IPs). No restart needed. */
export async function labExposeAddresses(plan: LabClusterPlan, ips: readonly string[], validityDays?: number): Promise<boolean> {
  return addServerAddresses(labPaths.pki(plan.name), plan.name, [plan.controlPlane.ip], ips, validityDays);
}

/**
 * The lab etcd's server certificate, for the operator's renewal (tls.auto), when the operator is
 * the lab's own: it runs with the lab's daemon config of that cluster. etcd re-reads the files on
 * every handshake, so a renewed certificate needs no restart.
 */
export function labEtcdServerCertificate(kvstoreConfigPath: string, cluster: string): EtcdServerCertificate | undefined {
  const record = readLabRecord();
  const plan = record ? plansOf(record).find((p) => p.name === cluster) : undefined;
  if (!plan || resolve(kvstoreConfigPath) !== resolve(daemonConfigPath(cluster))) return undefined;
  const dir = labPaths.pki(cluster);
  return {
    where: pkiFiles(dir).serverCert,
    read: async () => readServerCert(dir),
    reissue: (ca, validityDays, now) => renewServerCert(dir, cluster, [plan.controlPlane.ip], ca, validityDays, now),
  };
}

export async function labKvstoremesh(plan: LabClusterPlan, run: boolean): Promise<void> {
  const sup = new Supervisor(labPaths.pids());
  const running = sup.isRunning(`${plan.name}/kvstoremesh`);
  if (run && !running) await controlDaemon(plan.name, "kvstoremesh", undefined, "start");
  if (!run && running) await controlDaemon(plan.name, "kvstoremesh", undefined, "stop");
}
