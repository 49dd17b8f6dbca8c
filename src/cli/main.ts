import { Command, CommanderError } from "commander";
import { registerCaCommands } from "./commands/ca.js";
import { registerClustermeshCommands } from "./commands/clustermesh.js";
import { registerConfigCommands } from "./commands/config.js";
import { registerConnectivityCommands } from "./commands/connectivity.js";
import { registerDaemonCommands, registerKvstoremeshCommand } from "./commands/daemons.js";
import { registerDemoCommand } from "./commands/demo.js";
import { registerEndpointCommands } from "./commands/endpoint.js";
import { registerHealthCommands } from "./commands/health.js";
import { registerIdentityCommands } from "./commands/identity.js";
import { registerInstallCommands } from "./commands/install.js";
import { registerLabCommands } from "./commands/lab.js";
import { registerPolicyCommands } from "./commands/policy.js";
import { registerServiceCommands } from "./commands/service.js";
import { registerStatusCommands } from "./commands/status.js";
import { registerSysdumpCommand } from "./commands/sysdump.js";
import { registerWorkloadCommands } from "./commands/workloads.js";
import { UserError } from "./user-error.js";

/**
 * The `trellis` command. Each command group lives in cli/commands/<group>.ts and registers itself
 * here; names and flags follow the Cilium CLI and kubectl so their users' habits carry over.
 */
export function buildProgram(): Command {
  const program = new Command("trellis")
    .description("Multi-cluster networking: connect clusters, global services, identity-based policy.")
    .version(process.env.npm_package_version ?? "0.1.0")
    .showHelpAfterError()
    .configureHelp({ sortSubcommands: true });
  registerConfigCommands(program);
  registerCaCommands(program);
  registerClustermeshCommands(program);
  registerStatusCommands(program);
  registerHealthCommands(program);
  registerConnectivityCommands(program);
  registerSysdumpCommand(program);
  registerServiceCommands(program);
  registerLabCommands(program);
  registerWorkloadCommands(program);
  registerEndpointCommands(program);
  registerPolicyCommands(program);
  registerIdentityCommands(program);
  registerInstallCommands(program);
  registerDemoCommand(program);
  registerDaemonCommands(program);
  registerKvstoremeshCommand(program);
  return program;
}

/**
 * grpc-js (under the etcd client) passes an IP-literal endpoint's address as the TLS server name,
 * which Node flags with DEP0123 on every connection. The certificate is still checked against the
 * IP addresses it names, so the warning tells a user nothing actionable; every other warning stays.
 */
function quietTlsServernameWarning(): void {
  const emit = process.emitWarning.bind(process) as (...args: unknown[]) => void;
  process.emitWarning = ((warning: unknown, ...rest: unknown[]) => {
    const code = typeof rest[0] === "object" && rest[0] !== null ? (rest[0] as { code?: string }).code : rest[1];
    if (code === "DEP0123") return;
    emit(warning, ...rest);
  }) as typeof process.emitWarning;
}

export async function main(argv: readonly string[]): Promise<number> {
  quietTlsServernameWarning();
  const program = buildProgram().exitOverride();
  try {
    await program.parseAsync([...argv], { from: "user" });
    return process.exitCode === undefined ? 0 : Number(process.exitCode);
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode; // commander already printed the message
    if (e instanceof UserError) {
      process.stderr.write(`Error: ${e.message}\n`);
      return e.exitCode;
    }
    // Every error says what went wrong in its message; the stack is for bug reports only.
    const err = e as Error;
    process.stderr.write(`Error: ${process.env.TRELLIS_DEBUG ? (err.stack ?? String(e)) : (err.message ?? String(e))}\n`);
    return 1;
  }
}

// Run when executed directly (bin/trellis.js imports this module for its side effect).
main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`Error: ${String(e)}\n`);
    process.exitCode = 1;
  },
);
