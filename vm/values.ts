// Python-like value semantics over JSON-shaped values: truthiness, equality, ordering,
// arithmetic and text conversion. Errors are thrown as VMTypeError and turned into
// runtime errors with a source position by the machine.
import type { Value } from './pbasm/program.js';

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

export function add(a: RuntimeValue, b: RuntimeValue): RuntimeValue {
  if (typeof a === 'number' && typeof b === 'number') return a + b;
  if (typeof a === 'string' && typeof b === 'string') return a + b;
  if (Array.isArray(a) && Array.isArray(b)) return [...a, ...b];
  if (num(a) && num(b)) return Number(a) + Number(b);
  return arith(a, b, '+');
}

export function sub(a: RuntimeValue, b: RuntimeValue): RuntimeValue {
  if (num(a) && num(b)) return Number(a) - Number(b);
  return arith(a, b, '-');
}

export function mul(a: RuntimeValue, b: RuntimeValue): RuntimeValue {
  if (num(a) && num(b)) return Number(a) * Number(b);
  const rep = (x: RuntimeValue, n: RuntimeValue): RuntimeValue | undefined => {
    if (typeof n !== 'number' || !Number.isInteger(n)) return undefined;
    if (typeof x === 'string') return x.repeat(Math.max(0, n));
    if (Array.isArray(x)) return Array.from({ length: Math.max(0, n) }, () => x).flat(1) as RuntimeValue[];
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

export function iterate(v: RuntimeValue): RuntimeValue[] {
  if (Array.isArray(v)) return v.slice();
  if (typeof v === 'string') return Array.from(v);
  if (v && typeof v === 'object' && !(v instanceof PlaybookRef) && !(v instanceof LoopIter)) return Object.keys(v);
  throw new VMTypeError(`'${typeName(v)}' value is not iterable`);
}

/** str(): the text a Say prints for a value. */
export function toText(v: RuntimeValue | undefined): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return formatNumber(v);
  if (v === null || v === undefined) return 'None';
  if (v === true) return 'True';
  if (v === false) return 'False';
  return repr(v);
}

function formatNumber(n: number): string {
  if (Number.isNaN(n)) return 'nan';
  if (!Number.isFinite(n)) return n > 0 ? 'inf' : '-inf';
  return String(n);
}

/** repr(): strings quoted; used inside lists and objects. */
export function repr(v: RuntimeValue | undefined): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v !== 'object' || v === null) return toText(v);
  if (Array.isArray(v)) return `[${v.map(repr).join(', ')}]`;
  if (v instanceof PlaybookRef) return v.toString();
  if (v instanceof LoopIter) return '<iterator>';
  return `{${Object.entries(v).map(([k, x]) => `${JSON.stringify(k)}: ${repr(x)}`).join(', ')}}`;
}

/** A plain JSON-shaped copy, for tools, models and the journal. */
export function toPlain(v: RuntimeValue | undefined): Value {
  if (v === undefined) return null;
  if (typeof v !== 'object' || v === null) return v;
  if (Array.isArray(v)) return v.map(toPlain);
  if (v instanceof PlaybookRef) return v.toString();
  if (v instanceof LoopIter) return null;
  const out: Record<string, Value> = {};
  for (const [k, x] of Object.entries(v)) setKey(out, k, toPlain(x));
  return out;
}

/** Sets an own data property, even for a key such as "__proto__" that plain assignment would not store. */
export function setKey(obj: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  else obj[key] = value;
}

/** Values that come from outside (tools, JSON) made JSON-shaped: undefined → null, Dates → text. */
export function fromForeign(v: unknown, depth = 0): Value {
  if (depth > 64) throw new VMTypeError('value nested more than 64 levels deep');
  if (v === undefined || v === null) return null;
  if (typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (Array.isArray(v)) return v.map((x) => fromForeign(x, depth + 1));
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'object') {
    const out: Record<string, Value> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) if (typeof x !== 'function') setKey(out, k, fromForeign(x, depth + 1));
    return out;
  }
  return String(v);
}
