/** Go-style durations as the Cilium CLI takes them: "5m", "90s", "1m30s", "500ms". */
export function parseDuration(text: string, flag: string): number {
  const units: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 };
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g)];
  if (!parts.length || parts.map((p) => p[0]).join("") !== text) throw new Error(`${flag} must be a duration such as 5m, 90s or 1m30s (got "${text}")`);
  return parts.reduce((sum, p) => sum + Number(p[1]) * units[p[2]!]!, 0);
}
