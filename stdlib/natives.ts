// Implementations of the pure builtin functions, in the order of vm/pbasm/natives-table.ts.
// They are deterministic (no clock, no randomness), which replay after a crash relies on.
// Natives that can make a big value check the limits (vm/limits.ts) before making it.
import { NATIVES } from '../vm/pbasm/natives-table.js';
import {
  checkListLength,
  checkNewContainer,
  checkStringLength,
  compare,
  fromForeign,
  iterate,
  jsonText,
  LoopIter,
  PlaybookRef,
  repr,
  toText,
  truthy,
  typeName,
  VMTypeError,
  VMValueError,
  type Limits,
  type RuntimeValue,
} from '../vm/values.js';

import { parseAnswer } from './answers.js';

type Native = (args: RuntimeValue[], lim: Limits) => RuntimeValue;

const isObject = (v: RuntimeValue): v is { [k: string]: RuntimeValue } =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof PlaybookRef) && !(v instanceof LoopIter);

function str(v: RuntimeValue, fn: string): string {
  if (typeof v !== 'string') throw new VMTypeError(`${fn}() expects str, got ${typeName(v)}`);
  return v;
}

function list(v: RuntimeValue, fn: string): RuntimeValue[] {
  if (!Array.isArray(v)) throw new VMTypeError(`${fn}() expects list, got ${typeName(v)}`);
  return v;
}

function toNumber(v: RuntimeValue, fn: string, integer: boolean): number {
  if (typeof v === 'number') return integer ? Math.trunc(v) : v;
  if (typeof v === 'boolean') return Number(v);
  if (typeof v === 'string') {
    const t = v.trim().replace(/_/g, '');
    const ok = integer ? /^[+-]?\d+$/.test(t) : /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$|^[+-]?(inf|infinity|nan)$/i.test(t);
    if (!ok) throw new VMValueError(`invalid literal for ${fn}(): ${JSON.stringify(v)}`);
    return integer ? parseInt(t, 10) : Number(t.replace(/^([+-]?)inf(inity)?$/i, '$1Infinity'));
  }
  throw new VMTypeError(`${fn}() argument must be a string or a number, not ${typeName(v)}`);
}

function extremum(args: RuntimeValue[], fn: 'min' | 'max', lim: Limits): RuntimeValue {
  const items = args.length === 1 ? iterate(args[0]!, lim) : args;
  if (items.length === 0) throw new VMTypeError(`${fn}() of an empty sequence`);
  let best: RuntimeValue = items[0]!;
  for (const x of items.slice(1)) {
    const c = compare(x, best, '<');
    if (fn === 'min' ? c < 0 : c > 0) best = x;
  }
  return best;
}

const IMPL: Record<string, Native> = {
  len: ([v]) => {
    if (typeof v === 'string' || Array.isArray(v)) return v.length;
    if (isObject(v!)) return Object.keys(v).length;
    throw new VMTypeError(`object of type '${typeName(v)}' has no len()`);
  },
  str: ([v], lim) => toText(v, lim),
  int: ([v]) => toNumber(v!, 'int', true),
  float: ([v]) => toNumber(v!, 'float', false),
  bool: ([v]) => truthy(v!),
  abs: ([v]) => {
    if (typeof v !== 'number') throw new VMTypeError(`bad operand type for abs(): ${typeName(v)}`);
    return Math.abs(v);
  },
  min: (args, lim) => extremum(args, 'min', lim),
  max: (args, lim) => extremum(args, 'max', lim),
  sum: ([v]) =>
    list(v!, 'sum').reduce<number>((acc, x) => {
      if (typeof x !== 'number') throw new VMTypeError(`sum() expects numbers, got ${typeName(x)}`);
      return acc + x;
    }, 0),
  round: ([v, digits]) => {
    if (typeof v !== 'number') throw new VMTypeError(`round() expects a number, got ${typeName(v)}`);
    const d = digits === undefined || digits === null ? 0 : toNumber(digits, 'round', true);
    const f = 10 ** d;
    // Python rounds half to even.
    const x = v * f;
    const r = Math.round(x);
    const even = Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
    return even / f;
  },
  range: (args, lim) => {
    const n = args.map((a) => toNumber(a, 'range', true));
    const [start, stop, step] = n.length === 1 ? [0, n[0]!, 1] : [n[0]!, n[1]!, n[2] ?? 1];
    if (step === 0) throw new VMTypeError('range() step must not be zero');
    const count = Math.max(0, Math.ceil((stop - start) / step));
    checkListLength(count, lim, 'range() would make');
    return Array.from({ length: count }, (_, i) => start + i * step);
  },
  sorted: ([v], lim) => iterate(v!, lim).sort((a, b) => compare(a, b, '<')),
  reversed: ([v], lim) => (typeof v === 'string' ? Array.from(v).reverse().join('') : iterate(v!, lim).reverse()),
  keys: ([v]) => {
    if (!isObject(v!)) throw new VMTypeError(`keys() expects an object, got ${typeName(v)}`);
    return Object.keys(v);
  },
  values: ([v]) => {
    if (!isObject(v!)) throw new VMTypeError(`values() expects an object, got ${typeName(v)}`);
    return Object.values(v);
  },
  // Case mapping can lengthen text ('ß' → 'SS').
  lower: ([v], lim) => grown(str(v!, 'lower').toLowerCase(), lim, 'lower() would make'),
  upper: ([v], lim) => grown(str(v!, 'upper').toUpperCase(), lim, 'upper() would make'),
  strip: ([v]) => str(v!, 'strip').trim(),
  split: ([v, sep], lim) => {
    const s = str(v!, 'split');
    if (sep === undefined || sep === null) {
      // Counted first only when the text is long enough to make too many parts.
      if (s.length / 2 + 1 > lim.listLength) checkListLength((s.match(/\S+/g) ?? []).length, lim, 'split() would make');
      return s.trim() === '' ? [] : s.trim().split(/\s+/);
    }
    const by = str(sep, 'split');
    if ((by === '' ? s.length : s.length / by.length + 1) > lim.listLength) checkListLength(by === '' ? s.length : occurrences(s, by) + 1, lim, 'split() would make');
    return s.split(by);
  },
  join: ([v, sep], lim) => {
    const parts = iterate(v!, lim).map((x) => toText(x, lim));
    const by = sep === undefined || sep === null ? '' : str(sep, 'join');
    let length = by.length * Math.max(0, parts.length - 1);
    for (const p of parts) length += p.length;
    checkStringLength(length, lim, 'join() would make');
    return parts.join(by);
  },
  replace: ([v, a, b], lim) => {
    const s = str(v!, 'replace');
    const from = str(a!, 'replace');
    const to = str(b!, 'replace');
    if (to.length > from.length) {
      const count = from === '' ? Math.max(0, s.length - 1) : occurrences(s, from);
      checkStringLength(s.length + count * (to.length - from.length), lim, 'replace() would make');
    }
    return s.split(from).join(to);
  },
  startswith: ([v, p]) => str(v!, 'startswith').startsWith(str(p!, 'startswith')),
  endswith: ([v, p]) => str(v!, 'endswith').endsWith(str(p!, 'endswith')),
  append: ([v, x], lim) => {
    const items = list(v!, 'append');
    checkListLength(items.length + 1, lim, 'append() would make');
    checkNewContainer([x], lim, 'append() would make');
    return [...items, x!];
  },
  type: ([v]) => typeName(v),
  json: ([v], lim) => jsonText(v, lim),
  format: ([v, spec], lim) => formatSpec(v!, str(spec!, 'format'), lim),
  repr: ([v], lim) => repr(v, lim),
  parse_answer: ([v, fields]) => parseAnswer(str(v!, 'parse_answer'), list(fields!, 'parse_answer').map((f) => str(f, 'parse_answer'))),
  parse_json: ([v], lim) => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(str(v!, 'parse_json'));
    } catch (err) {
      if (err instanceof VMTypeError) throw err;
      throw new VMTypeError(`parse_json(): invalid JSON: ${(err as Error).message}`);
    }
    return fromForeign(parsed, lim, 'parse_json() would make');
  },
};

function grown(s: string, lim: Limits, what: string): string {
  checkStringLength(s.length, lim, what);
  return s;
}

/** Non-overlapping occurrences of a non-empty `part` in `s`, as split() finds them. */
function occurrences(s: string, part: string): number {
  let n = 0;
  for (let i = s.indexOf(part); i >= 0; i = s.indexOf(part, i + part.length)) n++;
  return n;
}

const SPEC = /^(?:(.)?([<>=^]))?([+\- ])?(#)?(0)?(\d+)?([,_])?(?:\.(\d+))?([bcdeEfFgGnosxX%])?$/s;

/** Python's format-spec mini-language: [[fill]align][sign][#][0][width][,][.precision][type]. */
export function formatSpec(v: RuntimeValue, spec: string, lim?: Limits): string {
  const m = SPEC.exec(spec);
  if (!m) throw new VMTypeError(`invalid format spec '${spec}'`);
  const [, fillGiven, alignGiven, sign = '-', alt, zero, widthText, group, precText, type] = m;
  const precision = precText === undefined ? undefined : Number(precText);
  if (widthText !== undefined && lim) checkStringLength(Number(widthText), lim, `format spec '${clip(spec)}' would make`);
  // JavaScript formats numbers with at most 100 digits (and rejects more with a RangeError).
  if (precision !== undefined && precision > 100 && (typeof v === 'number' || typeof v === 'boolean')) {
    throw new VMValueError(`format spec '${clip(spec)}': precision ${precision} is more than 100 digits`);
  }
  let body: string;
  let negative = false;
  if (typeof v === 'number' || typeof v === 'boolean') {
    let x = Number(v);
    negative = x < 0 || Object.is(x, -0);
    x = Math.abs(x);
    switch (type) {
      case 'f':
      case 'F':
        body = x.toFixed(precision ?? 6);
        break;
      case '%':
        body = `${(x * 100).toFixed(precision ?? 6)}%`;
        break;
      case 'e':
      case 'E':
        body = x.toExponential(precision ?? 6).replace(/e([+-])(\d)$/, 'e$10$2');
        if (type === 'E') body = body.toUpperCase();
        break;
      case 'x':
      case 'X':
      case 'o':
      case 'b': {
        if (!Number.isInteger(x)) throw new VMTypeError(`format code '${type}' needs an integer`);
        const radix = type === 'o' ? 8 : type === 'b' ? 2 : 16;
        body = (alt ? { 8: '0o', 2: '0b', 16: '0x' }[radix] : '') + x.toString(radix);
        if (type === 'X') body = body.toUpperCase();
        break;
      }
      case 'd':
      case 'n':
        if (!Number.isInteger(x)) throw new VMTypeError(`format code 'd' needs an integer, got ${x}`);
        body = String(x);
        break;
      case 'g':
      case 'G':
        body = String(Number(x.toPrecision(precision || 6)));
        break;
      default:
        body = precision !== undefined ? String(Number(x.toPrecision(Math.max(1, precision)))) : toText(x);
    }
    if (group) {
      const [int, frac] = body.split('.');
      body = int!.replace(/\B(?=(\d{3})+(?!\d))/g, group) + (frac !== undefined ? `.${frac}` : '');
    }
  } else {
    if (type && type !== 's') throw new VMTypeError(`format code '${type}' is not valid for ${typeName(v)}`);
    body = toText(v, lim);
    if (precision !== undefined) body = body.slice(0, precision);
  }
  const signText = negative ? '-' : sign === '+' ? '+' : sign === ' ' ? ' ' : '';
  const width = widthText === undefined ? 0 : Number(widthText);
  const numeric = typeof v === 'number' || typeof v === 'boolean';
  const align = alignGiven ?? (zero && numeric ? '=' : numeric ? '>' : '<');
  const fill = fillGiven ?? (zero && !alignGiven ? '0' : ' ');
  const padding = Math.max(0, width - signText.length - body.length);
  switch (align) {
    case '<':
      return signText + body + fill.repeat(padding);
    case '^':
      return fill.repeat(Math.floor(padding / 2)) + signText + body + fill.repeat(Math.ceil(padding / 2));
    case '=':
      return signText + fill.repeat(padding) + body;
    default:
      return fill.repeat(padding) + signText + body;
  }
}

const clip = (s: string) => (s.length > 20 ? `${s.slice(0, 19)}…` : s);

/** Indexed like NATIVES, so CALL_NATIVE can dispatch by number. */
export const NATIVE_IMPLS: readonly Native[] = NATIVES.map((spec) => {
  const f = IMPL[spec.name];
  if (!f) throw new Error(`internal: native '${spec.name}' has no implementation`);
  return f;
});
