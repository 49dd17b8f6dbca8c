/**
 * Durations written the way Go's `time.Duration.String()` writes them, because `cilium-health status`
 * prints RTTs that way and users compare the two outputs: "585.908µs", "1.659939ms", "2m3.5s".
 * Go durations are whole nanoseconds; fractions are rounded to the nearest one.
 */

const NS_PER_US = 1_000;
const NS_PER_MS = 1_000_000;
const NS_PER_S = 1_000_000_000;
const NS_PER_MIN = 60 * NS_PER_S;
const NS_PER_H = 60 * NS_PER_MIN;

export function formatGoDuration(nanoseconds: number): string {
  if (!Number.isFinite(nanoseconds)) throw new RangeError(`a duration must be a finite number of nanoseconds (got ${nanoseconds})`);
  const ns = Math.round(nanoseconds);
  if (ns === 0) return "0s";
  const sign = ns < 0 ? "-" : "";
  const u = Math.abs(ns);
  if (u < NS_PER_US) return `${sign}${u}ns`;
  if (u < NS_PER_MS) return `${sign}${withFraction(u, NS_PER_US)}µs`;
  if (u < NS_PER_S) return `${sign}${withFraction(u, NS_PER_MS)}ms`;
  let rest = u;
  let out = sign;
  // Go writes "1h0m5s": once hours appear, minutes always follow, even when zero.
  if (rest >= NS_PER_H) {
    out += `${Math.floor(rest / NS_PER_H)}h`;
    rest %= NS_PER_H;
    out += `${Math.floor(rest / NS_PER_MIN)}m`;
    rest %= NS_PER_MIN;
  } else if (rest >= NS_PER_MIN) {
    out += `${Math.floor(rest / NS_PER_MIN)}m`;
    rest %= NS_PER_MIN;
  }
  return `${out}${withFraction(rest, NS_PER_S)}s`;
}

/** `value / unit` in decimal, the fraction's trailing zeros dropped (and the dot when nothing is left). */
function withFraction(value: number, unit: number): string {
  const whole = Math.floor(value / unit);
  const frac = value % unit;
  if (frac === 0) return String(whole);
  const digits = String(unit).length - 1;
  return `${whole}.${String(frac).padStart(digits, "0").replace(/0+$/, "")}`;
}
