// Python-like value semantics over JSON-shaped values: truthiness, equality, ordering,
// arithmetic and text conversion. Errors are thrown as VMTypeError and turned into
// runtime errors with a source position by the machine.
import type { Value } from './pbasm/program.js';
import { ByteBudget, checkKeyCount, checkListLength, checkStringLength, DEFAULT_LIMITS, nestingError, scalarBytes, stringTooLong, type Limits } from './limits.js';

// The checks natives need (stdlib reaches the VM only through this module).
export { checkListLength, checkNewContainer, checkStringLength, type Limits } from './limits.js';

/** A reference to a playbook, as a value (GeneratePlaybook returns one; `$p(...)` calls it). */
export class PlaybookRef {
  constructor(
    readonly agent: string,
    readonly name: string,
  ) {}
  toString(): string {
    return `<playbook ${this.agent}.${this.name}>`;
  }
}

/** Iterator state of a For each loop, kept in a hidden local slot. */
export class LoopIter {
  constructor(
    readonly items: RuntimeValue[],
    public index: number,
  ) {}
}

export type RuntimeValue = Value | PlaybookRef | LoopIter | RuntimeValue[] | { [key: string]: RuntimeValue };

export class VMTypeError extends Error {}
/** Python's IndexError, KeyError and ValueError: distinct codes in runtime errors. */
export class VMIndexError extends VMTypeError {}
export class VMKeyError extends VMTypeError {}
export class VMValueError extends VMTypeError {}

export function typeName(v: RuntimeValue | undefined): string {
  if (v === null || v === undefined) return 'None';
  switch (typeof v) {
    case 'boolean':
      return 'bool';
    case 'number':
      return Number.isInteger(v) ? 'int' : 'float';
    case 'string':
      return 'str';
  }
  if (Array.isArray(v)) return 'list';
  if (v instanceof PlaybookRef) return 'playbook';
  if (v instanceof LoopIter) return 'iterator';
  return 'object';
}

export function truthy(v: RuntimeValue): boolean {
  if (v === null || v === false || v === 0 || v === '') return false;
  if (v === true || typeof v === 'number' || typeof v === 'string') return true;
  if (Array.isArray(v)) return v.length > 0;
  if (v instanceof PlaybookRef || v instanceof LoopIter) return true;
  return Object.keys(v as object).length > 0;
}

export function equals(a: RuntimeValue, b: RuntimeValue): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!equals(a[i]!, b[i]!)) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  if (a instanceof PlaybookRef || b instanceof PlaybookRef) {
    return a instanceof PlaybookRef && b instanceof PlaybookRef && a.agent === b.agent && a.name === b.name;
  }
  const ak = Object.keys(a);
  const bk = Object.keys(b);
  if (ak.length !== bk.length) return false;
  for (const k of ak) {
    if (!Object.prototype.hasOwnProperty.call(b, k)) return false;
    if (!equals((a as Record<string, RuntimeValue>)[k]!, (b as Record<string, RuntimeValue>)[k]!)) return false;
  }
  return true;
}

export function compare(a: RuntimeValue, b: RuntimeValue, op: string): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'boolean' && typeof b === 'number') return Number(a) - b;
  if (typeof a === 'number' && typeof b === 'boolean') return a - Number(b);
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  if (Array.isArray(a) && Array.isArray(b)) {
    for (let i = 0; i < Math.min(a.length, b.length); i++) {
      if (!equals(a[i]!, b[i]!)) return compare(a[i]!, b[i]!, op);
    }
    return a.length - b.length;
  }
  throw new VMTypeError(`'${op}' is not supported between ${typeName(a)} and ${typeName(b)}`);
}

const num = (v: RuntimeValue): v is number | boolean => typeof v === 'number' || typeof v === 'boolean';

function arith(a: RuntimeValue, b: RuntimeValue, op: string): never {
  throw new VMTypeError(`unsupported operand types for ${op}: ${typeName(a)} and ${typeName(b)}`);
}

export function add(a: RuntimeValue, b: RuntimeValue, lim: Limits = DEFAULT_LIMITS): RuntimeValue {
  if (typeof a === 'number' && typeof b === 'number') return a + b;
  if (typeof a === 'string' && typeof b === 'string') {
    checkStringLength(a.length + b.length, lim, "'+' would make");
    return a + b;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    checkListLength(a.length + b.length, lim, "'+' would make");
    return [...a, ...b];
  }
  if (num(a) && num(b)) return Number(a) + Number(b);
  return arith(a, b, '+');
}

export function sub(a: RuntimeValue, b: RuntimeValue): RuntimeValue {
  if (num(a) && num(b)) return Number(a) - Number(b);
  return arith(a, b, '-');
}

export function mul(a: RuntimeValue, b: RuntimeValue, lim: Limits = DEFAULT_LIMITS): RuntimeValue {
  if (num(a) && num(b)) return Number(a) * Number(b);
  const rep = (x: RuntimeValue, n: RuntimeValue): RuntimeValue | undefined => {
    if (typeof n !== 'number' || !Number.isInteger(n)) return undefined;
    const times = Math.max(0, n);
    if (typeof x === 'string') {
      if (x.length === 0 || times === 0) return '';
      // Checked before repeating: the size is known, and making it first is what runs out of memory.
      checkStringLength(x.length * times, lim, "'*' would make");
      return x.repeat(times);
    }
    if (Array.isArray(x)) {
      if (x.length === 0 || times === 0) return [];
      checkListLength(x.length * times, lim, "'*' would make");
      // One allocation of the final size (growing by push would briefly need half as much again).
      const out = new Array<RuntimeValue>(x.length * times);
      for (let i = 0, k = 0; i < times; i++) for (let j = 0; j < x.length; j++) out[k++] = x[j]!;
      return out;
    }
    return undefined;
  };
  const r = rep(a, b) ?? rep(b, a);
  if (r !== undefined) return r;
  return arith(a, b, '*');
}

export class VMZeroDivision extends Error {}

export function div(a: RuntimeValue, b: RuntimeValue): RuntimeValue {
  if (!num(a) || !num(b)) return arith(a, b, '/');
  if (Number(b) === 0) throw new VMZeroDivision('division by zero');
  return Number(a) / Number(b);
}

export function idiv(a: RuntimeValue, b: RuntimeValue): RuntimeValue {
  if (!num(a) || !num(b)) return arith(a, b, '//');
  if (Number(b) === 0) throw new VMZeroDivision('integer division by zero');
  return Math.floor(Number(a) / Number(b));
}

export function mod(a: RuntimeValue, b: RuntimeValue): RuntimeValue {
  if (!num(a) || !num(b)) return arith(a, b, '%');
  const x = Number(a);
  const y = Number(b);
  if (y === 0) throw new VMZeroDivision('modulo by zero');
  const r = x % y;
  return r !== 0 && r < 0 !== y < 0 ? r + y : r;
}

export function pow(a: RuntimeValue, b: RuntimeValue): RuntimeValue {
  if (!num(a) || !num(b)) return arith(a, b, '**');
  if (Number(a) === 0 && Number(b) < 0) throw new VMZeroDivision('0 cannot be raised to a negative power');
  return Number(a) ** Number(b);
}

export function neg(a: RuntimeValue): RuntimeValue {
  if (num(a)) return -Number(a);
  throw new VMTypeError(`bad operand type for unary -: ${typeName(a)}`);
}

export function contains(container: RuntimeValue, item: RuntimeValue): boolean {
  if (typeof container === 'string') {
    if (typeof item !== 'string') throw new VMTypeError(`'in <str>' requires str as left operand, not ${typeName(item)}`);
    return container.includes(item);
  }
  if (Array.isArray(container)) {
    for (const x of container) if (equals(x, item)) return true;
    return false;
  }
  if (container && typeof container === 'object' && !(container instanceof PlaybookRef) && !(container instanceof LoopIter)) {
    return typeof item === 'string' && Object.prototype.hasOwnProperty.call(container, item);
  }
  throw new VMTypeError(`argument of type '${typeName(container)}' is not iterable`);
}

export function index(obj: RuntimeValue, key: RuntimeValue): RuntimeValue {
  if (Array.isArray(obj) || typeof obj === 'string') {
    if (typeof key !== 'number' || !Number.isInteger(key)) throw new VMTypeError(`${typeName(obj)} indices must be integers, not ${typeName(key)}`);
    const i = key < 0 ? obj.length + key : key;
    if (i < 0 || i >= obj.length) throw new VMIndexError(`index ${key} out of range (length ${obj.length})`);
    return obj[i]!;
  }
  if (obj && typeof obj === 'object' && !(obj instanceof PlaybookRef) && !(obj instanceof LoopIter)) {
    const k = typeof key === 'string' ? key : typeof key === 'number' ? String(key) : undefined;
    if (k === undefined) throw new VMTypeError(`object keys are strings, not ${typeName(key)}`);
    if (!Object.prototype.hasOwnProperty.call(obj, k)) throw new VMKeyError(`key ${JSON.stringify(k)} not found`);
    return (obj as Record<string, RuntimeValue>)[k]!;
  }
  throw new VMTypeError(`'${typeName(obj)}' value is not subscriptable`);
}

export function attr(obj: RuntimeValue, name: string): RuntimeValue {
  if (obj && typeof obj === 'object' && !Array.isArray(obj) && !(obj instanceof PlaybookRef) && !(obj instanceof LoopIter)) {
    if (!Object.prototype.hasOwnProperty.call(obj, name)) throw new VMKeyError(`object has no key '${name}'`);
    return (obj as Record<string, RuntimeValue>)[name]!;
  }
  throw new VMTypeError(`'${typeName(obj)}' value has no attribute '${name}'`);
}

export function iterate(v: RuntimeValue, lim: Limits = DEFAULT_LIMITS): RuntimeValue[] {
  if (Array.isArray(v)) return v.slice();
  if (typeof v === 'string') {
    checkListLength(v.length, lim, 'iterating over a string would make');
    return Array.from(v);
  }
  if (v && typeof v === 'object' && !(v instanceof PlaybookRef) && !(v instanceof LoopIter)) return Object.keys(v);
  throw new VMTypeError(`'${typeName(v)}' value is not iterable`);
}

/** str(): the text a Say prints for a value. */
export function toText(v: RuntimeValue | undefined, lim: Limits = DEFAULT_LIMITS): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return formatNumber(v);
  if (v === null || v === undefined) return 'None';
  if (v === true) return 'True';
  if (v === false) return 'False';
  return repr(v, lim);
}

function formatNumber(n: number): string {
  if (Number.isNaN(n)) return 'nan';
  if (!Number.isFinite(n)) return n > 0 ? 'inf' : '-inf';
  return String(n);
}

/** repr(): strings quoted; used inside lists and objects. */
export function repr(v: RuntimeValue | undefined, lim: Limits = DEFAULT_LIMITS): string {
  // A list holding the same big list many times is small in memory, but its text is not:
  // the length is counted before any of the text is made.
  if (typeof v === 'object' && v !== null && textLength(v, 'repr', lim.stringLength) > lim.stringLength) stringTooLong(lim, 'the text of this value would be');
  const text = reprOf(v);
  if (typeof v === 'string') checkStringLength(text.length, lim, 'the text of this value would be');
  return text;
}

function reprOf(v: RuntimeValue | undefined): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v !== 'object' || v === null) return toText(v);
  if (Array.isArray(v)) return `[${v.map(reprOf).join(', ')}]`;
  if (v instanceof PlaybookRef) return v.toString();
  if (v instanceof LoopIter) return '<iterator>';
  return `{${Object.entries(v).map(([k, x]) => `${JSON.stringify(k)}: ${reprOf(x)}`).join(', ')}}`;
}

/** json(): JSON.stringify(toPlain(v)), its length checked before it is made. */
export function jsonText(v: RuntimeValue | undefined, lim: Limits = DEFAULT_LIMITS): string {
  if (textLength(v, 'json', lim.stringLength) > lim.stringLength) stringTooLong(lim, 'json() would make');
  return JSON.stringify(toPlain(v));
}

const STOP = Symbol('long enough');

/**
 * Length of repr(v) or of JSON.stringify(toPlain(v)), counted without making the text; once
 * past `max` it stops counting and returns a number above max.
 */
function textLength(v: RuntimeValue | undefined, mode: 'repr' | 'json', max: number): number {
  let n = 0;
  const sep = mode === 'repr' ? 2 : 1;
  const count = (x: RuntimeValue | undefined): void => {
    if (typeof x === 'string') n += JSON.stringify(x).length;
    else if (typeof x === 'number') n += mode === 'repr' ? formatNumber(x).length : Number.isFinite(x) ? String(x).length : 4;
    else if (x === true || x === undefined || x === null) n += 4;
    else if (x === false) n += 5;
    else if (x instanceof PlaybookRef) n += mode === 'repr' ? x.toString().length : JSON.stringify(x.toString()).length;
    else if (x instanceof LoopIter) n += mode === 'repr' ? 10 : 4;
    else if (Array.isArray(x)) {
      n += 2 + sep * Math.max(0, x.length - 1);
      for (let i = 0; i < x.length; i++) count(x[i]);
    } else {
      const keys = Object.keys(x);
      n += 2 + sep * Math.max(0, keys.length - 1);
      for (const k of keys) {
        n += JSON.stringify(k).length + sep;
        count((x as Record<string, RuntimeValue>)[k]);
      }
    }
    if (n > max) throw STOP;
  };
  try {
    count(v);
  } catch (err) {
    if (err !== STOP) throw err;
  }
  return n;
}

/**
 * The first `max` or so characters of JSON.stringify(toPlain(v)), without making the rest
 * (one-line previews of values of any size). Longer than `max` when there is more.
 */
export function jsonPreview(v: RuntimeValue | undefined, max: number): string {
  const parts: string[] = [];
  let n = 0;
  const put = (s: string) => {
    parts.push(s);
    n += s.length;
    if (n > max) throw STOP;
  };
  const walk = (x: RuntimeValue | undefined): void => {
    if (x === undefined || x === null || x instanceof LoopIter) return put('null');
    if (typeof x === 'boolean') return put(x ? 'true' : 'false');
    if (typeof x === 'number') return put(Number.isFinite(x) ? String(x) : 'null');
    if (typeof x === 'string') {
      // Only the start of a long string is needed (without a high surrogate cut in two).
      let t = x;
      if (t.length > max + 2) {
        t = t.slice(0, max + 2);
        if (/[\uD800-\uDBFF]$/.test(t)) t = t.slice(0, -1);
      }
      return put(JSON.stringify(t));
    }
    if (x instanceof PlaybookRef) return put(JSON.stringify(x.toString()));
    if (Array.isArray(x)) {
      put('[');
      for (let i = 0; i < x.length; i++) {
        if (i > 0) put(',');
        walk(x[i]);
      }
      return put(']');
    }
    put('{');
    let first = true;
    for (const [k, y] of Object.entries(x)) {
      if (!first) put(',');
      first = false;
      put(`${JSON.stringify(k)}:`);
      walk(y);
    }
    put('}');
  };
  try {
    walk(v);
  } catch (err) {
    if (err !== STOP) throw err;
  }
  return parts.join('');
}

/**
 * Spends on `budget` what v would take encoded (msgpack-like estimate), without copying it;
 * throws VMLimitError once the budget is spent. Shared parts count every time they occur, as
 * they do once encoded.
 */
export function spendOn(v: RuntimeValue | undefined, budget: ByteBudget): void {
  if (typeof v !== 'object' || v === null) return budget.spend(scalarBytes(v));
  if (Array.isArray(v)) {
    budget.spend(5);
    for (let i = 0; i < v.length; i++) spendOn(v[i], budget);
    return;
  }
  if (v instanceof PlaybookRef) return budget.spend(10 + v.agent.length + v.name.length);
  if (v instanceof LoopIter) return spendOn(v.items, budget);
  budget.spend(5);
  for (const k in v) {
    budget.spend(5 + k.length);
    spendOn((v as Record<string, RuntimeValue>)[k], budget);
  }
}

/**
 * A plain JSON-shaped copy, for tools, models and the journal. With a budget, a value that
 * would copy out to more than the budget's bytes is refused (VMLimitError) before any copying.
 */
export function toPlain(v: RuntimeValue | undefined, budget?: ByteBudget): Value {
  if (budget && typeof v === 'object' && v !== null) spendOn(v, budget);
  return plain(v);
}

function plain(v: RuntimeValue | undefined): Value {
  if (v === undefined) return null;
  if (typeof v !== 'object' || v === null) return v;
  if (Array.isArray(v)) return v.map(plain);
  if (v instanceof PlaybookRef) return v.toString();
  if (v instanceof LoopIter) return null;
  const out: Record<string, Value> = {};
  for (const [k, x] of Object.entries(v)) setKey(out, k, plain(x));
  return out;
}

/** Sets an own data property, even for a key such as "__proto__" that plain assignment would not store. */
export function setKey(obj: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  else obj[key] = value;
}

/**
 * Values that come from outside (tools, JSON) made JSON-shaped: undefined → null, Dates → text.
 * They must keep within the limits as values the program makes do; `what` starts the error
 * message ("the tool's result holds").
 */
export function fromForeign(v: unknown, lim: Limits = DEFAULT_LIMITS, what = 'the value holds'): Value {
  const budget = new ByteBudget(lim.stateBytes, what);
  const walk = (x: unknown, depth: number): Value => {
    if (x === undefined || x === null) return null;
    if (typeof x === 'string') {
      checkStringLength(x.length, lim, what);
      budget.spend(5 + x.length);
      return x;
    }
    if (typeof x === 'boolean' || typeof x === 'number' || typeof x === 'bigint') {
      budget.spend(9);
      return typeof x === 'bigint' ? Number(x) : x;
    }
    if (x instanceof Date) return walk(x.toISOString(), depth);
    if (typeof x !== 'object') return walk(String(x), depth);
    if (depth >= lim.nesting) nestingError(lim, what);
    budget.spend(5);
    if (Array.isArray(x)) {
      checkListLength(x.length, lim, what);
      const out: Value[] = new Array(x.length);
      for (let i = 0; i < x.length; i++) out[i] = walk(x[i], depth + 1);
      return out;
    }
    const entries = Object.entries(x as Record<string, unknown>);
    checkKeyCount(entries.length, lim, what);
    const out: Record<string, Value> = {};
    for (const [k, y] of entries) {
      if (typeof y === 'function') continue;
      budget.spend(5 + k.length);
      setKey(out, k, walk(y, depth + 1));
    }
    return out;
  };
  return walk(v, 0);
}
