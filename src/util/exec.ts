import { spawn } from "node:child_process";

/** A command exited non-zero (or could not start). Carries what a user needs to see why. */
export class CommandError extends Error {
  constructor(
    readonly command: string,
    readonly args: readonly string[],
    readonly exitCode: number | null,
    readonly stderr: string,
    options?: { cause?: unknown },
  ) {
    const detail = stderr.trim() || (exitCode === null ? "could not start" : `exit code ${exitCode}`);
    super(`${command} ${args.join(" ")}: ${detail}`, options);
    this.name = "CommandError";
  }
}

export interface RunOptions {
  /** Written to the command's standard input, then closed. */
  readonly input?: string;
  /** Extra environment on top of this process's. */
  readonly env?: Readonly<Record<string, string>>;
  /** Kill the command after this many milliseconds. */
  readonly timeoutMs?: number;
  /** Do not throw on a non-zero exit; the caller inspects `code`. */
  readonly allowFailure?: boolean;
}

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command without a shell (no quoting pitfalls) and collects its output. */
export function run(command: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      env: options.env ? { ...process.env, ...options.env } : process.env,
      stdio: ["pipe", "pipe", "pipe"],
      timeout: options.timeoutMs,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    child.on("error", (e) => reject(new CommandError(command, args, null, e.message, { cause: e })));
    child.on("close", (code, signal) => {
      const stdout = Buffer.concat(out).toString("utf8");
      const stderr = Buffer.concat(err).toString("utf8");
      const exit = code ?? (signal ? 128 : 1);
      if (exit !== 0 && !options.allowFailure) reject(new CommandError(command, args, exit, stderr || (signal ? `killed by ${signal}` : "")));
      else resolve({ code: exit, stdout, stderr });
    });
    child.stdin.on("error", () => {
      /* the command may exit before reading its input; its exit code tells the story */
    });
    child.stdin.end(options.input ?? "");
  });
}

/** Runs a command that prints JSON (ip -j, nft -j, bridge -j) and parses it; empty output is []. */
export async function runJson<T = unknown>(command: string, args: readonly string[], options: RunOptions = {}): Promise<T> {
  const r = await run(command, args, options);
  const text = r.stdout.trim();
  return (text ? JSON.parse(text) : []) as T;
}
