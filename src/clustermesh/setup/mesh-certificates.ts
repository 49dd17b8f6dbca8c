import type { KvStore } from "../../kvstore/kvstore.js";
import { readClusterCa } from "../../install/cluster-ca.js";
import { DAY_MS, isIssuedBy } from "../../pki/certificates.js";
import { renewalDecision } from "../../pki/renewal.js";
import { MESH_SECRET_NAME, MESH_SECRET_NAMESPACE, OWN_CERT_SECRET_KEY, decodeSecret, ownCertFiles, parseMeshSecret, readMeshSecret } from "../mesh-secret.js";
import { certValidityDaysOf, type MeshSettings } from "./mesh-settings.js";
import { readRemoteCert } from "./remote-cert.js";

/** One client certificate the mesh depends on, as `clustermesh status` and the operator's warnings show it. */
export interface MeshCertificate {
  /** "remote" for the cluster's own, else the peer it reaches. */
  readonly name: string;
  readonly where: string;
  readonly notAfter: string;
  readonly serial: string;
  /** The operator renews it (the cluster's own certificate, with tls.auto set). */
  readonly renewedHere: boolean;
  /** What to do about it, when it needs attention (expired, due and not renewed here). */
  readonly attention?: string;
}

/**
 * The cluster's own `remote` certificate and the peers' certificates copied into the mesh secret
 * by `clustermesh connect` between clusters with different CAs, each with what it needs.
 */
export async function meshCertificates(store: KvStore, cluster: string, settings: MeshSettings | undefined, now = new Date()): Promise<MeshCertificate[]> {
  const out: MeshCertificate[] = [];
  const auto = Boolean(settings?.enabled && settings.tlsAutoMethod);
  const validityMs = certValidityDaysOf(settings) * DAY_MS;
  const own = await readRemoteCert(store);
  if (own) {
    const d = renewalDecision(own.certPem, { validityMs, now });
    if (d.info) {
      const life = d.info.notAfter.getTime() - d.info.notBefore.getTime();
      // The operator renews right at the due time: only a renewal well past it is overdue.
      const overdue = d.renew && (d.reason === "expired" || now.getTime() - (d.info.notAfter.getTime() - life / 3) > Math.min(300_000, life / 10));
      let attention: string | undefined;
      if (!auto && d.renew && (d.reason === "due" || d.reason === "expired")) {
        attention = `${d.detail}; certificates are not renewed automatically: set clustermesh.apiserver.tls.auto.method (trellis upgrade --set clustermesh.apiserver.tls.auto.method=cronJob) or run "trellis clustermesh enable" again`;
      } else if (auto && overdue) attention = `${d.detail}; the operator has not renewed it: is it running? (trellis lab status, its log)`;
      out.push({ name: "remote", where: `secret ${MESH_SECRET_NAMESPACE}/clustermesh-apiserver-remote-cert`, notAfter: d.info.notAfter.toISOString(), serial: d.info.serialNumber, renewedHere: auto, ...(attention ? { attention } : {}) });
    }
  }

  const data = await readMeshSecret(store).catch(() => undefined);
  if (!data) return out;
  const ownKv = await store.get(OWN_CERT_SECRET_KEY);
  const ownFiles = ownKv ? ownCertFiles(decodeSecret(OWN_CERT_SECRET_KEY, ownKv.value).data) : {};
  const ca = await readClusterCa(store).catch(() => undefined);
  for (const peer of parseMeshSecret(data, cluster, ownFiles).peers) {
    const cert = peer.tls?.cert;
    if (!cert || cert === own?.certPem) continue;
    const d = renewalDecision(cert, { validityMs: Infinity, now });
    if (!d.info) continue;
    const shared = ca !== undefined && isIssuedBy(cert, ca.certPem);
    const hint = shared
      ? `: ${peer.name} shares this cluster's CA, so connecting again makes this cluster use its own certificate, which is renewed here`
      : `, after ${peer.name} renewed its remote certificate`;
    const attention = d.renew && (d.reason === "due" || d.reason === "expired") ? `${d.detail}; it is a copy of ${peer.name}'s remote certificate: run "trellis clustermesh connect" again${hint}` : undefined;
    out.push({ name: peer.name, where: `secret ${MESH_SECRET_NAMESPACE}/${MESH_SECRET_NAME}`, notAfter: d.info.notAfter.toISOString(), serial: d.info.serialNumber, renewedHere: false, ...(attention ? { attention } : {}) });
  }
  return out;
}
