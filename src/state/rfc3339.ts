/**
 * Timestamps as Go's time.RFC3339 layout writes them ("2006-01-02T15:04:05Z07:00"): what Cilium
 * puts in sync canaries and the heartbeat key.
 */

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-](\d{2}):(\d{2}))$/;

/** UTC, whole seconds, "Z": the form Go prints for a UTC time. */
export function formatRfc3339(time: Date): string {
  if (Number.isNaN(time.getTime())) throw new RangeError("cannot format an invalid Date as RFC 3339");
  return `${time.toISOString().slice(0, 19)}Z`;
}

/** The instant an RFC 3339 timestamp names, or undefined when it is not one (or not a real date). */
export function parseRfc3339(text: string): Date | undefined {
  const m = RFC3339.exec(text);
  if (m === null) return undefined;
  const [, y, mo, d, h, mi, s, , , oh, om] = m;
  const month = Number(mo);
  const day = Number(d);
  if (month < 1 || month > 12 || day < 1 || Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) return undefined;
  if (oh !== undefined && (Number(oh) > 23 || Number(om) > 59)) return undefined;
  const daysInMonth = new Date(Date.UTC(Number(y), month, 0)).getUTCDate();
  if (day > daysInMonth) return undefined;
  const date = new Date(text);
  return Number.isNaN(date.getTime()) ? undefined : date;
}
