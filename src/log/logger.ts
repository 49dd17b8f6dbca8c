import { pino, type Logger, type LevelWithSilent } from "pino";

export type { Logger };

/**
 * One root logger per process, structured JSON on stderr (stdout belongs to command output and to
 * CNI results). Subsystems take a child: `logger.child({ subsys: "kvstore" })`, so every line names
 * where it came from. The level comes from TRELLIS_LOG_LEVEL (default "info").
 */
let root: Logger | undefined;

export function rootLogger(): Logger {
  root ??= pino(
    { level: (process.env.TRELLIS_LOG_LEVEL as LevelWithSilent | undefined) ?? "info", base: { pid: process.pid } },
    pino.destination(2),
  );
  return root;
}

export function subsystemLogger(subsys: string, bindings: Record<string, unknown> = {}): Logger {
  return rootLogger().child({ subsys, ...bindings });
}

export function setLogLevel(level: LevelWithSilent): void {
  rootLogger().level = level;
}
