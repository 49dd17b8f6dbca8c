import { stringify } from "yaml";

/** `-o` values every list command accepts besides its table. */
export type OutputFormat = "table" | "wide" | "json" | "yaml";

export function parseOutputFormat(value: string | undefined, allowed: readonly OutputFormat[] = ["table", "json", "yaml"]): OutputFormat {
  const v = (value ?? "table") as OutputFormat;
  if (!allowed.includes(v)) throw new Error(`unknown output format "${value}": use one of ${allowed.filter((f) => f !== "table").join(", ")} (or omit -o for a table)`);
  return v;
}

/** Prints structured data as JSON or YAML; returns false when the format is a table (caller prints). */
export function printStructured(data: unknown, format: OutputFormat, out: (s: string) => void = (s) => process.stdout.write(s)): boolean {
  if (format === "json") {
    out(JSON.stringify(data, null, 2) + "\n");
    return true;
  }
  if (format === "yaml") {
    out(stringify(data));
    return true;
  }
  return false;
}

/**
 * A kubectl-style table: upper-case headers, columns padded to their widest cell plus three spaces
 * (the seeds' `cilium service list` layout uses the same gap). Cells may hold several lines; the
 * other cells of that row are blank on the continuation lines.
 */
export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[], options: { gap?: number } = {}): string {
  const gap = options.gap ?? 3;
  const split = rows.map((r) => headers.map((_, i) => (r[i] ?? "").split("\n")));
  const widths = headers.map((h, i) => Math.max(h.length, ...split.map((r) => Math.max(...r[i]!.map((l) => l.length)))));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]! + gap)))
      .join("")
      .trimEnd();
  const out = [line(headers)];
  for (const r of split) {
    const height = Math.max(...r.map((c) => c.length));
    for (let k = 0; k < height; k++) out.push(line(r.map((c) => c[k] ?? "")));
  }
  return out.join("\n") + "\n";
}
