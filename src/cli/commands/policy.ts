import type { Command } from "commander";
import type { EndpointView, PolicyRepository, TracePod, TraceRequestBody } from "../../agent/api-types.js";
import { formatTrace, type FlowTrace } from "../../policy/index.js";
import { callUnix } from "../../util/unix-http.js";
import { agentGet, agentSockets } from "../agent-sockets.js";
import { loadConfig, resolveContext } from "../config-file.js";
import { parseOutputFormat, printStructured } from "../output.js";
import { formatPolicyRepository } from "../policy-format.js";
import { UserError } from "../user-error.js";

/**
 * `trellis policy get` and `trellis policy trace`, after `cilium policy get` / `cilium policy trace`.
 * Both ask an agent: policies are per cluster, and an agent holds its cluster's policies with the
 * identities of every connected cluster, which is what a trace needs.
 */

/** `NAME`, `NS/NAME` or `CLUSTER/NS/NAME` (namespace "default" when omitted). */
export function parsePodRef(text: string, flag: string): TracePod {
  const parts = text.split("/");
  const bad = parts.some((p) => p === "") || parts.length > 3;
  if (bad) throw new UserError(`${flag} must be NAMESPACE/NAME or CLUSTER/NAMESPACE/NAME (got "${text}")`);
  if (parts.length === 1) return { namespace: "default", name: parts[0]! };
  if (parts.length === 2) return { namespace: parts[0]!, name: parts[1]! };
  return { cluster: parts[0]!, namespace: parts[1]!, name: parts[2]! };
}

function parseIdentity(text: string, flag: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n > 16_777_215) throw new UserError(`${flag} must be a security identity number 0-16777215 (got "${text}")`);
  return n;
}

/** `80`, or Cilium's `80/TCP` form; the protocol flag applies when the port names none. */
export function parseDport(text: string | undefined, protocolFlag: string | undefined): { dport: number; protocol: string } {
  const [port, proto] = (text ?? "").split("/");
  const protocol = (proto ?? protocolFlag ?? "TCP").toUpperCase();
  if (protocol === "ICMP") return { dport: 0, protocol };
  if (text === undefined) throw new UserError("--dport is required (a port number, or PORT/PROTOCOL such as 53/UDP)");
  const n = Number(port);
  if (!/^\d+$/.test(port ?? "") || n < 1 || n > 65535) throw new UserError(`--dport must be a port number 1-65535, optionally with /TCP, /UDP or /SCTP (got "${text}")`);
  if (proto !== undefined && protocolFlag !== undefined && proto.toUpperCase() !== protocolFlag.toUpperCase()) {
    throw new UserError(`--dport ${text} and --protocol ${protocolFlag} disagree; give the protocol once`);
  }
  return { dport: n, protocol };
}

interface TraceOptions {
  context?: string;
  srcIdentity?: string;
  srcPod?: string;
  dstIdentity?: string;
  dstPod?: string;
  dport?: string;
  protocol?: string;
  output?: string;
}

function end(identity: string | undefined, pod: string | undefined, which: "src" | "dst"): TraceRequestBody["src"] {
  if ((identity === undefined) === (pod === undefined)) throw new UserError(`give the ${which === "src" ? "source" : "destination"} with exactly one of --${which}-identity N or --${which}-pod NAMESPACE/NAME`);
  return identity !== undefined ? { identity: parseIdentity(identity, `--${which}-identity`) } : { pod: parsePodRef(pod!, `--${which}-pod`) };
}

export function registerPolicyCommands(program: Command): void {
  const policy = program.command("policy").description("Inspect and explain the network policy the agents enforce");

  policy
    .command("get")
    .description("Print the cluster's policy repository as an agent holds it (cilium policy get)")
    .option("--context <name>", "the cluster's context")
    .option("--node <name>", "ask this node's agent (default: the first)")
    .option("-o, --output <format>", "json or yaml: the repository with each endpoint's enforcement")
    .action(async (o: { context?: string; node?: string; output?: string }) => {
      const format = parseOutputFormat(o.output);
      const [agent] = agentSockets(resolveContext(loadConfig(), o.context), o.node);
      const repo = await agentGet<PolicyRepository>(agent!.socket, "/v1/policy");
      if (printStructured(repo, format)) return;
      process.stdout.write(formatPolicyRepository(repo));
    });

  policy
    .command("trace")
    .description("Explain whether a flow is allowed, rule by rule (cilium policy trace)")
    .option("--context <name>", "the cluster whose policies decide (the destination's)")
    .option("--src-identity <id>", "the source's security identity")
    .option("--src-pod <pod>", "the source pod: NAMESPACE/NAME, or CLUSTER/NAMESPACE/NAME for a connected cluster's")
    .option("--dst-identity <id>", "the destination's security identity")
    .option("--dst-pod <pod>", "the destination pod: NAMESPACE/NAME")
    .option("--dport <port>", "destination port, e.g. 80 or 53/UDP")
    .option("--protocol <proto>", "TCP (default), UDP, SCTP or ICMP")
    .option("-o, --output <format>", "json or yaml")
    .action(async (o: TraceOptions) => {
      const format = parseOutputFormat(o.output);
      const { dport, protocol } = parseDport(o.dport, o.protocol);
      const body: TraceRequestBody = { src: end(o.srcIdentity, o.srcPod, "src"), dst: end(o.dstIdentity, o.dstPod, "dst"), protocol, dport };
      const ctx = resolveContext(loadConfig(), o.context);
      if ("pod" in body.dst && body.dst.pod.cluster !== undefined && body.dst.pod.cluster !== ctx.context.cluster) {
        throw new UserError(`the destination's cluster decides its ingress: trace ${body.dst.pod.cluster}'s pod with --context set to that cluster`);
      }
      const agents = agentSockets(ctx);
      // The destination's node enforces ingress; any agent of the cluster resolves the same policy.
      let agent = agents[0]!;
      if ("pod" in body.dst) {
        const { namespace, name } = body.dst.pod;
        for (const a of agents) {
          const eps = await agentGet<EndpointView[]>(a.socket, "/v1/endpoints");
          if (eps.some((e) => e.podNamespace === namespace && e.podName === name)) agent = a;
        }
      }
      const trace = await callUnix<FlowTrace>(agent.socket, "POST", "/v1/policy/trace", body, 10_000);
      if (printStructured(trace, format)) return;
      process.stdout.write(formatTrace(trace));
    });
}
