// chgen client checks (wire protocol v1): the JavaScript of checks.ts.
// Compiled from checks.ts by tsc: DO NOT EDIT. Edit checks.ts, then run scripts/build-client-core.

/** What a JSON value is, in the server's words: an integer is a number Python reads as one. */
export function $kind(v) {
  if (typeof v == "number")
    return Number.isInteger(v) && v >= -(2 ** 63) && v < 2 ** 64 ? "an integer" : "a number";
  return v === null ? "null" : typeof v == "string" ? "a string" : typeof v == "boolean" ? "a boolean" : Array.isArray(v) ? "an array" : typeof v == "object" ? "an object" : typeof v;
}

export function $expected(what, v) {
  return `expected ${what}, got ${$kind(v)}`;
}

/** The first problem that `rules` find with `v`. */
export function $first(rules, v) {
  for (const rule of rules) {
    const problem = rule(v);
    if (problem)
      return problem;
  }
  return undefined;
}

/** A scalar: its base check, then its constraints in order; the first problem is reported. */
export function $scalar(base, ...rules) {
  return (v, p, e) => {
    const message = base(v) || $first(rules, v);
    if (message)
      e.push({ path: p, message });
  };
}

export function $str(v) {
  if (typeof v != "string")
    return $expected("a string", v);
  // With the u flag, \p{Cs} matches only a surrogate that is not half of a pair.
  return /\p{Cs}/u.test(v) ? "must be well-formed Unicode, without lone surrogates" : undefined;
}

export function $int(v) {
  if ($kind(v) != "an integer")
    return $expected("an integer", v);
  return Math.abs(v) > 9007199254740991 ? "must be between -9007199254740991 and 9007199254740991" : undefined;
}

export function $num(v) {
  return typeof v == "number" ? undefined : $expected("a number", v);
}

export function $bool(v) {
  return typeof v == "boolean" ? undefined : $expected("a boolean", v);
}

export function $null(v) {
  return v === null ? undefined : $expected("null", v);
}

/** A real day of the proleptic Gregorian calendar, years 1 to 9999. */
export function $day(y, m, d) {
  const leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
  return y > 0 && m > 0 && m < 13 && d > 0 && d <= (m == 2 ? (leap ? 29 : 28) : 30 + ((m + (m >> 3)) & 1));
}

export function $datetime(v) {
  if (typeof v != "string")
    return $expected("an RFC 3339 datetime string", v);
  const m = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d+))?(?:Z|[+-](\d\d):(\d\d))$/.exec(v);
  if (!m) {
    const naive = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?$/.test(v);
    return naive ? "expected a timezone offset (Z or +hh:mm) in the datetime" : "expected an RFC 3339 datetime like 2024-02-29T23:59:59.123Z";
  }
  if ((m[7] ?? "").length > 6)
    return "expected at most 6 fractional digits (microseconds)";
  const [y, mo, d, h, mi, s, oh, om] = [1, 2, 3, 4, 5, 6, 8, 9].map((i) => +(m[i] ?? 0));
  const real = $day(y, mo, d) && h < 24 && mi < 60 && s < 60 && oh < 24 && om < 60;
  return real ? undefined : "expected a real date and time (no leap second, offset within 23:59)";
}

export function $date(v) {
  if (typeof v != "string")
    return $expected("a date string YYYY-MM-DD", v);
  const m = /^(\d{4})-(\d\d)-(\d\d)$/.exec(v);
  return m && $day(+m[1], +m[2], +m[3]) ? undefined : "expected a date string YYYY-MM-DD";
}

export function $uuid(v) {
  if (typeof v != "string")
    return $expected("a UUID string", v);
  return /^[0-9a-f]{8}-(?:[0-9a-f]{4}-){3}[0-9a-f]{12}$/.test(v) ? undefined : "expected a lowercase UUID string like 123e4567-e89b-12d3-a456-426614174000";
}

export function $digits(v) {
  return v.replace(/[-.]/g, "").length > 4300 ? "must have at most 4300 digits" : undefined;
}

export function $decimal(v) {
  if (typeof v != "string")
    return $expected("a decimal number as a string", v);
  return /^-?(?:0|[1-9]\d*)(?:\.\d+)?$/.test(v) ? $digits(v) : 'expected a decimal number as a string, like "12.50"';
}

export function $bigint(v) {
  if (typeof v != "string")
    return $expected("an integer as a decimal string", v);
  return /^(?:0|-?[1-9]\d*)$/.test(v) ? $digits(v) : 'expected an integer as a decimal string, like "9007199254740993"';
}

/** Between `lo` and `hi` characters (Unicode code points, as Python counts), items or entries. */
export function $len(lo, hi = Infinity) {
  return (v) => {
    const string = typeof v == "string";
    const n = string ? [...v].length : Array.isArray(v) ? v.length : Object.keys(v).length;
    const count = (k) => `${k} ${string ? "character" : "item"}${k == 1 ? "" : "s"}`;
    return n < lo ? `must have at least ${count(lo)}, got ${n}` : n > hi ? `must have at most ${count(hi)}, got ${n}` : undefined;
  };
}

/** Compares numbers (and bigints). */
export function $ncmp(a, b) {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Compares BigInt strings. */
export function $bcmp(a, b) {
  return $ncmp(BigInt(a), BigInt(b));
}

/** [sign, integer digits without leading zeros, fraction digits without trailing zeros]. */
export function $dparts(s) {
  const [i = "", f = ""] = s.replace("-", "").split(".");
  const whole = i.replace(/^0+/, "");
  const fraction = f.replace(/0+$/, "");
  return [whole || fraction ? (s[0] == "-" ? -1 : 1) : 0, whole, fraction];
}

/** Compares decimal strings exactly. */
export function $dcmp(a, b) {
  const [sa, ia, fa] = $dparts(a);
  const [sb, ib, fb] = $dparts(b);
  if (sa != sb || !sa)
    return sa - sb;
  const width = Math.max(fa.length, fb.length);
  const x = ia.padStart(ib.length, "0") + fa.padEnd(width, "0");
  const y = ib.padStart(ia.length, "0") + fb.padEnd(width, "0");
  return x == y ? 0 : x < y ? -sa : sa;
}

/** `value op limit`; `text` is the limit as the server writes it. */
export function $bound(op, limit, text, cmp = $ncmp) {
  return (v) => {
    const c = cmp(v, limit);
    return (op == ">=" ? c >= 0 : op == ">" ? c > 0 : op == "<=" ? c <= 0 : c < 0) ? undefined : `must be ${op} ${text}`;
  };
}

/** `source` is the pattern as the spec wrote it; `re` the same pattern for JavaScript. */
export function $match(re, source) {
  return (v) => (re.test(v) ? undefined : "must match the pattern " + source);
}

export function $isobj(v) {
  return typeof v == "object" && v !== null && !Array.isArray(v);
}

export function $has(o, k) {
  return Object.prototype.hasOwnProperty.call(o, k);
}

/** The path step to key `k`: `.name` for an ASCII identifier, else `["k"]`. */
export function $key(k) {
  return /^[A-Za-z_]\w*$/.test(k) ? "." + k : `["${k.replace(/[\\"]/g, "\\$&")}"]`;
}

/** An array: each item, then (if every item is fine) the constraints. */
export function $list(item, ...rules) {
  return (v, p, e) => {
    if (!Array.isArray(v))
      return void e.push({ path: p, message: $expected("an array", v) });
    const n = e.length;
    v.forEach((x, i) => item(x, `${p}[${i}]`, e));
    const message = e.length == n && $first(rules, v);
    if (message)
      e.push({ path: p, message });
  };
}

/** An object with any keys: each value, then (if every value is fine) the constraints. */
export function $map(item, ...rules) {
  return (v, p, e) => {
    if (!$isobj(v))
      return void e.push({ path: p, message: $expected("an object", v) });
    const n = e.length;
    for (const k of Object.keys(v))
      item(v[k], p + $key(k), e);
    const message = e.length == n && $first(rules, v);
    if (message)
      e.push({ path: p, message });
  };
}

/** A payload: its fields in order, `optional` ones may be left out; other keys are refused. */
export function $obj(name, fields, optional = []) {
  const check = (v, p, e) => {
    if (!$isobj(v))
      return void e.push({ path: p, message: $expected("an object", v) });
    for (const [k, field] of Object.entries(fields)) {
      if ($has(v, k))
        field(v[k], p + "." + k, e);
      else if (!optional.includes(k))
        e.push({ path: p + "." + k, message: "required field missing" });
    }
    // Sorted by UTF-16 units, as the server sorts them too.
    for (const k of Object.keys(v).filter((k) => !$has(fields, k)).sort())
      e.push({ path: p + $key(k), message: "unexpected field" });
  };
  return Object.assign(check, { payload: name });
}

/** Payloads told apart by the value of their `tag` field; `choices` lists the values. */
export function $tagged(tag, members, choices) {
  return (v, p, e) => {
    if (!$isobj(v))
      return void e.push({ path: p, message: $expected("an object", v) });
    if (!$has(v, tag))
      return void e.push({ path: p + "." + tag, message: "required field missing" });
    const member = members.find((m) => m[0] === v[tag]);
    if (member)
      member[1](v, p, e);
    else
      e.push({ path: p + "." + tag, message: "expected one of " + choices });
  };
}

/** One of `values` (a Literal or an enum); `choices` lists them as JSON. */
export function $oneof(values, choices) {
  return (v) => (values.includes(v) ? undefined : "expected one of " + choices);
}

export function $nullable(inner) {
  return (v, p, e) => {
    if (v !== null)
      inner(v, p, e);
  };
}
