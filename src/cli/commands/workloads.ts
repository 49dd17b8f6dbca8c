import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import type { Command } from "commander";
import type { Deployment } from "../../resources/deployment.js";
import { keys } from "../../resources/keys.js";
import { CCNP_KIND } from "../../policy/index.js";
import { makeSecret, parseSecret, type Secret } from "../../resources/secret.js";
import { servicePorts, type Service, type ServiceStatus } from "../../resources/service.js";
import type { PodSpec, PodStatus } from "../../resources/pod.js";
import { formatAge } from "../age.js";
import { POLICY_RESOURCE_NAMES, describeMissing, parseApplyFile, parseDeleteFile, policyObject, type FileObject } from "../apply-documents.js";
import { withCluster, type ClusterConnection } from "../cluster-connection.js";
import { formatTable, parseOutputFormat, printStructured } from "../output.js";
import { UserError } from "../user-error.js";

function readManifestFile(file: string, parse: (text: string, source: string) => FileObject[]): FileObject[] {
  let text: string;
  try {
    text = file === "-" ? readFileSync(0, "utf8") : readFileSync(file, "utf8");
  } catch (e) {
    throw new UserError(`cannot read ${file}: ${(e as Error).message}`);
  }
  return parse(text, file);
}

interface StoredPolicyDocument {
  metadata: { name: string; namespace?: string; creationTimestamp?: string };
  kind: string;
}

async function listJson<T>(c: ClusterConnection, prefix: string): Promise<T[]> {
  const { kvs } = await c.store.list(prefix);
  return kvs.map((kv) => JSON.parse(kv.value.toString()) as T);
}

export interface PodView {
  name: string;
  namespace: string;
  node: string;
  status: string;
  ready: string;
  ip?: string;
  netns?: string;
  labels: Record<string, string>;
  createdAt: string;
  message?: string;
}

export async function podViews(c: ClusterConnection, namespace?: string): Promise<PodView[]> {
  const specs = await listJson<PodSpec>(c, keys.pods());
  const statuses = new Map((await listJson<PodStatus>(c, keys.podStatuses())).map((s) => [`${s.namespace}/${s.name}`, s]));
  return specs
    .filter((p) => !namespace || p.namespace === namespace)
    .map((p) => {
      const s = statuses.get(`${p.namespace}/${p.name}`);
      const running = s?.phase === "Running";
      return {
        name: p.name,
        namespace: p.namespace,
        node: p.node,
        status: s?.phase ?? "Pending",
        ready: running ? "1/1" : "0/1",
        ip: s?.ip,
        netns: s?.netns,
        labels: { ...p.labels },
        createdAt: p.createdAt,
        message: s?.message,
      };
    })
    .sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
}

export interface ServiceView {
  namespace: string;
  name: string;
  type: string;
  clusterIP?: string;
  externalIPs: string[];
  ports: string;
  selector: string;
  annotations: Record<string, string>;
  createdAt?: string;
}

export async function serviceViews(c: ClusterConnection): Promise<ServiceView[]> {
  const { kvs } = await c.store.list(keys.services());
  const statuses = new Map((await c.store.list(keys.serviceStatuses())).kvs.map((kv) => [kv.key.slice(keys.serviceStatuses().length), JSON.parse(kv.value.toString()) as ServiceStatus]));
  return kvs
    .map((kv) => {
      const s = JSON.parse(kv.value.toString()) as Service & { metadata: { creationTimestamp?: string } };
      const st = statuses.get(`${s.metadata.namespace}/${s.metadata.name}`);
      return {
        namespace: s.metadata.namespace,
        name: s.metadata.name,
        type: s.spec.type,
        clusterIP: st?.clusterIP,
        externalIPs: [...(st?.loadBalancerIPs ?? [])],
        ports: servicePorts(s)
          .map((p) => `${p.port}${st?.nodePorts[String(p.port)] ? `:${st.nodePorts[String(p.port)]}` : ""}/${p.protocol}`)
          .join(","),
        selector: Object.entries(s.spec.selector ?? {}).map(([k, v]) => `${k}=${v}`).join(",") || "<none>",
        annotations: { ...s.metadata.annotations },
        createdAt: s.metadata.creationTimestamp,
      };
    })
    .sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
}

export function registerWorkloadCommands(program: Command): void {
  const applyLike = (verb: "apply" | "create") =>
    program
      .command(verb)
      .description(
        verb === "apply"
          ? "Create or update objects from a file (Deployment, Service, Secret, CiliumNetworkPolicy, CiliumClusterwideNetworkPolicy)"
          : "Create objects from a file; fails if one exists",
      )
      .option("-f, --filename <file>", "manifest file, or - for standard input")
      .option("--context <name>", "the cluster's context")
      .action(async (o: { filename?: string; context?: string }) => {
        if (!o.filename) throw new UserError(`${verb} needs -f FILE (or -f - for standard input)`);
        const objects = readManifestFile(o.filename, parseApplyFile);
        await withCluster(o.context, async (c) => {
          await c.settings();
          for (const m of objects) {
            const key = m.key;
            const label = `${m.kind}/${m.name}`;
            const before = await c.store.get(key);
            // kubectl's creationTimestamp: set once, kept across later applies (and by "unchanged").
            const prev = before ? (JSON.parse(before.value.toString()) as { metadata?: { creationTimestamp?: string } }) : undefined;
            const value = JSON.stringify({ ...m.object, metadata: { ...m.object.metadata, creationTimestamp: prev?.metadata?.creationTimestamp ?? new Date().toISOString() } });
            if (verb === "create" && before) {
              throw new UserError(`${m.kind} "${m.name}" already exists${m.namespace === undefined ? "" : ` in namespace ${m.namespace}`}; use "trellis apply -f" to change it`);
            }
            if (before?.value.toString() === value) console.log(`${label} unchanged`);
            else {
              await c.store.put(key, value);
              console.log(`${label} ${before ? "configured" : "created"}`);
            }
          }
        });
      });
  applyLike("apply");
  const create = applyLike("create");
  create
    .command("secret")
    .description("Create a secret")
    .command("generic <name>")
    .description("Create a secret from files (one key per file, named after the file)")
    .option("--from-file <path...>", "a file; the key is its name, or KEY=PATH")
    .option("-n, --namespace <ns>", "namespace", "kube-system")
    .option("--context <name>", "the cluster's context")
    .action(async (name: string, o: { fromFile?: string[]; namespace: string; context?: string }) => {
      if (!o.fromFile?.length) throw new UserError("create secret generic needs at least one --from-file=PATH");
      const files: Record<string, Buffer> = {};
      for (const spec of o.fromFile) {
        const eq = spec.indexOf("=");
        const path = eq > 0 ? spec.slice(eq + 1) : spec;
        const key = eq > 0 ? spec.slice(0, eq) : basename(path);
        try {
          files[key] = readFileSync(path);
        } catch (e) {
          throw new UserError(`cannot read ${path}: ${(e as Error).message}`);
        }
      }
      const secret = parseSecret(makeSecret(o.namespace, name, files));
      await withCluster(o.context, async (c) => {
        const key = keys.secret(o.namespace, name);
        if (await c.store.get(key)) throw new UserError(`secret "${name}" already exists in namespace ${o.namespace}`);
        await c.store.put(key, JSON.stringify(secret));
        console.log(`secret/${name} created`);
      });
    });

  program
    .command("delete")
    .description("Delete the objects named in a file, or a policy by name (delete cnp NAME)")
    .argument("[kind]", "cnp or ccnp (with a name instead of -f)")
    .argument("[name]", "the policy's name")
    .option("-f, --filename <file>", "manifest file, or - for standard input")
    .option("-n, --namespace <ns>", "namespace of a cnp named on the command line", "default")
    .option("--context <name>", "the cluster's context")
    .action(async (kind: string | undefined, name: string | undefined, o: { filename?: string; namespace: string; context?: string }) => {
      let objects: FileObject[];
      if (o.filename !== undefined) {
        if (kind !== undefined) throw new UserError(`give either -f FILE or KIND NAME, not both (got -f ${o.filename} and ${kind})`);
        objects = readManifestFile(o.filename, parseDeleteFile);
      } else {
        const policyKind = kind === undefined ? undefined : POLICY_RESOURCE_NAMES[kind.toLowerCase()];
        if (policyKind === undefined || name === undefined) {
          throw new UserError(`delete needs -f FILE, or cnp NAME [-n NAMESPACE], or ccnp NAME${kind !== undefined && policyKind === undefined ? ` (got "${kind}")` : ""}`);
        }
        objects = [policyObject(policyKind, name, policyKind === CCNP_KIND ? undefined : o.namespace, { metadata: {} })];
      }
      await withCluster(o.context, async (c) => {
        for (const m of objects) {
          const n = await c.store.delete(m.key);
          if (n === 0) throw new UserError(describeMissing(m));
          console.log(`${m.kind} "${m.name}" deleted`);
        }
      });
    });

  program
    .command("scale")
    .description("Set a deployment's replica count")
    .argument("<kind>", "deployment")
    .argument("<name>", "deployment name")
    .requiredOption("--replicas <n>", "the new replica count")
    .option("-n, --namespace <ns>", "namespace", "default")
    .option("--context <name>", "the cluster's context")
    .action(async (kind: string, name: string, o: { replicas: string; namespace: string; context?: string }) => {
      if (!["deployment", "deployments", "deploy", "deployment.apps"].includes(kind)) throw new UserError(`cannot scale "${kind}": only deployments can be scaled`);
      const replicas = Number(o.replicas);
      if (!Number.isInteger(replicas) || replicas < 0 || replicas > 1000) throw new UserError(`--replicas must be a whole number from 0 to 1000 (got "${o.replicas}")`);
      await withCluster(o.context, async (c) => {
        const key = keys.deployment(o.namespace, name);
        const kv = await c.store.get(key);
        if (!kv) throw new UserError(`deployments.apps "${name}" not found in namespace ${o.namespace}`);
        const d = JSON.parse(kv.value.toString()) as Deployment;
        await c.store.put(key, JSON.stringify({ ...d, spec: { ...d.spec, replicas } }));
        console.log(`deployment.apps/${name} scaled`);
      });
    });

  program
    .command("get")
    .description("List pods, deployments, nodes, services, secrets or network policies")
    .argument("<resource>", "pods | deployments | nodes | services (svc) | secrets | cnp | ccnp")
    .argument("[name]", "only this object")
    .option("-o, --output <format>", "wide, json or yaml")
    .option("-n, --namespace <ns>", "namespace (default: all; kube-system for secrets)")
    .option("--context <name>", "the cluster's context")
    .action(async (resource: string, name: string | undefined, o: { output?: string; namespace?: string; context?: string }) => {
      const format = parseOutputFormat(o.output, ["table", "wide", "json", "yaml"]);
      await withCluster(o.context, async (c) => {
        await c.settings();
        switch (resource) {
          case "secret":
          case "secrets": {
            const ns = o.namespace ?? "kube-system";
            const all = (await listJson<Secret>(c, keys.secrets())).filter((x) => x.metadata.namespace === ns && (!name || x.metadata.name === name));
            if (name && all.length === 0) throw new UserError(`secrets "${name}" not found in namespace ${ns}`);
            if (printStructured(name ? all[0] : { apiVersion: "v1", kind: "List", items: all }, format)) return;
            process.stdout.write(formatTable(["NAME", "TYPE", "DATA"], all.map((x) => [x.metadata.name, x.type, String(Object.keys(x.data).length)])));
            return;
          }
          case "svc":
          case "service":
          case "services": {
            const views = (await serviceViews(c)).filter((v) => (!o.namespace || v.namespace === o.namespace) && (!name || v.name === name));
            if (name && views.length === 0) throw new UserError(`services "${name}" not found${o.namespace ? ` in namespace ${o.namespace}` : ""}`);
            if (printStructured(name ? views[0] : views, format)) return;
            process.stdout.write(
              formatTable(
                ["NAMESPACE", "NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE", ...(format === "wide" ? ["SELECTOR"] : [])],
                views.map((v) => [v.namespace, v.name, v.type, v.clusterIP ?? "<pending>", v.externalIPs.length ? v.externalIPs.join(",") : v.type === "LoadBalancer" ? "<pending>" : "<none>", v.ports, formatAge(v.createdAt), ...(format === "wide" ? [v.selector] : [])]),
              ),
            );
            return;
          }
          case "pods":
          case "pod":
          case "po": {
            const pods = await podViews(c, o.namespace);
            if (printStructured(pods, format)) return;
            const head = ["NAMESPACE", "NAME", "READY", "STATUS", "AGE", ...(format === "wide" ? ["IP", "NODE"] : [])];
            process.stdout.write(formatTable(head, pods.map((p) => [p.namespace, p.name, p.ready, p.status, formatAge(p.createdAt), ...(format === "wide" ? [p.ip ?? "<none>", p.node] : [])])));
            return;
          }
          case "deployments":
          case "deployment":
          case "deploy": {
            const deps = (await listJson<Deployment>(c, keys.deployments())).filter((d) => !o.namespace || d.metadata.namespace === o.namespace);
            const pods = await podViews(c);
            const rows = deps.map((d) => {
              const mine = pods.filter((p) => p.namespace === d.metadata.namespace && p.labels && Object.entries(d.spec.selector.matchLabels).every(([k, v]) => p.labels[k] === v));
              const ready = mine.filter((p) => p.status === "Running").length;
              return { namespace: d.metadata.namespace, name: d.metadata.name, replicas: d.spec.replicas, ready, upToDate: mine.length, image: d.spec.template.spec.containers[0]!.image };
            });
            if (printStructured(rows, format)) return;
            process.stdout.write(formatTable(["NAMESPACE", "NAME", "READY", "UP-TO-DATE", "AVAILABLE", ...(format === "wide" ? ["IMAGES"] : [])], rows.map((r) => [r.namespace, r.name, `${r.ready}/${r.replicas}`, String(r.upToDate), String(r.ready), ...(format === "wide" ? [r.image] : [])])));
            return;
          }
          case "nodes":
          case "node":
          case "no": {
            const regs = await listJson<{ name: string; ip: string; registeredAt: string }>(c, keys.nodeRegistrations());
            const cidrs = new Map((await c.store.list(keys.nodeCIDRs())).kvs.map((kv) => [kv.key.slice(keys.nodeCIDRs().length), (JSON.parse(kv.value.toString()) as { podCIDR: string }).podCIDR]));
            const settings = await c.settings();
            const published = new Set((await c.store.list(`cilium/state/nodes/v1/${settings.name}/`)).kvs.map((kv) => kv.key.split("/").pop()));
            const rows = regs.map((r) => ({ name: r.name, status: published.has(r.name) ? "Ready" : "NotReady", internalIP: r.ip, podCIDR: cidrs.get(r.name), registeredAt: r.registeredAt }));
            if (printStructured(rows, format)) return;
            process.stdout.write(formatTable(["NAME", "STATUS", "AGE", ...(format === "wide" ? ["INTERNAL-IP", "POD-CIDR"] : [])], rows.map((r) => [r.name, r.status, formatAge(r.registeredAt), ...(format === "wide" ? [r.internalIP, r.podCIDR ?? "<none>"] : [])])));
            return;
          }
          case "cnp":
          case "ciliumnetworkpolicy":
          case "ciliumnetworkpolicies":
          case "ccnp":
          case "ciliumclusterwidenetworkpolicy":
          case "ciliumclusterwidenetworkpolicies": {
            const clusterwide = POLICY_RESOURCE_NAMES[resource] === CCNP_KIND;
            const all = (await listJson<StoredPolicyDocument>(c, clusterwide ? keys.clusterwidePolicies() : keys.policies())).filter(
              (p) => (clusterwide || !o.namespace || p.metadata.namespace === o.namespace) && (!name || p.metadata.name === name),
            );
            if (name && all.length === 0) throw new UserError(describeMissing(policyObject(POLICY_RESOURCE_NAMES[resource]!, name, clusterwide ? undefined : (o.namespace ?? "default"), { metadata: {} })));
            if (printStructured(name ? all[0] : { apiVersion: "v1", kind: "List", items: all }, format)) return;
            const head = clusterwide ? ["NAME", "AGE"] : ["NAMESPACE", "NAME", "AGE"];
            process.stdout.write(formatTable(head, all.map((p) => [...(clusterwide ? [] : [p.metadata.namespace ?? "default"]), p.metadata.name, formatAge(p.metadata.creationTimestamp)])));
            return;
          }
          default:
            throw new UserError(`unknown resource "${resource}": use pods, deployments, nodes, services, secrets, cnp or ccnp`);
        }
      });
    });

  program
    .command("exec")
    .description("Run a command inside a pod's network namespace")
    .argument("<pod>", "pod name")
    .argument("<command...>", "the command and its arguments (after --)")
    .option("-n, --namespace <ns>", "namespace", "default")
    .option("--context <name>", "the cluster's context")
    .action(async (pod: string, command: string[], o: { namespace: string; context?: string }) => {
      const status = await withCluster(o.context, async (c) => {
        const kv = await c.store.get(keys.podStatus(o.namespace, pod));
        if (!kv) throw new UserError(`pod "${pod}" not found in namespace ${o.namespace} (or not started yet): see "trellis get pods"`);
        return JSON.parse(kv.value.toString()) as PodStatus;
      });
      if (status.phase !== "Running" || !status.netns) throw new UserError(`pod "${pod}" is ${status.phase}${status.message ? `: ${status.message}` : ""}`);
      const code = await new Promise<number>((resolve) => {
        const child = spawn("ip", ["netns", "exec", status.netns!, ...command], { stdio: "inherit" });
        child.on("error", () => resolve(127));
        child.on("close", (c) => resolve(c ?? 1));
      });
      process.exitCode = code;
    });
}
