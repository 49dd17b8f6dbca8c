/**
 * `--test PATTERN`, as the Cilium CLI reads it: each pattern is a regular expression matched
 * against the test's name (so a plain substring works too); a leading `!` excludes. A test runs
 * when it matches some include pattern (or there are none) and no exclude pattern. Patterns may
 * be given repeatedly or comma-separated.
 */
export interface TestFilter {
  readonly include: readonly RegExp[];
  readonly exclude: readonly RegExp[];
}

export class TestFilterError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TestFilterError";
  }
}

export function parseTestFilter(values: readonly string[]): TestFilter {
  const include: RegExp[] = [];
  const exclude: RegExp[] = [];
  for (const raw of values.flatMap((v) => v.split(","))) {
    const p = raw.trim();
    if (!p) continue;
    const negated = p.startsWith("!");
    const source = negated ? p.slice(1) : p;
    if (!source) throw new TestFilterError(`--test "${p}": "!" needs a pattern after it, e.g. --test '!other-cluster'`);
    let re: RegExp;
    try {
      re = new RegExp(source);
    } catch (e) {
      throw new TestFilterError(`--test "${p}" is not a valid regular expression: ${(e as Error).message}`);
    }
    (negated ? exclude : include).push(re);
  }
  return { include, exclude };
}

export function selects(filter: TestFilter, name: string): boolean {
  if (filter.include.length > 0 && !filter.include.some((r) => r.test(name))) return false;
  return !filter.exclude.some((r) => r.test(name));
}
