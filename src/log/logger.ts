import { pino, type Logger, type LevelWithSilent } from "pino";

export type { Logger };

/**
 * One root logger per process, structured JSON on stderr (stdout belongs to command output and to
 * CNI results). Subsystems take a child: `logger.child({ subsys: "kvstore" })`, so every line names
 * where it came from. The level comes from TRELLIS_LOG_LEVEL (default "info").
 */
let root: Logger | undefined;

const LEVELS: readonly LevelWithSilent[] = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];

/** The level TRELLIS_LOG_LEVEL names; a misspelt one is an error that says what is accepted. */
export function logLevelFromEnv(value: string | undefined = process.env.TRELLIS_LOG_LEVEL): LevelWithSilent {
  if (value === undefined || value === "") return "info";
  const level = value.toLowerCase() as LevelWithSilent;
  if (!LEVELS.includes(level)) throw new Error(`TRELLIS_LOG_LEVEL=${JSON.stringify(value)} is not a log level; use one of ${LEVELS.join(", ")}`);
  return level;
}

export function rootLogger(): Logger {
  root ??= pino({ level: logLevelFromEnv(), base: { pid: process.pid } }, pino.destination(2));
  return root;
}

export function subsystemLogger(subsys: string, bindings: Record<string, unknown> = {}): Logger {
  return rootLogger().child({ subsys, ...bindings });
}

export function setLogLevel(level: LevelWithSilent): void {
  rootLogger().level = level;
}

/**
 * A daemon's own logger (`daemon: "agent"`); its parts take children with `subsys`, so that a line
 * names both and no key appears twice in the JSON.
 */
export function daemonLogger(daemon: string, bindings: Record<string, unknown> = {}): Logger {
  return rootLogger().child({ daemon, ...bindings });
}
