/**
 * The part of Go's text/tabwriter that `cilium-health` output depends on (padchar ' ', no flags),
 * so columns line up exactly as Cilium's do: a cell is text ending in a tab; consecutive lines
 * with a cell in the same column form a block, and each cell of a block is padded to the block's
 * widest cell plus `padding` (at least `minWidth`). The text after a line's last tab is never
 * padded, and a block in one column never spans two blocks of the column to its left. Widths count
 * code points, as Go counts runes ("µs" is two wide).
 */
export interface TabwriterOptions {
  readonly minWidth?: number;
  readonly padding?: number;
}

export function tabwrite(text: string, options: TabwriterOptions = {}): string {
  const minWidth = options.minWidth ?? 2;
  const padding = options.padding ?? 3;
  const trailingNewline = text.endsWith("\n");
  const lines = (trailingNewline ? text.slice(0, -1) : text).split("\n").map((l) => l.split("\t"));
  const widths: number[] = [];
  const out: string[] = [];

  const writeLines = (from: number, to: number) => {
    for (let i = from; i < to; i++) {
      const cells = lines[i]!;
      out.push(cells.map((c, j) => (j < widths.length ? c + " ".repeat(Math.max(0, widths[j]! - runeCount(c))) : c)).join(""));
    }
  };

  // Go's recursive formatter: find a block in the current column, fix its width, then format the
  // columns to its right within that block only.
  const format = (first: number, end: number) => {
    let line0 = first;
    const column = widths.length;
    for (let i = line0; i < end; i++) {
      if (column >= lines[i]!.length - 1) continue;
      writeLines(line0, i);
      line0 = i;
      let width = minWidth;
      for (; i < end; i++) {
        const cells = lines[i]!;
        if (column >= cells.length - 1) break;
        width = Math.max(width, runeCount(cells[column]!) + padding);
      }
      widths.push(width);
      format(line0, i);
      widths.pop();
      line0 = i;
    }
    writeLines(line0, end);
  };

  format(0, lines.length);
  return out.join("\n") + (trailingNewline ? "\n" : "");
}

function runeCount(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}
