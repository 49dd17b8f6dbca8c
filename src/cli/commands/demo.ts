import type { Command } from "commander";
import { runDemo } from "../../demo/seed-story.js";

export function registerDemoCommand(program: Command): void {
  program
    .command("demo")
    .description("Run the seeds' story on a lab mesh, showing each real command and its output")
    .option("--keep", "keep the lab afterwards (remove it with: trellis lab down)")
    .action(async (o: { keep?: boolean }) => {
      await runDemo({ keep: Boolean(o.keep) });
    });
}
