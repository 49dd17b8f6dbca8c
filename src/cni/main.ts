import { runPlugin } from "./plugin.js";

/**
 * The trellis-cni executable: the runtime passes CNI_* variables and the network configuration on
 * stdin, and reads the result (or the error object) from stdout and the exit code.
 */
async function readStdin(): Promise<string> {
  // Run by hand on a terminal (e.g. CNI_COMMAND=VERSION), there is no configuration to wait for.
  if (process.stdin.isTTY) return "";
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

const outcome = await runPlugin(process.env, await readStdin());
process.stdout.write(outcome.stdout);
process.exitCode = outcome.exitCode;
