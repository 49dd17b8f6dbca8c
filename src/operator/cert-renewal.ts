import { meshCertificates } from "../clustermesh/setup/mesh-certificates.js";
import { certValidityDaysOf, readMeshSettings } from "../clustermesh/setup/mesh-settings.js";
import { ensureRemoteCert } from "../clustermesh/setup/remote-cert.js";
import { readClusterCa } from "../install/cluster-ca.js";
import type { KvStore } from "../kvstore/kvstore.js";
import { ListWatcher } from "../kvstore/list-watch.js";
import { subsystemLogger, type Logger } from "../log/logger.js";
import { DAY_MS, type KeyPairPem } from "../pki/certificates.js";
import { renewalDecision, type RenewalDecision } from "../pki/renewal.js";
import { keys } from "../resources/keys.js";
import { SECRETS } from "../resources/secret.js";

/**
 * etcd's server certificate, where the deployment lets the operator replace it (the lab: files
 * under its PKI directory). The CLI layer provides it; the operator knows nothing of the lab.
 */
export interface EtcdServerCertificate {
  /** Where it lives, for messages. */
  readonly where: string;
  /** The certificate etcd presents now (PEM), or undefined when there is none. */
  read(): Promise<string | undefined>;
  /** Issues it again from `ca` with the same names and addresses; etcd must take it up without a restart. */
  reissue(ca: KeyPairPem, validityDays: number, now: Date): Promise<void>;
}

export interface CertRenewalOptions {
  /** The cluster's own etcd. */
  readonly store: KvStore;
  readonly cluster: string;
  readonly serverCertificate?: EtcdServerCertificate;
  /** Default: the clock. Tests move it. */
  readonly now?: () => Date;
  /** Longest wait between two checks (default 1 h): a changed clock or a missed event is caught by then. */
  readonly maxIntervalMs?: number;
  /** Shortest wait (default 1 s), also the wait after a failed check (×5). */
  readonly minIntervalMs?: number;
  readonly logger?: Logger;
}

export interface RenewalPass {
  /** What was issued again, with the reason ("remote: due ..."). */
  readonly renewed: string[];
  /** Certificates that need someone's attention (no tls.auto, a peer's copy about to expire). */
  readonly attention: string[];
  readonly nextCheckAt: Date;
}

/**
 * The operator's certificate renewal, for `clustermesh.apiserver.tls.auto.method` (any of helm,
 * cronJob, certmanager): the `remote` client certificate and, where reachable, etcd's server
 * certificate are issued again from the cluster CA when due (a third of their life left), when
 * the CA changed, or when they outlive a lowered certValidityDuration. Each pass says when the
 * next is needed; changes of the mesh settings and of the kube-system secrets bring it forward.
 * Without tls.auto nothing is renewed, and certificates close to expiry are logged as warnings.
 * Peers' agents and KVStoreMesh follow the renewed secret on their own (ConfigWatcher).
 */
export class CertRenewal {
  /** Passes run so far, and the error of the last one that failed (cleared by one that succeeds). */
  passes = 0;
  lastError: string | undefined;
  private readonly log: Logger;
  private readonly now: () => Date;
  private readonly watchers: ListWatcher[] = [];
  private readonly warned = new Set<string>();
  private loop: Promise<void> | undefined;
  private stopped = false;
  private dirty = false;
  private wake: (() => void) | undefined;
  private serverHookNoted = false;

  constructor(private readonly options: CertRenewalOptions) {
    this.log = options.logger ?? subsystemLogger("operator", { component: "cert-renewal" });
    this.now = options.now ?? (() => new Date());
  }

  start(): void {
    if (this.loop) return;
    const kick = () => this.kick();
    this.watchers.push(new ListWatcher(this.options.store, keys.clustermesh(), kick, { logger: this.log }));
    this.watchers.push(new ListWatcher(this.options.store, keys.secret(SECRETS.namespace, ""), kick, { logger: this.log }));
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await Promise.all(this.watchers.map((w) => w.stop()));
    await this.loop;
  }

  /** One pass: renews what is due (with tls.auto), notes what needs attention, and says when to look again. */
  async check(): Promise<RenewalPass> {
    const now = this.now();
    const max = this.options.maxIntervalMs ?? 3_600_000;
    const min = this.options.minIntervalMs ?? 1000;
    const renewed: string[] = [];
    const dueTimes: number[] = [];
    const settings = await readMeshSettings(this.options.store);
    const auto = Boolean(settings?.enabled && settings.tlsAutoMethod);
    if (auto) {
      const ca = await readClusterCa(this.options.store);
      if (!ca) throw new Error(`secret ${SECRETS.namespace}/${SECRETS.ca} is missing: without the cluster CA no certificate can be renewed`);
      const validityDays = certValidityDaysOf(settings);
      const policy = { validityMs: validityDays * DAY_MS, caPem: ca.certPem };

      const remote = await ensureRemoteCert(this.options.store, ca, { validityDays, now });
      if (remote.decision.renew) {
        renewed.push(`remote: ${remote.decision.detail}`);
        this.log.info({ certificate: "remote", reason: remote.decision.reason, detail: remote.decision.detail, secret: SECRETS.remoteCert }, "remote client certificate renewed");
      }
      dueTimes.push(dueTime(renewalDecision(remote.certPem, { ...policy, now }), now));

      const server = this.options.serverCertificate;
      if (server) {
        const before = renewalDecision(await server.read(), { ...policy, now });
        if (before.renew) {
          await server.reissue(ca, validityDays, now);
          renewed.push(`etcd server: ${before.detail}`);
          this.log.info({ certificate: "etcd-server", reason: before.reason, detail: before.detail, where: server.where }, "etcd server certificate renewed");
        }
        dueTimes.push(dueTime(renewalDecision(await server.read(), { ...policy, now }), now));
      } else if (!this.serverHookNoted) {
        this.serverHookNoted = true;
        this.log.info("etcd's server certificate is not where this operator can replace it: renew it where etcd is deployed");
      }
    }

    const attention: string[] = [];
    const certs = settings?.enabled ? await meshCertificates(this.options.store, this.options.cluster, settings, now) : [];
    for (const c of certs) {
      // One not renewed here is looked at again when it expires, to say so.
      if (!c.renewedHere && Date.parse(c.notAfter) > now.getTime()) dueTimes.push(Date.parse(c.notAfter));
      if (!c.attention) continue;
      attention.push(`${c.name}: ${c.attention}`);
      // Once per certificate and state: a warning every pass would drown the log.
      const id = `${c.serial}:${c.attention.startsWith("expired") ? "expired" : "due"}`;
      if (!this.warned.has(id)) {
        this.warned.add(id);
        this.log.warn({ certificate: c.name, where: c.where, notAfter: c.notAfter }, c.attention);
      }
    }
    // Anything already due (a renewal that failed to stick, an expired copy) is looked at again after minIntervalMs.
    const next = Math.min(now.getTime() + max, ...dueTimes);
    return { renewed, attention, nextCheckAt: new Date(Math.max(now.getTime() + min, next)) };
  }

  private kick(): void {
    this.dirty = true;
    this.wake?.();
  }

  private async run(): Promise<void> {
    await Promise.all(this.watchers.map((w) => w.waitSynced()));
    const min = this.options.minIntervalMs ?? 1000;
    let failures = 0;
    let lastPass = 0;
    while (!this.stopped) {
      // At most one pass per minIntervalMs, however often the watched keys change (our own writes among them).
      const gap = lastPass + min - Date.now();
      if (gap > 0) await this.sleep(gap, false);
      if (this.stopped) break;
      lastPass = Date.now();
      this.dirty = false;
      let wait: number;
      try {
        const pass = await this.check();
        this.passes++;
        this.lastError = undefined;
        failures = 0;
        wait = pass.nextCheckAt.getTime() - this.now().getTime();
      } catch (e) {
        failures++;
        this.lastError = (e as Error).message;
        wait = Math.min(60_000, min * 5 * failures);
        this.log.error({ err: (e as Error).message, retryInMs: wait }, "certificate renewal check failed");
      }
      if (!this.dirty) await this.sleep(wait, true);
    }
  }

  /** Waits `ms`; stop() ends the wait, and so does a change of the watched keys when `wakeable`. */
  private sleep(ms: number, wakeable: boolean): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      this.wake = wakeable ? done : () => (this.stopped ? done() : undefined);
    });
  }
}

/** When a certificate in `d` will need renewing (now, when it does already). */
function dueTime(d: RenewalDecision, now: Date): number {
  return d.renew ? now.getTime() : d.dueAt.getTime();
}
