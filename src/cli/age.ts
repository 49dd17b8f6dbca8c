/** kubectl's AGE column: 45s, 12m, 3h, 5d. */
export function formatAge(since: string | Date | undefined, now = Date.now()): string {
  if (!since) return "<unknown>";
  const s = Math.max(0, Math.floor((now - new Date(since).getTime()) / 1000));
  if (!Number.isFinite(s)) return "<unknown>";
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  if (s < 172_800) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86_400)}d`;
}
