// Implementations of the pure builtin functions, in the order of vm/pbasm/natives-table.ts.
// They are deterministic (no clock, no randomness), which replay after a crash relies on.
import { NATIVES } from '../vm/pbasm/natives-table.js';
import {
  compare,
  fromForeign,
  iterate,
  LoopIter,
  PlaybookRef,
  toPlain,
  toText,
  truthy,
  typeName,
  VMTypeError,
  type RuntimeValue,
} from '../vm/values.js';

type Native = (args: RuntimeValue[]) => RuntimeValue;

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
    if (!ok) throw new VMTypeError(`invalid literal for ${fn}(): ${JSON.stringify(v)}`);
    return integer ? parseInt(t, 10) : Number(t.replace(/^([+-]?)inf(inity)?$/i, '$1Infinity'));
  }
  throw new VMTypeError(`${fn}() argument must be a string or a number, not ${typeName(v)}`);
}

function extremum(args: RuntimeValue[], fn: 'min' | 'max'): RuntimeValue {
  const items = args.length === 1 ? iterate(args[0]!) : args;
  if (items.length === 0) throw new VMTypeError(`${fn}() of an empty sequence`);
  let best: RuntimeValue = items[0]!;
  for (const x of items.slice(1)) {
    const c = compare(x, best, fn);
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
  str: ([v]) => toText(v),
  int: ([v]) => toNumber(v!, 'int', true),
  float: ([v]) => toNumber(v!, 'float', false),
  bool: ([v]) => truthy(v!),
  abs: ([v]) => {
    if (typeof v !== 'number') throw new VMTypeError(`bad operand type for abs(): ${typeName(v)}`);
    return Math.abs(v);
  },
  min: (args) => extremum(args, 'min'),
  max: (args) => extremum(args, 'max'),
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
  range: (args) => {
    const n = args.map((a) => toNumber(a, 'range', true));
    const [start, stop, step] = n.length === 1 ? [0, n[0]!, 1] : [n[0]!, n[1]!, n[2] ?? 1];
    if (step === 0) throw new VMTypeError('range() step must not be zero');
    const count = Math.max(0, Math.ceil((stop - start) / step));
    if (count > 10_000_000) throw new VMTypeError(`range() of ${count} items is too large`);
    return Array.from({ length: count }, (_, i) => start + i * step);
  },
  sorted: ([v]) => iterate(v!).sort((a, b) => compare(a, b, 'sorted')),
  reversed: ([v]) => (typeof v === 'string' ? Array.from(v).reverse().join('') : iterate(v!).reverse()),
  keys: ([v]) => {
    if (!isObject(v!)) throw new VMTypeError(`keys() expects an object, got ${typeName(v)}`);
    return Object.keys(v);
  },
  values: ([v]) => {
    if (!isObject(v!)) throw new VMTypeError(`values() expects an object, got ${typeName(v)}`);
    return Object.values(v);
  },
  lower: ([v]) => str(v!, 'lower').toLowerCase(),
  upper: ([v]) => str(v!, 'upper').toUpperCase(),
  strip: ([v]) => str(v!, 'strip').trim(),
  split: ([v, sep]) => {
    const s = str(v!, 'split');
    if (sep === undefined || sep === null) return s.trim() === '' ? [] : s.trim().split(/\s+/);
    return s.split(str(sep, 'split'));
  },
  join: ([v, sep]) =>
    iterate(v!)
      .map((x) => toText(x))
      .join(sep === undefined || sep === null ? '' : str(sep, 'join')),
  replace: ([v, a, b]) => str(v!, 'replace').split(str(a!, 'replace')).join(str(b!, 'replace')),
  startswith: ([v, p]) => str(v!, 'startswith').startsWith(str(p!, 'startswith')),
  endswith: ([v, p]) => str(v!, 'endswith').endsWith(str(p!, 'endswith')),
  append: ([v, x]) => [...list(v!, 'append'), x!],
  type: ([v]) => typeName(v),
  json: ([v]) => JSON.stringify(toPlain(v)),
  parse_json: ([v]) => {
    try {
      return fromForeign(JSON.parse(str(v!, 'parse_json')));
    } catch (err) {
      if (err instanceof VMTypeError) throw err;
      throw new VMTypeError(`parse_json(): invalid JSON: ${(err as Error).message}`);
    }
  },
};

/** Indexed like NATIVES, so CALL_NATIVE can dispatch by number. */
export const NATIVE_IMPLS: readonly Native[] = NATIVES.map((spec) => {
  const f = IMPL[spec.name];
  if (!f) throw new Error(`internal: native '${spec.name}' has no implementation`);
  return f;
});
