// chgen client checks (wire protocol v1): the spec's types and constraints, checked in the
// client as the server checks them, with the server's messages and `$.data` paths. A client
// holds only the functions its own checks use; each is exported here only so that this file
// compiles on its own (scripts/build-client-core). Keep one blank line between declarations
// and none inside one: the generator splits this file at blank lines.
import type { Check, ErrorDetail } from "./core.js";

/** Checks one value at `path`, adding each problem to `errors`. */
export type $V = (value: any, path: string, errors: ErrorDetail[]) => void;

/** A base check or a constraint: the problem with `value`, if any. */
export type $T = (value: any) => string | undefined;

/** What a JSON value is, in the server's words: an integer is a number Python reads as one. */
export function $kind(v: unknown): string {
  if (typeof v == "number") return Number.isInteger(v) && v >= -(2 ** 63) && v < 2 ** 64 ? "an integer" : "a number";
  return v === null ? "null" : typeof v == "string" ? "a string" : typeof v == "boolean" ? "a boolean" : Array.isArray(v) ? "an array" : typeof v == "object" ? "an object" : typeof v;
}

export function $expected(what: string, v: unknown): string {
  return `expected ${what}, got ${$kind(v)}`;
}

/** The first problem that `rules` find with `v`. */
export function $first(rules: readonly $T[], v: unknown): string | undefined {
  for (const rule of rules) {
    const problem = rule(v);
    if (problem) return problem;
  }
  return undefined;
}

/** A scalar: its base check, then its constraints in order; the first problem is reported. */
export function $scalar(base: $T, ...rules: $T[]): $V {
  return (v, p, e) => {
    const message = base(v) || $first(rules, v);
    if (message) e.push({ path: p, message });
  };
}

export function $str(v: unknown): string | undefined {
  if (typeof v != "string") return $expected("a string", v);
  // With the u flag, \p{Cs} matches only a surrogate that is not half of a pair.
  return /\p{Cs}/u.test(v) ? "must be well-formed Unicode, without lone surrogates" : undefined;
}

export function $int(v: unknown): string | undefined {
  if ($kind(v) != "an integer") return $expected("an integer", v);
  return Math.abs(v as number) > 9007199254740991 ? "must be between -9007199254740991 and 9007199254740991" : undefined;
}

export function $num(v: unknown): string | undefined {
  return typeof v == "number" ? undefined : $expected("a number", v);
}

export function $bool(v: unknown): string | undefined {
  return typeof v == "boolean" ? undefined : $expected("a boolean", v);
}

export function $null(v: unknown): string | undefined {
  return v === null ? undefined : $expected("null", v);
}

/** A real day of the proleptic Gregorian calendar, years 1 to 9999. */
export function $day(y: number, m: number, d: number): boolean {
  const leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
  return y > 0 && m > 0 && m < 13 && d > 0 && d <= (m == 2 ? (leap ? 29 : 28) : 30 + ((m + (m >> 3)) & 1));
}

export function $datetime(v: unknown): string | undefined {
  if (typeof v != "string") return $expected("an RFC 3339 datetime string", v);
  const m = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d+))?(?:Z|[+-](\d\d):(\d\d))$/.exec(v);
  if (!m) {
    const naive = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?$/.test(v);
    return naive ? "expected a timezone offset (Z or +hh:mm) in the datetime" : "expected an RFC 3339 datetime like 2024-02-29T23:59:59.123Z";
  }
  if ((m[7] ?? "").length > 6) return "expected at most 6 fractional digits (microseconds)";
  const [y, mo, d, h, mi, s, oh, om] = [1, 2, 3, 4, 5, 6, 8, 9].map((i) => +(m[i] ?? 0)) as [number, number, number, number, number, number, number, number];
  const real = $day(y, mo, d) && h < 24 && mi < 60 && s < 60 && oh < 24 && om < 60;
  return real ? undefined : "expected a real date and time (no leap second, offset within 23:59)";
}

export function $date(v: unknown): string | undefined {
  if (typeof v != "string") return $expected("a date string YYYY-MM-DD", v);
  const m = /^(\d{4})-(\d\d)-(\d\d)$/.exec(v);
  return m && $day(+m[1]!, +m[2]!, +m[3]!) ? undefined : "expected a date string YYYY-MM-DD";
}

export function $uuid(v: unknown): string | undefined {
  if (typeof v != "string") return $expected("a UUID string", v);
  return /^[0-9a-f]{8}-(?:[0-9a-f]{4}-){3}[0-9a-f]{12}$/.test(v) ? undefined : "expected a lowercase UUID string like 123e4567-e89b-12d3-a456-426614174000";
}

export function $digits(v: string): string | undefined {
  return v.replace(/[-.]/g, "").length > 4300 ? "must have at most 4300 digits" : undefined;
}

export function $decimal(v: unknown): string | undefined {
  if (typeof v != "string") return $expected("a decimal number as a string", v);
  return /^-?(?:0|[1-9]\d*)(?:\.\d+)?$/.test(v) ? $digits(v) : 'expected a decimal number as a string, like "12.50"';
}

export function $bigint(v: unknown): string | undefined {
  if (typeof v != "string") return $expected("an integer as a decimal string", v);
  return /^(?:0|-?[1-9]\d*)$/.test(v) ? $digits(v) : 'expected an integer as a decimal string, like "9007199254740993"';
}

/** Between `lo` and `hi` characters (Unicode code points, as Python counts), items or entries. */
export function $len(lo: number, hi: number = Infinity): $T {
  return (v) => {
    const string = typeof v == "string";
    const n = string ? [...v].length : Array.isArray(v) ? v.length : Object.keys(v).length;
    const count = (k: number) => `${k} ${string ? "character" : "item"}${k == 1 ? "" : "s"}`;
    return n < lo ? `must have at least ${count(lo)}, got ${n}` : n > hi ? `must have at most ${count(hi)}, got ${n}` : undefined;
  };
}

/** Compares numbers (and bigints). */
export function $ncmp(a: any, b: any): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Compares BigInt strings. */
export function $bcmp(a: string, b: string): number {
  return $ncmp(BigInt(a), BigInt(b));
}

/** [sign, integer digits without leading zeros, fraction digits without trailing zeros]. */
export function $dparts(s: string): [number, string, string] {
  const [i = "", f = ""] = s.replace("-", "").split(".");
  const whole = i.replace(/^0+/, "");
  const fraction = f.replace(/0+$/, "");
  return [whole || fraction ? (s[0] == "-" ? -1 : 1) : 0, whole, fraction];
}

/** Compares decimal strings exactly. */
export function $dcmp(a: string, b: string): number {
  const [sa, ia, fa] = $dparts(a);
  const [sb, ib, fb] = $dparts(b);
  if (sa != sb || !sa) return sa - sb;
  const width = Math.max(fa.length, fb.length);
  const x = ia.padStart(ib.length, "0") + fa.padEnd(width, "0");
  const y = ib.padStart(ia.length, "0") + fb.padEnd(width, "0");
  return x == y ? 0 : x < y ? -sa : sa;
}

/** `value op limit`; `text` is the limit as the server writes it. */
export function $bound(op: string, limit: unknown, text: string, cmp: (a: any, b: any) => number = $ncmp): $T {
  return (v) => {
    const c = cmp(v, limit);
    return (op == ">=" ? c >= 0 : op == ">" ? c > 0 : op == "<=" ? c <= 0 : c < 0) ? undefined : `must be ${op} ${text}`;
  };
}

/** `source` is the pattern as the spec wrote it; `re` the same pattern for JavaScript. */
export function $match(re: RegExp, source: string): $T {
  return (v) => (re.test(v) ? undefined : "must match the pattern " + source);
}

export function $isobj(v: unknown): v is Record<string, unknown> {
  return typeof v == "object" && v !== null && !Array.isArray(v);
}

export function $has(o: object, k: string): boolean {
  return Object.prototype.hasOwnProperty.call(o, k);
}

/** The path step to key `k`: `.name` for an ASCII identifier, else `["k"]`. */
export function $key(k: string): string {
  return /^[A-Za-z_]\w*$/.test(k) ? "." + k : `["${k.replace(/[\\"]/g, "\\$&")}"]`;
}

/** An array: each item, then (if every item is fine) the constraints. */
export function $list(item: $V, ...rules: $T[]): $V {
  return (v, p, e) => {
    if (!Array.isArray(v)) return void e.push({ path: p, message: $expected("an array", v) });
    const n = e.length;
    v.forEach((x, i) => item(x, `${p}[${i}]`, e));
    const message = e.length == n && $first(rules, v);
    if (message) e.push({ path: p, message });
  };
}

/** An object with any keys: each value, then (if every value is fine) the constraints. */
export function $map(item: $V, ...rules: $T[]): $V {
  return (v, p, e) => {
    if (!$isobj(v)) return void e.push({ path: p, message: $expected("an object", v) });
    const n = e.length;
    for (const k of Object.keys(v)) item(v[k], p + $key(k), e);
    const message = e.length == n && $first(rules, v);
    if (message) e.push({ path: p, message });
  };
}

/** A payload: its fields in order, `optional` ones may be left out; other keys are refused. */
export function $obj(name: string, fields: Readonly<Record<string, $V>>, optional: readonly string[] = []): Check {
  const check: $V = (v, p, e) => {
    if (!$isobj(v)) return void e.push({ path: p, message: $expected("an object", v) });
    for (const [k, field] of Object.entries(fields)) {
      if ($has(v, k)) field(v[k], p + "." + k, e);
      else if (!optional.includes(k)) e.push({ path: p + "." + k, message: "required field missing" });
    }
    // Sorted by UTF-16 units, as the server sorts them too.
    for (const k of Object.keys(v).filter((k) => !$has(fields, k)).sort()) e.push({ path: p + $key(k), message: "unexpected field" });
  };
  return Object.assign(check, { payload: name });
}

/** Payloads told apart by the value of their `tag` field; `choices` lists the values. */
export function $tagged(tag: string, members: readonly (readonly [unknown, $V])[], choices: string): $V {
  return (v, p, e) => {
    if (!$isobj(v)) return void e.push({ path: p, message: $expected("an object", v) });
    if (!$has(v, tag)) return void e.push({ path: p + "." + tag, message: "required field missing" });
    const member = members.find((m) => m[0] === v[tag]);
    if (member) member[1](v, p, e);
    else e.push({ path: p + "." + tag, message: "expected one of " + choices });
  };
}

/** One of `values` (a Literal or an enum); `choices` lists them as JSON. */
export function $oneof(values: readonly unknown[], choices: string): $T {
  return (v) => (values.includes(v) ? undefined : "expected one of " + choices);
}

export function $nullable(inner: $V): $V {
  return (v, p, e) => {
    if (v !== null) inner(v, p, e);
  };
}
