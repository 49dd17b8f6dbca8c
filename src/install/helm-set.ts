/**
 * Helm's `--set` syntax (the "strvals" rules), so that `trellis install --set a.b=c` means what it
 * means to `helm` and `cilium install`:
 *
 *   a.b=c            nested maps
 *   a=1,b=2          several assignments in one flag
 *   a={x,y}          a list
 *   a[0]=x, a[1].b=y list indices (gaps are filled with null)
 *   a\.b=c, a=x\,y   backslash escapes `.`, `,`, `=`, `[`, `{` and itself
 *   true/false -> boolean, a plain integer -> number, null -> removes the key; everything else a string.
 *
 * No CLI library implements these rules, hence this module.
 */
export type Values = { [key: string]: unknown };

export class SetSyntaxError extends Error {
  constructor(expr: string, detail: string) {
    super(`invalid --set value "${expr}": ${detail}`);
    this.name = "SetSyntaxError";
  }
}

const MAX_INDEX = 65536; // Helm refuses larger list indices too; it guards against huge allocations

/** Applies one `--set` argument to `values` (mutated and returned). */
export function applySet(values: Values, expr: string, options: { asString?: boolean } = {}): Values {
  const p = new Parser(expr, options.asString ?? false);
  p.parseInto(values);
  return values;
}

/** Parses several `--set` arguments, later ones winning, into a fresh values tree. */
export function parseSets(exprs: readonly string[], options: { asString?: boolean } = {}): Values {
  const values: Values = {};
  for (const e of exprs) applySet(values, e, options);
  return values;
}

/** Deep-merges `over` into `base` (maps merge, everything else replaces), as Helm merges -f files and --set. */
export function mergeValues(base: Values, over: Values): Values {
  const out: Values = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    if (v === null) delete out[k];
    else if (isMap(b) && isMap(v)) out[k] = mergeValues(b, v);
    else out[k] = v;
  }
  return out;
}

function isMap(v: unknown): v is Values {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function typed(raw: string, asString: boolean): unknown {
  if (asString) return raw;
  if (raw === "true") return true;
  if (raw === "false") return false;
  if (raw === "null") return null;
  // Like Helm: integers only, and no leading zeros (so "0755" or an ID like "007" stays a string).
  if (/^-?(0|[1-9]\d*)$/.test(raw) && Number.isSafeInteger(Number(raw))) return Number(raw);
  return raw;
}

class Parser {
  private pos = 0;
  constructor(
    private readonly src: string,
    private readonly asString: boolean,
  ) {}

  parseInto(root: Values): void {
    if (this.src.trim() === "") throw new SetSyntaxError(this.src, "empty assignment; expected key=value");
    while (this.pos < this.src.length) {
      this.assignment(root);
      if (this.pos < this.src.length) {
        if (this.src[this.pos] !== ",") throw new SetSyntaxError(this.src, `unexpected "${this.src[this.pos]}" at position ${this.pos}`);
        this.pos++;
      }
    }
  }

  /** key(.key|[n])* = value */
  private assignment(root: Values): void {
    type Step = { kind: "key"; key: string } | { kind: "index"; index: number };
    const path: Step[] = [];
    path.push({ kind: "key", key: this.key() });
    for (;;) {
      const c = this.src[this.pos];
      if (c === ".") {
        this.pos++;
        path.push({ kind: "key", key: this.key() });
      } else if (c === "[") {
        path.push({ kind: "index", index: this.index() });
      } else if (c === "=") {
        this.pos++;
        break;
      } else {
        const what = c === undefined ? "end of input" : `"${c}"`;
        throw new SetSyntaxError(this.src, `expected "=" after key "${this.describe(path)}", got ${what}; use key=value`);
      }
    }
    const value = this.value();

    // Walk/create containers along the path, then assign.
    let container: Values | unknown[] = root;
    for (let i = 0; i < path.length; i++) {
      const step = path[i]!;
      const last = i === path.length - 1;
      const nextIsIndex = !last && path[i + 1]!.kind === "index";
      if (step.kind === "key") {
        if (Array.isArray(container)) throw new SetSyntaxError(this.src, `"${step.key}" used as a map key on a list`);
        const map = container;
        if (last) {
          if (value === null) delete map[step.key];
          else map[step.key] = value;
          return;
        }
        let next = map[step.key];
        if (nextIsIndex ? !Array.isArray(next) : !isMap(next)) {
          next = nextIsIndex ? [] : {};
          map[step.key] = next;
        }
        container = next as Values | unknown[];
      } else {
        if (!Array.isArray(container)) throw new SetSyntaxError(this.src, `index [${step.index}] used on a map`);
        const list = container;
        while (list.length <= step.index) list.push(null);
        if (last) {
          list[step.index] = value;
          return;
        }
        let next = list[step.index];
        if (nextIsIndex ? !Array.isArray(next) : !isMap(next)) {
          next = nextIsIndex ? [] : {};
          list[step.index] = next;
        }
        container = next as Values | unknown[];
      }
    }
  }

  private describe(path: readonly ({ kind: "key"; key: string } | { kind: "index"; index: number })[]): string {
    return path.map((s) => (s.kind === "key" ? s.key : `[${s.index}]`)).join(".").replace(/\.\[/g, "[");
  }

  private key(): string {
    let out = "";
    while (this.pos < this.src.length) {
      const c = this.src[this.pos]!;
      if (c === "\\") {
        out += this.escaped();
        continue;
      }
      if (c === "." || c === "[" || c === "=" || c === ",") break;
      out += c;
      this.pos++;
    }
    if (out === "") throw new SetSyntaxError(this.src, `empty key at position ${this.pos}`);
    return out;
  }

  private index(): number {
    this.pos++; // [
    const close = this.src.indexOf("]", this.pos);
    if (close < 0) throw new SetSyntaxError(this.src, `unclosed "[" at position ${this.pos - 1}`);
    const text = this.src.slice(this.pos, close);
    if (!/^\d+$/.test(text)) throw new SetSyntaxError(this.src, `list index "${text}" is not a non-negative integer`);
    const n = Number(text);
    if (n > MAX_INDEX) throw new SetSyntaxError(this.src, `list index ${n} is larger than ${MAX_INDEX}`);
    this.pos = close + 1;
    return n;
  }

  private value(): unknown {
    if (this.src[this.pos] === "{") return this.list();
    let out = "";
    while (this.pos < this.src.length) {
      const c = this.src[this.pos]!;
      if (c === "\\") {
        out += this.escaped();
        continue;
      }
      if (c === ",") break;
      out += c;
      this.pos++;
    }
    return typed(out, this.asString);
  }

  private list(): unknown[] {
    this.pos++; // {
    const items: unknown[] = [];
    let cur = "";
    for (;;) {
      const c = this.src[this.pos];
      if (c === undefined) throw new SetSyntaxError(this.src, `unclosed "{" list`);
      if (c === "\\") {
        cur += this.escaped();
        continue;
      }
      this.pos++;
      if (c === ",") {
        items.push(typed(cur, this.asString));
        cur = "";
      } else if (c === "}") {
        if (cur !== "" || items.length > 0) items.push(typed(cur, this.asString));
        return items;
      } else cur += c;
    }
  }

  private escaped(): string {
    const next = this.src[this.pos + 1];
    if (next === undefined) throw new SetSyntaxError(this.src, "a trailing backslash escapes nothing");
    this.pos += 2;
    return next;
  }
}

/** Reads a dotted path ("cluster.name") from a values tree. */
export function getPath(values: Values, path: string): unknown {
  let cur: unknown = values;
  for (const part of path.split(".")) {
    if (!isMap(cur)) return undefined;
    cur = cur[part];
  }
  return cur;
}
