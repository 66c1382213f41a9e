// Bounds on the values a run makes, so that no program can crash the process (a V8 fatal
// out-of-memory error kills it on every resume) or make its own state unwritable (values nested
// deeper than the encoders' recursion can go). Every place that builds or grows a value checks
// the limit that applies and throws VMLimitError, which the machine reports as a runtime error
// `limit-exceeded` at the source line that made the value. Documented in grammar/LANGUAGE.md.
//
// Defaults are far above what a real program holds and far below what breaks V8:
//   listLength   10,000,000 items   (80 MB of references; range() always stopped there)
//   stringLength 64 Mi characters   (128 MB in memory; V8's own maximum is ~512 Mi)
//   nesting      100 levels         (JSON from real APIs nests < 20; msgpack's encoder
//                                     overflows the JS stack near 1,200 levels)
//   stateBytes   256 MiB            (approximate encoded size of a snapshot's run state, and of
//                                     any one value handed to a tool, the model or the journal)

import { getHeapStatistics } from 'node:v8';

export interface Limits {
  /** Items in one list, keys in one object. */
  listLength: number;
  /** Characters (UTF-16 code units) in one string. */
  stringLength: number;
  /** Levels of lists and objects inside each other (a scalar is 0, `[1]` is 1). */
  nesting: number;
  /** Approximate encoded bytes of the run state (checked at each snapshot) and of one value leaving the VM. */
  stateBytes: number;
}

export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  listLength: 10_000_000,
  stringLength: 64 * 1024 * 1024,
  nesting: 100,
  stateBytes: 256 * 1024 * 1024,
});

/**
 * What each limit may be set to. The ceilings are where V8 or the formats stop: arrays much
 * longer than 100 M items exhaust the heap, V8 strings end at 536,870,888 characters, values
 * nested 500 deep (plus the snapshot's own levels) still encode, and snapshot and journal
 * record lengths are 32-bit (2 GiB leaves room for the estimate being approximate).
 */
export const LIMIT_RANGES: Readonly<Record<keyof Limits, readonly [number, number]>> = Object.freeze({
  listLength: [1, 100_000_000],
  stringLength: [1, 536_870_888],
  nesting: [1, 500],
  stateBytes: [1024, 2 * 1024 * 1024 * 1024],
});

/** Names on the command line (`--limit list-length=20M`) and in error messages. */
export const LIMIT_FLAGS: Readonly<Record<keyof Limits, string>> = Object.freeze({
  listLength: 'list-length',
  stringLength: 'string-length',
  nesting: 'nesting',
  stateBytes: 'state-bytes',
});

/** A value broke a limit; the machine reports it as `limit-exceeded`. */
export class VMLimitError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'VMLimitError';
  }
}

/** A limit set to something it cannot be (not an integer, out of its range). */
export class LimitConfigError extends Error {}

/** The defaults with `given` applied; throws LimitConfigError for a value out of range. */
export function resolveLimits(given: Partial<Limits> | undefined): Limits {
  const out: Limits = { ...DEFAULT_LIMITS };
  if (!given) return out;
  for (const key of Object.keys(LIMIT_RANGES) as Array<keyof Limits>) {
    const v = given[key];
    if (v === undefined) continue;
    const [min, max] = LIMIT_RANGES[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      throw new LimitConfigError(`limit ${LIMIT_FLAGS[key]} must be a whole number from ${fmt(min)} to ${fmt(max)}, got ${String(v)}`);
    }
    out[key] = v;
  }
  return out;
}

/** `name=value` (value a whole number, optionally with a binary suffix k, m or g), as `--limit` takes it. */
export function parseLimit(text: string): [keyof Limits, number] {
  const eq = text.indexOf('=');
  const name = eq > 0 ? text.slice(0, eq).trim() : text;
  const key = (Object.keys(LIMIT_FLAGS) as Array<keyof Limits>).find((k) => LIMIT_FLAGS[k] === name);
  if (!key) throw new LimitConfigError(`unknown limit '${name}' (known: ${Object.values(LIMIT_FLAGS).join(', ')})`);
  const m = /^(\d+)([kmg]?)$/i.exec(eq > 0 ? text.slice(eq + 1).trim() : '');
  if (!m) throw new LimitConfigError(`limit ${name} needs a whole number, e.g. ${name}=${key === 'nesting' ? '200' : '512m'}`);
  const scale = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g'];
  const value = Number(m[1]) * scale;
  resolveLimits({ [key]: value });
  return [key, value];
}

const fmt = (n: number) => n.toLocaleString('en');

// Messages read as `${what} a list of ...`, where `what` says who: "'*' would make", "the tool's result holds".
function raise(what: string, thing: string, size: number, key: keyof Limits, limit: number): never {
  throw new VMLimitError(`${what} ${thing.replace('#', fmt(size))}, more than the limit of ${fmt(limit)} (raise it with --limit ${LIMIT_FLAGS[key]}=N)`);
}

export function checkListLength(n: number, lim: Limits, what: string): void {
  if (n > lim.listLength) raise(what, 'a list of # items', n, 'listLength', lim.listLength);
  if (n >= BIG) checkHeap(n * 8, what);
}

/** Objects count their keys against the list-length limit. */
export function checkKeyCount(n: number, lim: Limits, what: string): void {
  if (n > lim.listLength) raise(what, 'an object of # keys', n, 'listLength', lim.listLength);
}

export function checkStringLength(n: number, lim: Limits, what: string): void {
  if (n > lim.stringLength) raise(what, 'a string of # characters', n, 'stringLength', lim.stringLength);
  if (n >= BIG) checkHeap(n * 2, what);
}

/** Values this big (items or characters) are made only when the heap has room for them. */
const BIG = 1_000_000;
/** Share of the heap's limit the program's values may fill; past it V8 would soon abort the process. */
const HEAP_SHARE = 0.75;

/**
 * Many values each within the limits can still fill the heap (a list of a hundred lists of
 * nine million items). A big new value is refused when the heap, with it, would pass 75 % of
 * what V8 allows (node --max-old-space-size raises that); smaller values are never checked.
 */
function checkHeap(bytes: number, what: string): void {
  const heap = getHeapStatistics();
  if (heap.used_heap_size + bytes > heap.heap_size_limit * HEAP_SHARE) {
    const mib = (n: number) => `${fmt(Math.round(n / 1024 / 1024))} MiB`;
    throw new VMLimitError(`${what} a value of about ${mib(bytes)} while the program's values already take ${mib(heap.used_heap_size)} of the ${mib(heap.heap_size_limit)} this process may use (run node with --max-old-space-size to allow more)`);
  }
}

/** Text counted only up to the limit: its exact length is not known, only that it is longer. */
export function stringTooLong(lim: Limits, what: string): never {
  throw new VMLimitError(`${what} a string longer than the limit of ${fmt(lim.stringLength)} characters (raise it with --limit ${LIMIT_FLAGS.stringLength}=N)`);
}

export function nestingError(lim: Limits, what: string): never {
  throw new VMLimitError(`${what} lists and objects nested more than ${fmt(lim.nesting)} levels deep (raise it with --limit ${LIMIT_FLAGS.nesting}=N)`);
}

/** Counts approximate encoded bytes against a ceiling (a snapshot's state, one value leaving the VM). */
export class ByteBudget {
  used = 0;
  constructor(
    readonly max: number,
    private readonly what: string,
  ) {}

  spend(n: number): void {
    this.used += n;
    if (this.used > this.max) {
      throw new VMLimitError(`${this.what} more than the limit of ${fmt(this.max)} bytes of data (raise it with --limit ${LIMIT_FLAGS.stateBytes}=N)`);
    }
  }
}

/** Approximate encoded size of a scalar or string (msgpack-like: a tag, the number or the text). */
export function scalarBytes(v: unknown): number {
  return typeof v === 'string' ? 5 + v.length : 9;
}

// Nesting is measured when a container is put inside a new one. Values are never changed in
// place, so a container's depth never changes, and a container that took real work to measure
// (64 items or more, its own and those of the uncached containers inside it) is remembered. A
// small one is measured again each time: a WeakMap entry costs more than rescanning a few items.
const depths = new WeakMap<object, number>();
const REMEMBER_WORK = 64;
/** Items looked at so far, by all measurements (only differences are used). */
let work = 0;

/**
 * Lists and objects. (A playbook reference, which holds two strings, counts as a level too: a
 * cheaper test than telling it apart, and it only ever makes a nesting count one higher.)
 */
function isContainer(v: unknown): v is object {
  return typeof v === 'object' && v !== null;
}

/** Levels of containers in v; stops looking (and returns more than `cap`) once it is deeper than cap. */
export function nestingOf(v: unknown, cap: number): number {
  if (!isContainer(v)) return 0;
  const known = depths.get(v);
  if (known !== undefined) return known;
  if (cap <= 0) return 1;
  const started = work;
  let deepest = 0;
  if (Array.isArray(v)) {
    work += v.length;
    for (let i = 0; i < v.length; i++) {
      const x = v[i];
      if (typeof x === 'object' && x !== null) {
        const d = nestingOf(x, cap - 1);
        if (d > deepest) deepest = d;
        if (deepest >= cap) return deepest + 1;
      }
    }
  } else {
    for (const k in v) {
      work++;
      const x = (v as Record<string, unknown>)[k];
      if (typeof x === 'object' && x !== null) {
        const d = nestingOf(x, cap - 1);
        if (d > deepest) deepest = d;
        if (deepest >= cap) return deepest + 1;
      }
    }
  }
  const depth = deepest + 1;
  if (work - started >= REMEMBER_WORK) depths.set(v, depth);
  return depth;
}

/**
 * A new container holding `items` (those from `from` to `to`, every `step`-th) stays within the
 * nesting limit: its depth is 1 + the deepest item's.
 */
export function checkNewContainer(items: ArrayLike<unknown>, lim: Limits, what: string, from = 0, to = items.length, step = 1): void {
  let deepest = 0;
  for (let i = from; i < to; i += step) {
    const x = items[i];
    if (typeof x === 'object' && x !== null) {
      const d = nestingOf(x, lim.nesting);
      if (d > deepest) deepest = d;
    }
  }
  if (deepest + 1 > lim.nesting) nestingError(lim, what);
}

/**
 * A value from outside the machine's own operations (a model's answer, an entry argument, a
 * resumed input) is within every limit: nesting, list and string lengths, and total bytes.
 */
export function checkValue(v: unknown, lim: Limits, what: string): void {
  const budget = new ByteBudget(lim.stateBytes, what);
  const walk = (x: unknown, depth: number): void => {
    if (typeof x === 'string') {
      checkStringLength(x.length, lim, what);
      budget.spend(5 + x.length);
      return;
    }
    if (!isContainer(x)) {
      budget.spend(9);
      return;
    }
    if (depth >= lim.nesting) nestingError(lim, what);
    budget.spend(5);
    if (Array.isArray(x)) {
      checkListLength(x.length, lim, what);
      for (let i = 0; i < x.length; i++) walk(x[i], depth + 1);
      return;
    }
    const keys = Object.keys(x);
    checkKeyCount(keys.length, lim, what);
    for (const k of keys) {
      budget.spend(5 + k.length);
      walk((x as Record<string, unknown>)[k], depth + 1);
    }
  };
  walk(v, 0);
}
