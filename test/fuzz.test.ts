// Deterministic fuzzing of the compiler front end. Corpus programs are mutated (bytes, lines,
// unicode, line endings, unclosed constructs, imports), generated (random programs, very deep
// nesting, huge inputs) or taken from a fixed list of tricky inputs, and every case must:
//   - compile without compileSource throwing, without an 'internal-error' diagnostic,
//   - give diagnostics with line >= 1, col >= 1, a non-empty message, a line that exists in
//     the file they name, and formatDiagnostics must render them,
//   - when it compiles: verifyProgram passes, and encode -> decode is lossless (deep-equal,
//     same disassembly),
//   - finish within PER_CASE_MS (a case that takes longer is reported with its input saved).
// A real hang cannot be interrupted from inside a synchronous loop, so a watchdog thread
// kills the test process after HANG_MS and prints where the hanging input was saved.
//
// Knobs: PB_FUZZ_SEED=<int|0xhex> (default fixed), PB_FUZZ_SCALE=<factor> (case counts),
//        PB_FUZZ_CASE=<category>:<index> (run one case only; its input is saved and printed).
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileSource, type CompileResult } from '../compiler/compile.js';
import { formatDiagnostics } from '../compiler/diagnostics.js';
import { disassemble } from '../compiler/disasm.js';
import type { SourceHost } from '../compiler/loader.js';
import { nodeSourceHost } from '../src/source-host.js';
import { decodeProgram, encodeProgram } from '../vm/pbasm/container.js';
import { verifyProgram } from '../vm/pbasm/verify.js';
import { CORPUS, corpusPresent } from './support/corpus.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const present = corpusPresent('test/fuzz.test.ts');

const SEED = parseSeed(process.env.PB_FUZZ_SEED) ?? 0x5eed_2024;
const SCALE = Math.max(0.01, Number(process.env.PB_FUZZ_SCALE ?? '1') || 1);
const ONLY = process.env.PB_FUZZ_CASE; // "category:index"
const PER_CASE_MS = 2_000;
const HANG_MS = 30_000;
const SEED_HEX = `0x${SEED.toString(16)}`;

function parseSeed(s: string | undefined): number | undefined {
  if (!s) return undefined;
  const n = s.startsWith('0x') ? parseInt(s.slice(2), 16) : Number(s);
  return Number.isFinite(n) ? n >>> 0 : undefined;
}

// ---------------------------------------------------------------------------------------------
// Deterministic randomness: mulberry32, one independent stream per (seed, category, case).

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function mix(...xs: number[]): number {
  let h = 0x811c9dc5;
  for (const x of xs) {
    h = Math.imul(h ^ (x >>> 0), 0x01000193);
    h ^= h >>> 13;
    h = Math.imul(h, 0x5bd1e995);
    h ^= h >>> 15;
  }
  return h >>> 0;
}

class Rng {
  private readonly next: () => number;
  constructor(seed: number) {
    this.next = mulberry32(seed);
  }
  float(): number {
    return this.next();
  }
  /** 0 <= n < max */
  int(max: number): number {
    return Math.floor(this.next() * max);
  }
  /** lo <= n <= hi */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  /** Log-uniform integer in [lo, hi]: small values as often as large ones. */
  logRange(lo: number, hi: number): number {
    return Math.min(hi, Math.floor(Math.exp(Math.log(lo) + this.next() * (Math.log(hi + 1) - Math.log(lo)))));
  }
}

// ---------------------------------------------------------------------------------------------
// The corpus, held in memory; imports are served from memory (never from the file system).

interface SourceFile {
  path: string;
  text: string;
}

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, e.name);
    if (e.isDirectory()) out.push(...walk(full));
    else if (e.isFile()) out.push(full);
  }
  return out.sort();
}

const ALL_FILES: SourceFile[] = (present ? walk(CORPUS) : [])
  .filter((f) => /\.(pb|md|txt)$/.test(f))
  .map((f) => ({ path: f, text: readFileSync(f, 'utf8') }));
const PROGRAMS = ALL_FILES.filter((f) => f.path.endsWith('.pb'));
const CORPUS_TEXT = new Map(ALL_FILES.map((f) => [f.path, f.text]));
const CORPUS_LINES = PROGRAMS.flatMap((f) => f.text.split('\n'));

function memoryHost(overlay: ReadonlyMap<string, string>): SourceHost {
  return {
    readFile: (p) => overlay.get(p) ?? CORPUS_TEXT.get(p),
    resolve: (from, spec) => nodeSourceHost.resolve(from, spec),
  };
}

// ---------------------------------------------------------------------------------------------
// Cases and checks.

interface Case {
  text: string;
  /** Path given to compileSource (the base program's path for mutated corpus files). */
  path: string;
  /** Extra files that imports can reach. */
  overlay?: Map<string, string>;
  /** What was done, for the failure report. */
  note: string;
}

interface Problem {
  /** Groups equal problems in the report (no case-specific values). */
  sig: string;
  detail: string;
}

const problem = (sig: string, detail = sig): Problem => ({ sig, detail });

/** Problems found in one case; empty when it behaved. */
function checkCase(c: Case): { problems: Problem[]; compiled: boolean } {
  const problems: Problem[] = [];
  const host = memoryHost(c.overlay ?? new Map());
  let r: CompileResult;
  try {
    r = compileSource(c.text, c.path, { host });
  } catch (err) {
    return { problems: [problem(`compileSource threw ${errorName(err)}`, `compileSource threw: ${describeError(err)}`)], compiled: false };
  }
  const loaded = new Set<string>([c.path, ...(r.program?.files.map((f) => f.path) ?? [])]);
  let errors = 0;
  for (const d of r.diagnostics) {
    const where = `${d.code} at ${String(d.line)}:${String(d.col)}`;
    if (d.severity === 'error') errors++;
    else if (d.severity !== 'warning') problems.push(problem('diagnostic with an unknown severity', `diagnostic has severity '${String(d.severity)}' (${where})`));
    if (d.code === 'internal-error') {
      const head = d.message.split('\n')[0]!;
      problems.push(problem(`internal-error diagnostic: ${head}`, `internal-error diagnostic: ${d.message.split('\n').slice(0, 5).join(' | ')}`));
      continue;
    }
    if (typeof d.code !== 'string' || d.code.length === 0) problems.push(problem('diagnostic without a code', `diagnostic without a code: ${d.message}`));
    if (!Number.isInteger(d.line) || d.line < 1) problems.push(problem(`diagnostic line < 1 (${d.code})`, `diagnostic line ${String(d.line)} < 1 (${d.code}: ${d.message})`));
    if (!Number.isInteger(d.col) || d.col < 1) problems.push(problem(`diagnostic col < 1 (${d.code})`, `diagnostic col ${String(d.col)} < 1 (${d.code}: ${d.message})`));
    if (!Number.isInteger(d.length) || d.length < 1) problems.push(problem(`diagnostic length < 1 (${d.code})`, `diagnostic length ${String(d.length)} < 1 (${where})`));
    if (typeof d.message !== 'string' || d.message.trim().length === 0) problems.push(problem(`diagnostic with an empty message (${d.code})`, `diagnostic with an empty message (${where})`));
    if (typeof d.file !== 'string' || d.file.length === 0) problems.push(problem(`diagnostic without a file (${d.code})`, `diagnostic without a file (${where})`));
    else if (loaded.has(d.file) || CORPUS_TEXT.has(d.file) || c.overlay?.has(d.file)) {
      if (Number.isInteger(d.line) && d.line >= 1 && r.sources.lineText(d.file, d.line) === undefined) {
        problems.push(problem(`diagnostic points past the end of its file (${d.code})`, `diagnostic points past the end of its file: ${where}: ${d.message.slice(0, 120)}`));
      }
    } else {
      problems.push(problem(`diagnostic names a file that was never loaded (${d.code})`, `diagnostic names a file that was never loaded: '${d.file}' (${where})`));
    }
  }
  if (errors !== r.errorCount) problems.push(problem('errorCount disagrees with the diagnostics', `errorCount ${r.errorCount} but ${errors} error diagnostics`));
  if ((r.program === undefined) !== errors > 0) problems.push(problem('program presence disagrees with the error count', `program ${r.program ? 'present' : 'missing'} with ${errors} errors`));

  try {
    const text = formatDiagnostics(r.diagnostics, r.sources);
    if (typeof text !== 'string') problems.push(problem('formatDiagnostics did not return a string'));
    else if (r.diagnostics.length > 0 && !text.includes(`: ${r.diagnostics[0]!.severity}: `)) problems.push(problem('formatDiagnostics output lacks the "file:line:col: severity:" head'));
  } catch (err) {
    problems.push(problem(`formatDiagnostics threw ${errorName(err)}`, `formatDiagnostics threw: ${describeError(err)}`));
  }

  if (r.program) {
    const program = r.program;
    const verified = verifyProgram(program);
    if (verified !== undefined) problems.push(problem('verifyProgram rejects the compiler\'s own output', `verifyProgram rejects the compiler's own output: ${verified}`));
    let stage = 'disassemble';
    try {
      const listing = disassemble(program);
      stage = 'encodeProgram';
      const bytes = encodeProgram(program);
      stage = 'decodeProgram';
      const decoded = decodeProgram(bytes);
      // Deep equality (Object.is on leaves, prototypes included) implies an equal listing;
      // the listing is only compared when the objects differ, to say how much it matters.
      if (!isDeepStrictEqual(decoded, program)) {
        const diff = firstDifference(program, decoded, 'program');
        const same = disassemble(decoded) === listing ? 'same disassembly' : 'disassembly changes too';
        problems.push(problem(`encode -> decode is not lossless: ${diff?.sig ?? 'objects differ'}`, `encode -> decode is not lossless: ${diff?.detail ?? 'objects differ'} (${same})`));
      }
    } catch (err) {
      problems.push(problem(`${stage} of a compiled program threw ${errorName(err)}`, `${stage} of a compiled program threw: ${describeError(err)}`));
    }
  }
  return { problems, compiled: r.program !== undefined };
}

function errorName(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message.slice(0, 60)}`;
  return typeof err;
}

function describeError(err: unknown): string {
  if (err instanceof Error) return (err.stack ?? `${err.name}: ${err.message}`).split('\n').slice(0, 4).join(' | ');
  return String(err);
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function showValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (typeof v === 'number') return Object.is(v, -0) ? '-0' : String(v);
  if (Array.isArray(v)) return `array(${v.length})`;
  if (v && typeof v === 'object') {
    const proto = Object.getPrototypeOf(v) as unknown;
    const p = proto === Object.prototype ? 'Object.prototype' : proto === null ? 'null' : Array.isArray(proto) ? 'an array' : typeof proto;
    return `object(prototype ${p}, keys ${JSON.stringify(Object.keys(v).slice(0, 5))})`;
  }
  return String(v);
}

function protoName(v: object): string {
  if (Array.isArray(v)) return 'an array';
  const proto = Object.getPrototypeOf(v) as unknown;
  if (proto === Object.prototype) return 'a plain object';
  if (proto === null) return 'an object with a null prototype';
  if (Array.isArray(proto)) return 'an object whose prototype is an array';
  return 'an object with an unusual prototype';
}

function stringChange(a: string, b: string): string {
  let i = 0;
  while (i < a.length && i < b.length && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  const unit = (s: string) => (i < s.length ? `U+${s.charCodeAt(i).toString(16).toUpperCase().padStart(4, '0')}` : 'end of string');
  const why = LONE_SURROGATE.test(a) ? ' (the original holds a lone surrogate)' : '';
  return `string changes at index ${i}: ${unit(a)} became ${unit(b)}${why}`;
}

/** The first place where a value and its decoded copy differ (Object.is on leaves, prototypes too). */
function firstDifference(a: unknown, b: unknown, path: string): { sig: string; detail: string } | undefined {
  // The signature names the kind of change only, so one bug is reported once.
  const at = (kind: string, what: string) => ({ sig: kind, detail: `${path}: ${what}` });
  if (Object.is(a, b)) return undefined;
  if (typeof a === 'string' && typeof b === 'string') {
    return at(LONE_SURROGATE.test(a) ? 'a string with a lone surrogate changes' : 'a string changes', stringChange(a, b));
  }
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) {
    return at(Object.is(a, -0) && b === 0 ? '-0 becomes 0' : `a ${typeof a} becomes a ${b === null ? 'null' : typeof b}`, `${showValue(a)} became ${showValue(b)}`);
  }
  if (Array.isArray(a) !== Array.isArray(b) || Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) {
    return at(`${protoName(a)} becomes ${protoName(b)}`, `${showValue(a)} became ${showValue(b)}`);
  }
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  for (const k of Object.keys(ra)) {
    if (!Object.prototype.hasOwnProperty.call(rb, k)) {
      return at(k === '__proto__' ? "an own '__proto__' key is lost" : 'a key is lost', `key '${k}' lost (was ${showValue(ra[k])}); keys now ${JSON.stringify(Object.keys(rb).slice(0, 8))}`);
    }
    const d = firstDifference(ra[k], rb[k], `${path}.${k}`);
    if (d) return d;
  }
  for (const k of Object.keys(rb)) if (!Object.prototype.hasOwnProperty.call(ra, k)) return at('a key appears', `key '${k}' appeared (${showValue(rb[k])})`);
  return isDeepStrictEqual(a, b) ? undefined : at('values differ in a way Object.keys does not show', 'values differ');
}

// ---------------------------------------------------------------------------------------------
// Palettes.

const ASTRAL = ['😀', '𝔘𝔫𝔦', '\u{10FFFF}', '\u{1F468}\u200D\u{1F469}\u200D\u{1F467}', '🏳️‍🌈', '𠜎', '\u{E0041}'];
const COMBINING = ['\u0301', '\u0300\u0301\u0302\u0303'.repeat(20), 'e\u0301', '\u20DD', 'Z\u0335\u0321\u0322\u0327\u0328', '\u034F'];
const RTL = ['\u202E', '\u202B', '\u200F', '\u061C', 'שלום', 'مرحبا', '\u2067abc\u2069', '\u202Eevil\u202C'];
const CONTROL = ['\0', '\u0001', '\u007F', '\u0085', '\f', '\v', '\u001B[31m', '\b', '\r', '\t'];
const SPACES = ['\u2028', '\u2029', '\u00A0', '\u3000', '\u200B', '\uFEFF', '\u2060', '\u180E'];
const SURROGATES = ['\uD800', '\uDFFF', '\uDBFF', '\uDC00x\uD800', '\uD83D', '\uDE00\uD83D'];
const LOOKALIKES = ['＄ｘ', '＝', '（', '）', '－ ', '‐', '–', '—', '•', '·', '‣', '＃', '﹟', 'ǃ', 'ℹ', '″', '“quoted”', '‘x’'];
const SPECIALS = ['\uFFFD', '\uFFFE', '\uFFFF', '\u0000\u0000', 'İ', 'ß', 'ﬁ', 'Ω', 'K', 'ǅ'];
const UNICODE = [ASTRAL, COMBINING, RTL, CONTROL, SPACES, SURROGATES, LOOKALIKES, SPECIALS];

const INTERESTING_BYTES = [0x00, 0x0a, 0x0d, 0x09, 0x20, 0x23, 0x2d, 0x60, 0x24, 0x28, 0x29, 0x22, 0x7b, 0x7d, 0x5b, 0x5d, 0x3c, 0x21, 0x3a, 0x3d, 0xff, 0xfe, 0xc3, 0xe2, 0xf0, 0x80, 0xbf, 0xed];

const WORDS = ['the', 'user', 'order', 'is', 'not', 'and', 'or', 'in', 'if', 'else', 'return', 'say', 'ask', 'for', 'each', 'while', 'until', 'set', 'to', 'call', 'end', 'program', 'break', 'continue', 'at', 'beginning', 'when', 'true', 'false', 'null', 'None', 'len'];
const NAMES = ['x', 'y', 'i', 'n', 'order', 'user_name', '_', 'a1', '__proto__', 'constructor', 'toString', 'hasOwnProperty', 'prototype', 'valueOf', 'len', 'Say', 'Main', 'None', 'in', 'not'];
const META_KEYS = ['public', 'startup_mode', 'execution_mode', 'model', 'title', 'description', '__proto__', 'constructor', 'toString', 'hasOwnProperty', 'tags', 'x-y', 'a_b'];
const META_VALUES = ['true', 'false', 'standby', 'raw', 'react', '42', '-0', '1e999', '0.1', '"quoted"', "'single'", '[a, b, 1]', '[]', '', 'null', '~', 'yes', 'a: b'];

// ---------------------------------------------------------------------------------------------
// Mutators.

function insertAt(s: string, at: number, x: string): string {
  return s.slice(0, at) + x + s.slice(at);
}

function randomUnicode(r: Rng): string {
  return r.pick(r.pick(UNICODE));
}

function mutateBytes(r: Rng, text: string): { text: string; note: string } {
  let b = Buffer.from(text, 'utf8');
  const ops: string[] = [];
  const n = r.range(1, 8);
  for (let k = 0; k < n; k++) {
    const pos = b.length ? r.int(b.length) : 0;
    switch (r.int(7)) {
      case 0:
        if (b.length) {
          const bit = r.int(8);
          b[pos] = b[pos]! ^ (1 << bit);
          ops.push(`flip bit ${bit} of byte ${pos}`);
        }
        break;
      case 1:
        if (b.length) {
          const v = r.chance(0.5) ? r.pick(INTERESTING_BYTES) : r.int(256);
          b[pos] = v;
          ops.push(`set byte ${pos} to 0x${v.toString(16)}`);
        }
        break;
      case 2: {
        const v = r.chance(0.6) ? r.pick(INTERESTING_BYTES) : r.int(256);
        b = Buffer.concat([b.subarray(0, pos), Buffer.from([v]), b.subarray(pos)]);
        ops.push(`insert 0x${v.toString(16)} at ${pos}`);
        break;
      }
      case 3:
        b = Buffer.concat([b.subarray(0, pos), b.subarray(pos + 1)]);
        ops.push(`delete byte ${pos}`);
        break;
      case 4: {
        const len = r.logRange(1, 400);
        b = Buffer.concat([b.subarray(0, pos), b.subarray(pos + len)]);
        ops.push(`delete ${len} bytes at ${pos}`);
        break;
      }
      case 5: {
        const len = r.logRange(1, 400);
        const chunk = b.subarray(pos, pos + len);
        const to = r.int(b.length + 1);
        b = Buffer.concat([b.subarray(0, to), chunk, b.subarray(to)]);
        ops.push(`copy ${chunk.length} bytes from ${pos} to ${to}`);
        break;
      }
      default: {
        const len = r.range(1, 16);
        const bytes = Buffer.from(Array.from({ length: len }, () => r.int(256)));
        b = Buffer.concat([b.subarray(0, pos), bytes, b.subarray(pos + len)]);
        ops.push(`overwrite ${len} random bytes at ${pos}`);
      }
    }
  }
  const latin1 = r.chance(0.1);
  return { text: b.toString(latin1 ? 'latin1' : 'utf8'), note: `${ops.join(', ')}${latin1 ? ' (decoded as latin1)' : ''}` };
}

function mutateLines(r: Rng, text: string): { text: string; note: string } {
  let lines = text.split('\n');
  const ops: string[] = [];
  const n = r.range(1, 4);
  for (let k = 0; k < n; k++) {
    const i = r.int(lines.length);
    const j = r.int(lines.length);
    switch (r.int(14)) {
      case 0: {
        for (let a = lines.length - 1; a > 0; a--) {
          const b = r.int(a + 1);
          [lines[a], lines[b]] = [lines[b]!, lines[a]!];
        }
        ops.push('shuffle all lines');
        break;
      }
      case 1: {
        const lo = Math.min(i, j);
        const hi = Math.min(lines.length, lo + r.range(2, 12));
        const win = lines.slice(lo, hi);
        for (let a = win.length - 1; a > 0; a--) {
          const b = r.int(a + 1);
          [win[a], win[b]] = [win[b]!, win[a]!];
        }
        lines.splice(lo, win.length, ...win);
        ops.push(`shuffle lines ${lo + 1}-${hi}`);
        break;
      }
      case 2: {
        const times = r.logRange(1, 200);
        lines.splice(i, 0, ...Array<string>(times).fill(lines[i] ?? ''));
        ops.push(`duplicate line ${i + 1} x${times}`);
        break;
      }
      case 3: {
        const len = r.range(1, 20);
        lines.splice(j, 0, ...lines.slice(i, i + len));
        ops.push(`copy lines ${i + 1}+${len} to ${j + 1}`);
        break;
      }
      case 4: {
        const len = r.logRange(1, 30);
        lines.splice(i, len);
        ops.push(`delete ${len} lines at ${i + 1}`);
        break;
      }
      case 5:
        [lines[i], lines[j]] = [lines[j] ?? '', lines[i] ?? ''];
        ops.push(`swap lines ${i + 1} and ${j + 1}`);
        break;
      case 6: {
        const t = lines.join('\n');
        const at = r.int(t.length + 1);
        lines = t.slice(0, at).split('\n');
        ops.push(`truncate at char ${at}`);
        break;
      }
      case 7:
        lines = lines.slice(0, i);
        ops.push(`truncate at line ${i + 1}`);
        break;
      case 8: {
        const pad = r.pick([' ', '  ', '   ', '    ', '\t', ' \t', '        ']).repeat(r.range(1, 3));
        const len = r.range(1, 8);
        for (let a = i; a < Math.min(lines.length, i + len); a++) lines[a] = pad + lines[a];
        ops.push(`indent lines ${i + 1}+${len} by ${JSON.stringify(pad)}`);
        break;
      }
      case 9: {
        const len = r.range(1, 8);
        for (let a = i; a < Math.min(lines.length, i + len); a++) lines[a] = lines[a]!.trimStart();
        ops.push(`dedent lines ${i + 1}+${len}`);
        break;
      }
      case 10: {
        const other = r.pick(PROGRAMS).text.split('\n');
        const from = r.int(other.length);
        const len = r.logRange(1, 60);
        lines.splice(i, 0, ...other.slice(from, from + len));
        ops.push(`splice ${len} lines of another program at ${i + 1}`);
        break;
      }
      case 11: {
        const times = r.range(1, 10);
        for (let a = 0; a < times; a++) lines.splice(r.int(lines.length + 1), 0, r.pick(CORPUS_LINES));
        ops.push(`insert ${times} random corpus lines`);
        break;
      }
      case 12:
        if (i + 1 < lines.length) {
          lines.splice(i, 2, `${lines[i]!}${r.pick(['', ' ', ' and '])}${lines[i + 1]!}`);
          ops.push(`join lines ${i + 1} and ${i + 2}`);
        }
        break;
      default: {
        const line = lines[i] ?? '';
        const at = r.int(line.length + 1);
        lines.splice(i, 1, line.slice(0, at), line.slice(at));
        ops.push(`split line ${i + 1} at col ${at + 1}`);
      }
    }
  }
  return { text: lines.join('\n'), note: ops.join(', ') };
}

function mutateUnicode(r: Rng, text: string): { text: string; note: string } {
  let t = text;
  const ops: string[] = [];
  const n = r.range(1, 6);
  for (let k = 0; k < n; k++) {
    switch (r.int(8)) {
      case 0:
      case 1: {
        const u = randomUnicode(r);
        const at = r.int(t.length + 1);
        t = insertAt(t, at, u);
        ops.push(`insert ${JSON.stringify(u)} at ${at}`);
        break;
      }
      case 2: {
        // At the start of a step's text, a heading's text, or a variable name.
        const targets = [...t.matchAll(/(?:^[ \t]*[-*#]+[ \t]+|\$)/gm)];
        if (targets.length) {
          const m = r.pick(targets);
          const u = randomUnicode(r);
          t = insertAt(t, m.index + m[0].length, u);
          ops.push(`insert ${JSON.stringify(u)} after ${JSON.stringify(m[0])} at ${m.index}`);
        }
        break;
      }
      case 3: {
        const at = r.int(t.length);
        const u = randomUnicode(r);
        t = t.slice(0, at) + u + t.slice(at + 1);
        ops.push(`replace char ${at} with ${JSON.stringify(u)}`);
        break;
      }
      case 4: {
        const sep = r.pick(SPACES);
        t = t.replace(/ /g, () => (r.chance(0.2) ? sep : ' '));
        ops.push(`replace some spaces with ${JSON.stringify(sep)}`);
        break;
      }
      case 5: {
        const bullet = r.pick(['•', '–', '—', '‣', '＊', '－']);
        t = t.replace(/^([ \t]*)- /gm, (all, lead: string) => (r.chance(0.5) ? `${lead}${bullet} ` : all));
        ops.push(`replace some bullets with ${bullet}`);
        break;
      }
      case 6:
        t = `\uFEFF${t}`;
        ops.push('prefix a BOM');
        break;
      default: {
        const u = r.pick(COMBINING);
        t = t.replace(/[A-Za-z]/g, (ch) => (r.chance(0.05) ? ch + u : ch));
        ops.push(`add ${JSON.stringify(u)} after some letters`);
      }
    }
  }
  return { text: t, note: ops.join(', ') };
}

function mutateEndings(r: Rng, text: string): { text: string; note: string } {
  let t = text;
  const ops: string[] = [];
  const n = r.range(1, 3);
  for (let k = 0; k < n; k++) {
    switch (r.int(10)) {
      case 0:
        t = t.replace(/\r?\n/g, '\r\n');
        ops.push('CRLF line endings');
        break;
      case 1:
        t = t.replace(/\r?\n/g, '\r');
        ops.push('CR line endings');
        break;
      case 2:
        t = t.replace(/\r?\n/g, () => r.pick(['\n', '\r\n', '\r', '\n\r']));
        ops.push('mixed line endings');
        break;
      case 3: {
        const w = r.pick([2, 4]);
        t = t.replace(new RegExp(`^((?: {${w}})+)`, 'gm'), (lead: string) => '\t'.repeat(lead.length / w));
        ops.push(`indentation of ${w} spaces -> tabs`);
        break;
      }
      case 4:
        t = t.replace(/^( +)/gm, (lead: string) => (r.chance(0.5) ? lead.replace(/ {2}/, '\t') : lead));
        ops.push('mixed tab/space indentation');
        break;
      case 5:
        t = t.replace(/$/gm, () => (r.chance(0.3) ? r.pick([' ', '\t', '  \t ', '\u00A0']) : ''));
        ops.push('trailing white space');
        break;
      case 6:
        t = t.replace(/^([ \t]*[-*+]) /gm, (all, b: string) => (r.chance(0.5) ? `${b}\t` : all));
        ops.push('tab after bullet markers');
        break;
      case 7:
        t = r.chance(0.5) ? t.replace(/\s+$/, '') : `${'\n'.repeat(r.range(1, 50))}${t}${'\n'.repeat(r.range(1, 50))}`;
        ops.push('strip or pad blank lines at the ends');
        break;
      case 8:
        t = t.replace(/\n\n/g, () => (r.chance(0.5) ? '\n\f\n' : '\n \t \n'));
        ops.push('form feeds / white space on blank lines');
        break;
      default:
        t = t.replace(/ /g, () => (r.chance(0.05) ? '\t' : ' '));
        ops.push('tabs inside lines');
    }
  }
  return { text: t, note: ops.join(', ') };
}

const UNCLOSED = [
  '```',
  '```python',
  '```ts',
  '~~~~',
  '````js',
  '<!--',
  '<!-- <!-- nested -->',
  '-->',
  '- Say "unclosed string',
  "- $x = 'unclosed",
  '- Say f"{$x',
  '- Say f"{$x}{"',
  '- Foo(1, 2',
  '- $x = [1, 2',
  '- $x = {"a": ',
  '- If ($x > 1',
  '- $x = )',
  '- `inline code',
  '**bold',
  '## Broken(a, b',
  '## Broken(a = [1, 2)',
  '## Broken($a, $a)',
  '# ',
  '## ',
  '### ',
  '- ',
  '-',
  '1. ',
  '---',
  '...',
];

function mutateUnclosed(r: Rng, text: string): { text: string; note: string } {
  const lines = text.split('\n');
  const ops: string[] = [];
  const n = r.range(1, 3);
  for (let k = 0; k < n; k++) {
    switch (r.int(5)) {
      case 0: {
        // Front matter that never closes, or closes oddly.
        const body = Array.from({ length: r.range(0, 6) }, () => `${r.pick(META_KEYS)}: ${r.pick(META_VALUES)}`);
        const close = r.pick(['', '---', '...', '--- ', '----']);
        lines.unshift('---', ...body, ...(close ? [close] : []));
        ops.push(`front matter (${close ? `closed by ${JSON.stringify(close)}` : 'unclosed'})`);
        break;
      }
      case 1: {
        // A fence opened somewhere and the file cut off after it.
        const at = r.int(lines.length + 1);
        const fence = r.pick(['```', '```python', '~~~', '```ts']);
        lines.splice(at, 0, fence);
        if (r.chance(0.5)) lines.length = Math.min(lines.length, at + r.range(1, 5));
        ops.push(`open ${fence} at line ${at + 1}`);
        break;
      }
      default: {
        const at = r.int(lines.length + 1);
        const what = r.pick(UNCLOSED);
        const indent = r.chance(0.3) ? r.pick(['  ', '    ', '\t']) : '';
        lines.splice(at, 0, indent + what);
        ops.push(`insert ${JSON.stringify(indent + what)} at line ${at + 1}`);
      }
    }
  }
  return { text: lines.join('\n'), note: ops.join(', ') };
}

function mutateImports(r: Rng, base: SourceFile): Case {
  const lines = base.text.split('\n');
  const overlay = new Map<string, string>();
  const dir = dirname(base.path);
  const ops: string[] = [];
  const n = r.range(1, 4);
  for (let k = 0; k < n; k++) {
    let spec: string;
    switch (r.int(9)) {
      case 0:
        spec = `./nope-${r.int(1e6)}.pb`;
        break;
      case 1:
        spec = r.pick([`./${basename(base.path)}`, base.path, `../${basename(dir)}/${basename(base.path)}`, `"${basename(base.path)}"`, `<${basename(base.path)}>`]);
        break;
      case 2:
        spec = relative(dir, r.pick(ALL_FILES).path);
        break;
      case 3:
        spec = r.pick(['.', '..', './', '/', '""', "''", '<>', '"', ' ', 'x'.repeat(r.logRange(1, 5000)), '😀.pb', `${'../'.repeat(r.range(1, 60))}x.pb`, 'a\0b.pb', 'C:\\x.pb', '\\\\server\\share.pb']);
        break;
      case 4: {
        // A cycle: a -> b -> a (and maybe back to the main file).
        const a = join(dir, `cyc-a-${k}.pb`);
        const b = join(dir, `cyc-b-${k}.pb`);
        overlay.set(a, `- step in a\n!import ./${basename(b)}\n`);
        overlay.set(b, `- step in b\n!import ./${basename(r.chance(0.5) ? a : base.path)}\n`);
        spec = `./${basename(a)}`;
        break;
      }
      case 5: {
        // A chain deeper than any sane limit.
        const depth = r.range(10, 40);
        for (let d = 0; d < depth; d++) overlay.set(join(dir, `chain-${k}-${d}.pb`), `- chain ${d}\n!import ./chain-${k}-${d + 1}.pb\n`);
        overlay.set(join(dir, `chain-${k}-${depth}.pb`), '- chain end\n');
        spec = `./chain-${k}-0.pb`;
        break;
      }
      case 6: {
        // An imported file that is itself a mutated program.
        const p = join(dir, `mut-${k}.pb`);
        overlay.set(p, mutateLines(r, r.pick(PROGRAMS).text).text);
        spec = `./mut-${k}.pb`;
        break;
      }
      case 7: {
        // An import inside a fence (not an import) or in a comment.
        const p = join(dir, `fenced-${k}.pb`);
        overlay.set(p, '```\n!import ./nope.pb\n```\n<!--\n!import ./nope2.pb\n-->\n');
        spec = `./fenced-${k}.pb`;
        break;
      }
      default:
        spec = `./imported-${k}.md`;
        overlay.set(join(dir, spec), r.pick([...UNCLOSED, '', '\n', '\r\n', '!import', '!import ./imported-0.md']));
    }
    const at = r.int(lines.length + 1);
    const indent = r.chance(0.3) ? r.pick(['  ', '    ', '\t', ' ']) : '';
    lines.splice(at, 0, `${indent}!import ${spec}`);
    ops.push(`!import ${JSON.stringify(spec.length > 60 ? `${spec.slice(0, 60)}…` : spec)} at line ${at + 1}`);
  }
  return { text: lines.join('\n'), path: base.path, overlay, note: ops.join(', ') };
}

// ---- random programs --------------------------------------------------------------------------
// Mostly well-formed programs (so lowering, the container and the verifier see varied valid
// code), with a small "chaos" rate of arbitrary choices so that checks and recovery run too.

interface SynthPlaybook {
  agent: string;
  name: string;
  params: string[];
  public: boolean;
}

interface SynthCtx {
  r: Rng;
  chaos: number;
  playbooks: SynthPlaybook[];
  agent: string;
  locals: string[];
  inLoop: boolean;
}

const NATIVE_CALLS: Array<[string, number]> = [['len', 1], ['str', 1], ['int', 1], ['abs', 1], ['min', 2], ['max', 3], ['round', 2], ['range', 2], ['sorted', 1], ['lower', 1], ['upper', 1], ['split', 2], ['join', 2], ['replace', 3], ['startswith', 2], ['append', 2], ['type', 1], ['json', 1], ['repr', 1]];

function genLiteral(r: Rng): string {
  return r.pick([
    () => String(r.int(1000)),
    () => r.pick(['0', '-0', '-0.0', '0.5', '.5', '5.', '1e308', '1e999', '-1e999', '9007199254740993', '1_000', '0x1F', '007', '1e-400', '3.14159', '2 ** 70', '-(2 ** 63)']),
    () => JSON.stringify(r.pick(WORDS)),
    () => `'${r.pick(WORDS)}'`,
    () => r.pick(['"a\\nb"', '"tab\\t"', '"q\\"q"', '"\\u00e9"', '"\\x41"', '""', "''", '"{}"', '"{{x}}"', '"\\ud800"', '"😀"']),
    () => `f"${r.pick(['hi {$x}', '{$x + 1}', '{{literal}}', '{$order.id}', '{len($items)}', '{$x!r}', '{$x:>10}', '{$x:.2f}', '{', '}'])}"`,
    () => r.pick(['true', 'false', 'null', 'None', 'True', 'False']),
  ])();
}

function genExpr(ctx: SynthCtx, depth: number): string {
  const { r } = ctx;
  if (r.chance(ctx.chaos)) return r.pick([() => genLiteral(r), () => r.pick(NAMES), () => `${r.pick(NAMES)}(${r.pick(NAMES)})`, () => r.pick(['(', ')', '[1,', '{', '$', '1 +', 'not', '== 2'])])();
  if (depth <= 0 || r.chance(0.3)) {
    if (r.chance(0.45)) return genLiteral(r);
    if (ctx.locals.length && r.chance(0.4)) return r.pick(ctx.locals);
    return `$${r.pick(['x', 'y', 'items', 'order', 'count', 'name', '__proto__', 'constructor'])}`;
  }
  const a = () => genExpr(ctx, depth - 1);
  return r.pick([
    () => `${a()} ${r.pick(['+', '-', '*', '/', '//', '%', '**', '==', '!=', '<', '<=', '>', '>=', 'in', 'not in', 'and', 'or'])} ${a()}`,
    () => `${r.pick(['not ', '-', '+'])}${a()}`,
    () => `(${a()})`,
    () => `[${Array.from({ length: r.int(4) }, a).join(', ')}${r.chance(0.2) ? ',' : ''}]`,
    () => `{${Array.from({ length: r.int(3) }, () => `${JSON.stringify(r.pick([...WORDS, '__proto__', 'constructor']))}: ${a()}`).join(', ')}}`,
    () => `${a()}[${a()}]`,
    () => `$${r.pick(['order', 'x', 'user'])}.${r.pick(['id', 'name', 'items', '__proto__', 'length'])}`,
    () => {
      const [name, argc] = r.pick(NATIVE_CALLS);
      return `${name}(${Array.from({ length: argc }, a).join(', ')})`;
    },
    () => genCall(ctx, depth - 1),
  ])();
}

function genCall(ctx: SynthCtx, depth: number): string {
  const { r } = ctx;
  const pb = ctx.playbooks.length ? r.pick(ctx.playbooks) : undefined;
  if (!pb || r.chance(ctx.chaos)) return `${r.pick(['Foo', 'Helper', 'Other.Helper', 'GeneratePlaybook', 'SaveArtifact', 'WaitForMessage'])}(${Array.from({ length: r.int(3) }, () => genExpr(ctx, depth)).join(', ')})`;
  const callee = pb.agent === ctx.agent ? pb.name : `${pb.agent}.${pb.name}`;
  const args = pb.params.map((p, i) => (i > 0 && r.chance(0.3) ? `${p}=${genExpr(ctx, depth)}` : genExpr(ctx, depth)));
  // Keyword arguments must come last.
  const firstKw = args.findIndex((x, i) => x.startsWith(`${pb.params[i]}=`));
  const fixed = firstKw < 0 ? args : [...args.slice(0, firstKw), ...args.slice(firstKw).map((x, i) => (x.includes('=') ? x : `${pb.params[firstKw + i]}=${x}`))];
  return `${callee}(${fixed.join(', ')})`;
}

function genTarget(ctx: SynthCtx): string {
  const { r } = ctx;
  if (r.chance(0.5)) return `$${r.pick(['x', 'y', 'items', 'result', 'count', 'name', '__proto__', 'toString'])}`;
  const name = r.pick(['x', 'total', 'i', 'answer', 'tmp', 'constructor', 'valueOf']);
  if (!ctx.locals.includes(name)) ctx.locals.push(name);
  return name;
}

function genBlock(ctx: SynthCtx, depth: number, indent: string): string[] {
  const { r } = ctx;
  const out: string[] = [];
  const bullet = () => (r.chance(0.9) ? '-' : r.pick(['*', '+', '1.', '2)']));
  const body = (loop: boolean): string[] => {
    const saved = ctx.inLoop;
    ctx.inLoop = ctx.inLoop || loop;
    const lines = depth > 0 ? genBlock(ctx, depth - 1, `${indent}  `) : [`${indent}  - Say "leaf"`];
    ctx.inLoop = saved;
    return lines.length ? lines : [`${indent}  - Say "empty"`];
  };
  const count = r.range(1, depth > 1 ? 4 : 3);
  for (let k = 0; k < count; k++) {
    const e = () => genExpr(ctx, r.range(0, 3));
    if (r.chance(ctx.chaos)) {
      // Anything at all, with or without nested steps.
      out.push(`${indent}${bullet()} ${r.pick([() => Array.from({ length: r.range(1, 8) }, () => r.pick(WORDS)).join(' '), () => r.pick(['Else', 'Else if $x', 'Break', 'Continue', 'Return', 'End program', 'If', 'For each', 'Ask user for', 'Say', 'T1:CND x']), e])()}`);
      if (r.chance(0.5)) out.push(...body(r.chance(0.5)));
      continue;
    }
    switch (r.int(depth > 0 ? 13 : 9)) {
      case 0:
        out.push(`${indent}${bullet()} ${r.pick(['', 'set '])}${genTarget(ctx)} ${r.pick(['=', '='])} ${e()}`.replace('set $', 'set $').replace(/^(\s*\S+ )set (\S+) = /, '$1set $2 to '));
        break;
      case 1:
        out.push(`${indent}${bullet()} ${genTarget(ctx)} = ${genCall(ctx, 1)}`);
        break;
      case 2:
        out.push(`${indent}${bullet()} ${r.chance(0.2) ? 'Call ' : ''}${genCall(ctx, 1)}`);
        break;
      case 3:
        out.push(`${indent}${bullet()} Say ${r.pick([() => `"${r.pick(WORDS)} {$x} {${ctx.locals[0] ?? '$y'}}"`, () => e(), () => `(user, "${r.pick(WORDS)}")`, () => `f"{${e()}}"`])()}`);
        break;
      case 4:
        out.push(`${indent}${bullet()} Ask ${r.pick(['user for $name', 'the user for $a and $b', 'user to provide $x, and $y.', 'user for their $order_id'])}`);
        break;
      case 5:
        out.push(`${indent}${bullet()} ${Array.from({ length: r.range(1, 12) }, () => r.pick([...WORDS, '$x', '$order', 'the', 'user'])).join(' ')}`);
        break;
      case 6:
        if (ctx.inLoop) out.push(`${indent}${bullet()} ${r.pick(['Break', 'Continue', 'break out of the loop', 'continue with the next iteration'])}`);
        else out.push(`${indent}${bullet()} ${r.pick(['$count = $count + 1', 'x is 5', '$name is the user\'s name'])}`);
        break;
      case 7:
        if (k === count - 1) out.push(`${indent}${bullet()} ${r.pick(['Return', `Return ${e()}`, 'End program', 'Exit program'])}`);
        else out.push(`${indent}${bullet()} Think about ${r.pick(WORDS)}`);
        break;
      case 8:
        out.push(`${indent}${bullet()} ${genTarget(ctx)} is ${r.chance(0.5) ? e() : `the ${r.pick(WORDS)} of the ${r.pick(WORDS)}`}`);
        break;
      case 9: {
        out.push(`${indent}${bullet()} If ${e()}${r.chance(0.5) ? ':' : ''}`, ...body(false));
        for (let b = r.int(3); b > 0; b--) out.push(`${indent}${bullet()} ${r.pick(['Else if', 'Elif', 'Otherwise if', 'Else, if'])} ${e()}`, ...body(false));
        if (r.chance(0.5)) out.push(`${indent}${bullet()} ${r.pick(['Else', 'Otherwise', 'Else:'])}`, ...body(false));
        break;
      }
      case 10:
        out.push(`${indent}${bullet()} ${r.pick(['While', 'Until', 'Repeat until'])} ${e()}`, ...body(true));
        break;
      case 11: {
        const v = r.chance(0.5) ? `$${r.pick(['item', 'i'])}` : r.pick(['item', 'i', 'row']);
        if (!v.startsWith('$') && !ctx.locals.includes(v)) ctx.locals.push(v);
        out.push(`${indent}${bullet()} For each ${v} in ${r.pick([() => e(), () => '[1, 2, 3]', () => 'range(3)', () => '$items', () => 'the list of orders'])()}`, ...body(true));
        break;
      }
      default:
        out.push(`${indent}${bullet()} ${r.pick(['Check the order', 'If the user is happy', 'While the user has questions', 'For each order in the list'])}`, ...body(false));
    }
  }
  return out;
}

function genProgram(r: Rng): string {
  const chaos = r.pick([0, 0, 0.02, 0.05, 0.2]);
  const out: string[] = [];
  if (r.chance(0.3)) {
    out.push('---', ...Array.from({ length: r.range(0, 4) }, () => `${r.pick(META_KEYS)}: ${r.pick(META_VALUES)}`), '---');
  }
  // Declare first, so calls can target any playbook with the right arity.
  const agentNames = ['Main Agent', 'Helper', 'Third'].slice(0, r.chance(0.6) ? 1 : r.range(2, 3));
  const playbooks: SynthPlaybook[] = [];
  for (const a of agentNames) {
    const agent = a.replace(/ /g, '');
    for (let p = r.range(1, 3); p > 0; p--) {
      const name = r.chance(chaos) ? r.pick(['Main', 'constructor', 'toString', '__proto__', 'Say', 'len']) : `${agent}Step${p}`;
      const params = ['a', 'b', 'c', '__proto__', 'x'].slice(0, r.int(4));
      playbooks.push({ agent, name, params: [...new Set(params)], public: agent !== 'MainAgent' || r.chance(0.5) });
    }
  }
  let entry = false;
  for (const a of agentNames) {
    const agent = a.replace(/ /g, '');
    out.push(`# ${a}`);
    if (r.chance(0.5)) out.push(`${r.pick(WORDS)} ${r.pick(WORDS)} ${r.pick(WORDS)}`);
    for (let m = r.int(3); m > 0; m--) out.push(`${r.pick(META_KEYS)}: ${r.pick(META_VALUES)}`);
    if (r.chance(0.15)) out.push(`${r.pick(META_KEYS)}:`, `- ${r.pick(META_VALUES)}`, `- ${r.pick(META_VALUES)}`);
    if (r.chance(0.1)) out.push(`${r.pick(META_KEYS)}:`, `  ${r.pick(META_KEYS)}: ${r.pick(META_VALUES)}`);
    if (r.chance(0.15)) {
      out.push(
        r.pick(['```ts', '```js', '```python', '```', '```sh']),
        r.pick([
          'export function ToolA(a, b) { return a + b; }',
          'export const ToolB = async (x) => x;',
          '@playbook\nasync def tool_c(x):\n    return x',
          '@playbook(triggers=["At the beginning"], public=True)\ndef tool_d(a, *args, **kw):\n  pass',
          'export function (',
          '@playbook',
        ]),
        '```',
      );
    }
    out.push('');
    for (const pb of playbooks.filter((p) => p.agent === agent)) {
      const params = pb.params.map((p, i) => `${r.chance(0.5) ? '$' : ''}${p}${i === pb.params.length - 1 && r.chance(0.3) ? ` = ${genLiteral(r)}` : ''}`);
      out.push(`## ${pb.name}${params.length || r.chance(0.3) ? `(${params.join(', ')})` : ''}${r.chance(0.1) ? ' -> str' : ''}`);
      if (pb.public) out.push('public: true');
      for (let m = r.int(2); m > 0; m--) out.push(`${r.pick(META_KEYS)}: ${r.pick(META_VALUES)}`);
      const triggers: string[] = [];
      if (!entry) {
        triggers.push(r.pick(['At the beginning', 'When the program starts', 'At the start of the program']));
        entry = true;
      }
      if (r.chance(0.3)) triggers.push(r.pick(['When $x > 3', 'When $order and $x == 1', 'When the user says hi', 'Whenever $count >= 10', 'T1:CND When $y']));
      if (triggers.length) out.push('### Triggers', ...triggers.map((t) => `- ${t}`));
      if (r.chance(0.92)) {
        out.push(r.pick(['### Steps', '### Steps', '### Steps', '### steps:']));
        const ctx: SynthCtx = { r, chaos, playbooks, agent, locals: [...pb.params], inLoop: false };
        out.push(...genBlock(ctx, r.range(0, 3), ''));
      } else if (r.chance(0.5)) {
        out.push('execution_mode: raw');
      }
      if (r.chance(0.2)) out.push('### Notes', `- ${r.pick(WORDS)} ${r.pick(WORDS)}`);
      out.push('');
    }
  }
  return out.join(r.chance(0.9) ? '\n' : r.pick(['\r\n', '\r']));
}

// ---- deep nesting and huge inputs ----------------------------------------------------------------

const HEAD = '# A\n\n## Main\n### Triggers\n- At the beginning\n### Steps\n';

function deepCase(r: Rng): { text: string; note: string } {
  const d = r.logRange(200, 5000);
  const kind = r.int(15);
  switch (kind) {
    case 0:
    case 1: {
      // Bullets nested d deep (quadratic in size, so cap it).
      const step = r.pick([' ', '  ', '\t']);
      const depth = Math.min(d, step === '  ' ? 1400 : 2000);
      const text = r.pick(['x', 'If $x > 1', 'While true', 'For each $i in [1]', 'Else', 'Return 1', 'Say "x"', '$x = 1', 'Do the thing']);
      const lines = Array.from({ length: depth }, (_, i) => `${step.repeat(i)}- ${text}`);
      return { text: HEAD + lines.join('\n'), note: `bullets nested ${depth} deep (indent ${JSON.stringify(step)}, text ${JSON.stringify(text)})` };
    }
    case 2: {
      const [o, c] = r.pick([['(', ')'], ['[', ']'], ['{"a": ', '}'], ['([{', '}])'], ['Foo(', ')'], ['f(x, ', ')'], ['[[', ']]']]);
      const closed = r.chance(0.7);
      const where = r.pick(['- $x = ', '- If ', '- Say ', '- Foo(', '- Return ', '- For each $i in ', '## P(a = ', '- When ']);
      return { text: HEAD + where + o!.repeat(d) + '1' + (closed ? c!.repeat(d) : ''), note: `${JSON.stringify(o)} nested ${d} deep after ${JSON.stringify(where)}${closed ? '' : ' (unclosed)'}` };
    }
    case 3:
      return { text: HEAD + r.pick(['- $x = ', '- If ', '- While ', '- Return ']) + 'not '.repeat(d) + 'true\n  - Say "x"', note: `'not' repeated ${d} times` };
    case 4:
      return { text: HEAD + '- $x = ' + r.pick(['- ', '+', '-', '+ -', '--']).repeat(d) + '1', note: `unary chain of ${d}` };
    case 5:
      return { text: HEAD + '- '.repeat(d) + r.pick(['x', 'If $x', '$x = 1', '']), note: `'- ' repeated ${d} times on one line` };
    case 6: {
      const n = Math.min(d, 3000);
      return { text: HEAD + '- $x = 2' + ' ** 2'.repeat(n), note: `'**' chain of ${n}` };
    }
    case 7:
      return { text: HEAD + '- $x = $y' + r.pick(['.a', '[0]', '(1)', '["k"]']).repeat(d), note: `postfix chain of ${d}` };
    case 8:
      return { text: HEAD + '- Say f"' + '{'.repeat(d) + '$x' + '}'.repeat(d) + '"', note: `f-string braces nested ${d} deep` };
    case 9:
      return { text: HEAD + '<!--'.repeat(d) + '\n- x\n' + '-->'.repeat(d), note: `'<!--' repeated ${d} times` };
    case 10: {
      const n = Math.min(d, 1500);
      const lines = ['- If $x == 0', '  - Say "0"'];
      for (let i = 1; i < n; i++) lines.push(`- Else if $x == ${i}`, `  - Say "${i}"`);
      lines.push('- Else', '  - Say "other"');
      return { text: HEAD + '- $x = 1\n' + lines.join('\n'), note: `if/else-if chain of ${n}` };
    }
    case 11:
      return { text: `${'#'.repeat(d)} x\n${HEAD}${'>'.repeat(d)} quote\n- ${'> '.repeat(d)}x`, note: `${d} '#' and '>' markers` };
    case 12:
      return { text: HEAD + '- $x = 1' + r.pick([' and $x', ' or $x', ' + 1', ' == 1', ' < 2', ' in [1]']).repeat(d), note: `binary chain of ${d}` };
    case 13: {
      // Nested control flow that alternates kinds, nested deep.
      const depth = Math.min(d, 1500);
      const kinds = ['If $x > 1', 'While $x < 3', 'For each $i in [1, 2]', 'Until $x', 'Else'];
      return { text: HEAD + Array.from({ length: depth }, (_, i) => `${' '.repeat(i)}- ${kinds[i % kinds.length]!}`).join('\n'), note: `mixed control flow nested ${depth} deep` };
    }
    default:
      return { text: `---\n${Array.from({ length: Math.min(d, 2000) }, (_, i) => `${' '.repeat(i)}k${i}:`).join('\n')}\n---\n${HEAD}- x`, note: `front matter maps nested ${Math.min(d, 2000)} deep` };
  }
}

function hugeCase(r: Rng): { text: string; note: string } {
  const n = r.logRange(20_000, 400_000);
  const k = (d: number) => Math.max(1, Math.floor(n / d));
  switch (r.int(12)) {
    case 0:
      return { text: HEAD + '- ' + 'word '.repeat(k(5)), note: `natural-language step of ${k(5) * 5} chars` };
    case 1:
      return { text: HEAD + '- $x = "' + 'a'.repeat(n) + '"', note: `string literal of ${n} chars` };
    case 2:
      return { text: HEAD + '- $x = ' + '1 + '.repeat(k(4)) + '1', note: `expression with ${k(4) + 1} terms` };
    case 3:
      return { text: HEAD + Array.from({ length: k(20) }, (_, i) => `- Do thing ${i}`).join('\n'), note: `${k(20)} steps` };
    case 4:
      return { text: '# A\n' + Array.from({ length: k(400) }, (_, i) => `## P${i}\n### Triggers\n- At the beginning\n### Steps\n- Say "${i}"\n`).join('\n'), note: `${k(400)} playbooks` };
    case 5:
      return { text: Array.from({ length: k(400) }, (_, i) => `# Agent${i}\n## P\n### Steps\n- Say "${i}"\n`).join('\n') + HEAD + '- x', note: `${k(400)} agents` };
    case 6:
      return { text: HEAD + '- ' + 'a'.repeat(n) + ' = 1', note: `identifier of ${n} chars` };
    case 7:
      return { text: HEAD + '- Say "' + '{$x}'.repeat(Math.min(k(4), 20_000)) + '"', note: `${Math.min(k(4), 20_000)} interpolations` };
    case 8:
      return { text: '# A\n```python\n' + 'x = 1\n'.repeat(k(6)) + '```\n' + HEAD + '- x', note: `python block of ${k(6)} lines` };
    case 9:
      return { text: '## ' + 'x'.repeat(n) + '\n### Steps\n- x', note: `heading of ${n} chars` };
    case 10:
      return { text: HEAD.replace('- At the beginning', Array.from({ length: k(100) }, (_, i) => `- When $x${i} > ${i}`).join('\n') + '\n- At the beginning') + '- x', note: `${k(100)} triggers` };
    default:
      return { text: HEAD + '- a\n' + 'continued line\n'.repeat(k(15)), note: `bullet with ${k(15)} continuation lines` };
  }
}

// ---- fixed tricky inputs (each is one case) ---------------------------------------------------

const TARGETED: Array<{ note: string; text: () => string }> = [
  { note: 'empty file', text: () => '' },
  { note: 'only a newline', text: () => '\n' },
  { note: 'only a BOM', text: () => '\uFEFF' },
  { note: 'only NUL bytes', text: () => '\0\0\0' },
  { note: 'lone #', text: () => '#' },
  { note: 'lone ##', text: () => '##' },
  { note: 'lone ### Steps', text: () => '### Steps' },
  { note: 'lone bullet', text: () => '- ' },
  { note: 'lone ---', text: () => '---' },
  { note: 'lone ```', text: () => '```' },
  { note: 'lone <!--', text: () => '<!--' },
  { note: 'only !import', text: () => '!import' },
  { note: 'self import', text: () => `!import ./targeted.pb\n${HEAD}- x` },
  { note: 'steps nested 1200 deep', text: () => HEAD + Array.from({ length: 1200 }, (_, i) => `${' '.repeat(i)}- x`).join('\n') },
  { note: "'**' chain of 1500", text: () => HEAD + '- $x = 2' + ' ** 2'.repeat(1500) },
  { note: 'front matter __proto__ list', text: () => `---\n__proto__: [1, 2]\n---\n${HEAD}- Say "hi"` },
  { note: 'front matter __proto__ map', text: () => `---\n__proto__:\n  polluted: yes\n---\n${HEAD}- Say "hi"` },
  { note: 'agent metadata __proto__', text: () => `# A\n__proto__: [1, 2]\n\n## Main\n### Triggers\n- At the beginning\n### Steps\n- Say "hi"` },
  { note: 'playbook metadata __proto__', text: () => `# A\n## Main\n__proto__: [1]\n### Triggers\n- At the beginning\n### Steps\n- Say "hi"` },
  { note: 'lone surrogate in a Say literal', text: () => `${HEAD}- Say "hi \uD800 there"` },
  { note: 'negative zero constant', text: () => `${HEAD}- $x = -0.0\n- Say $x` },
  { note: 'negative zero metadata', text: () => `# A\nlimit: -0\n\n## Main\n### Triggers\n- At the beginning\n### Steps\n- Say "hi"` },
  { note: 'duplicate parameter names in an exported ts function', text: () => `# A\n\`\`\`ts\nexport function F(a, a) { return a; }\n\`\`\`\n\n## Main\n### Triggers\n- At the beginning\n### Steps\n- Say "x"` },
  { note: 'duplicate parameter names in a python @playbook', text: () => `# A\n\`\`\`python\n@playbook\ndef F(a, a):\n    pass\n\`\`\`\n\n## Main\n### Triggers\n- At the beginning\n### Steps\n- Say "x"` },
  { note: '7000 else-without-if errors (diagnostic formatting time)', text: () => HEAD + '- Else\n'.repeat(7000) },
  { note: '17000 duplicate parameters on one 51 KB heading (diagnostic formatting size)', text: () => `# A\n## P(${'a, '.repeat(17_000)}a)\n### Triggers\n- At the beginning\n### Steps\n- Say "x"\n` },
];

// ---------------------------------------------------------------------------------------------
// Categories and the runner.

interface Category {
  name: string;
  cases: number;
  gen: (r: Rng, i: number) => Case;
}

/** Small programs are picked more often than big ones (weight 1/sqrt(size)): the mutations are local, so this buys more cases per second. */
const PICK_WEIGHTS = PROGRAMS.map((p) => 1 / Math.sqrt(Math.max(200, p.text.length)));
const PICK_TOTAL = PICK_WEIGHTS.reduce((a, b) => a + b, 0);
function pickProgram(r: Rng): SourceFile {
  let x = r.float() * PICK_TOTAL;
  for (let i = 0; i < PROGRAMS.length; i++) {
    x -= PICK_WEIGHTS[i]!;
    if (x < 0) return PROGRAMS[i]!;
  }
  return PROGRAMS[PROGRAMS.length - 1]!;
}

function fromBase(r: Rng, f: (r: Rng, text: string) => { text: string; note: string }): Case {
  const base = pickProgram(r);
  const m = f(r, base.text);
  return { text: m.text, path: base.path, note: `${relative(CORPUS, base.path)}: ${m.note}` };
}

const SYNTH_PATHS = ['synth.pb', 'dir/ü 😀.pb', 'no-extension', '/abs/path/prog.pb', 'C:\\win\\prog.pb', '.pb', 'a.b.c.pb'];

const scaled = (n: number) => Math.max(1, Math.round(n * SCALE));
const CATEGORIES: Category[] = [
  { name: 'bytes', cases: scaled(2000), gen: (r) => fromBase(r, mutateBytes) },
  { name: 'lines', cases: scaled(2000), gen: (r) => fromBase(r, mutateLines) },
  { name: 'unicode', cases: scaled(1500), gen: (r) => fromBase(r, mutateUnicode) },
  { name: 'endings', cases: scaled(900), gen: (r) => fromBase(r, mutateEndings) },
  { name: 'unclosed', cases: scaled(900), gen: (r) => fromBase(r, mutateUnclosed) },
  { name: 'imports', cases: scaled(700), gen: (r) => mutateImports(r, pickProgram(r)) },
  {
    name: 'synth',
    cases: scaled(1500),
    gen: (r) => {
      let text = genProgram(r);
      let note = 'random program';
      if (r.chance(0.25)) {
        const m = r.pick([mutateBytes, mutateLines, mutateUnicode, mutateEndings, mutateUnclosed])(r, text);
        text = m.text;
        note += ` + ${m.note}`;
      }
      return { text, path: r.pick(SYNTH_PATHS), note };
    },
  },
  {
    name: 'mixed',
    cases: scaled(500),
    gen: (r) => {
      const base = pickProgram(r);
      let text = base.text;
      const notes: string[] = [];
      for (let k = r.range(2, 5); k > 0; k--) {
        const m = r.pick([mutateBytes, mutateLines, mutateUnicode, mutateEndings, mutateUnclosed])(r, text);
        text = m.text;
        notes.push(m.note);
      }
      return { text, path: base.path, note: `${relative(CORPUS, base.path)}: ${notes.join('; ')}` };
    },
  },
  { name: 'nesting', cases: scaled(200), gen: (r) => ({ ...deepCase(r), path: 'deep.pb' }) },
  { name: 'huge', cases: scaled(30), gen: (r) => ({ ...hugeCase(r), path: 'huge.pb' }) },
  { name: 'targeted', cases: TARGETED.length, gen: (_r, i) => ({ text: TARGETED[i]!.text(), path: 'targeted.pb', note: TARGETED[i]!.note }) },
];

// ---------------------------------------------------------------------------------------------
// Hang detection. A case that spins forever blocks this thread, so nothing here can notice.
// A watchdog thread can: before each case the runner copies the input into shared memory
// (no system call) and bumps a counter; when a case runs longer than HANG_MS the watchdog
// writes the input to a file, prints where it is and how to reproduce, and kills the process.

const SHARED_TEXT_BYTES = 16 << 20;
const H_BUSY = 0;
const H_COUNTER = 1;
const H_CATEGORY = 2;
const H_CASE = 3;
const H_TEXT_LENGTH = 4; // bytes of UTF-16 in the shared buffer, or -1 when the text was written to the file
const HEADER_BYTES = 32;

const WATCHDOG_SRC = `
const { workerData } = require('node:worker_threads');
const { writeFileSync, writeSync } = require('node:fs');
const state = new Int32Array(workerData.sab, 0, 8);
const text = Buffer.from(workerData.sab, ${HEADER_BYTES});
let last = -1, since = Date.now();
setInterval(() => {
  const busy = Atomics.load(state, ${H_BUSY}), n = Atomics.load(state, ${H_COUNTER});
  if (!busy || n !== last) { last = n; since = Date.now(); return; }
  if (Date.now() - since < workerData.hangMs) return;
  const id = workerData.categories[Atomics.load(state, ${H_CATEGORY})] + ':' + Atomics.load(state, ${H_CASE});
  const length = Atomics.load(state, ${H_TEXT_LENGTH});
  if (length >= 0) writeFileSync(workerData.file, text.toString('utf16le', 0, length));
  writeSync(2, '\\nFUZZ HANG: case ' + id + ' (seed ' + workerData.seed + ') has run for more than ' + workerData.hangMs +
    ' ms. Its input is saved at ' + workerData.file + '\\nReproduce: PB_FUZZ_SEED=' + workerData.seed + ' PB_FUZZ_CASE=' + id +
    ' npx vitest run test/fuzz.test.ts\\n');
  process.kill(process.pid, 'SIGKILL');
}, 200);
`;

let workDir = '';
let hangFile = '';
let shared: { state: Int32Array; text: Buffer } | undefined;
let watchdog: Worker | undefined;
let totalCases = 0;
let totalCompiled = 0;
let totalFailing = 0;
let totalMs = 0;
let totalCpuMs = 0;
let slowest = { ms: 0, id: '', note: '' };

function announceCase(catIndex: number, index: number, text: string): void {
  if (!shared) return;
  const { state, text: buf } = shared;
  if (text.length * 2 <= buf.length) {
    buf.write(text, 0, 'utf16le');
    Atomics.store(state, H_TEXT_LENGTH, text.length * 2);
  } else {
    writeFileSync(hangFile, text);
    Atomics.store(state, H_TEXT_LENGTH, -1);
  }
  Atomics.store(state, H_CATEGORY, catIndex);
  Atomics.store(state, H_CASE, index);
  Atomics.add(state, H_COUNTER, 1);
  Atomics.store(state, H_BUSY, 1);
}

beforeAll(() => {
  workDir = mkdtempSync(join(tmpdir(), `pbvm-fuzz-${SEED_HEX}-`));
  hangFile = join(workDir, 'hanging-case.pb');
  const sab = new SharedArrayBuffer(HEADER_BYTES + SHARED_TEXT_BYTES);
  shared = { state: new Int32Array(sab, 0, 8), text: Buffer.from(sab, HEADER_BYTES) };
  watchdog = new Worker(WATCHDOG_SRC, {
    eval: true,
    workerData: { sab, hangMs: HANG_MS, file: hangFile, seed: SEED_HEX, categories: CATEGORIES.map((c) => c.name) },
  });
  watchdog.unref();
});

afterAll(async () => {
  await watchdog?.terminate();
  // Keep the directory only when it holds saved failing inputs.
  if (totalFailing === 0 && !ONLY) rmSync(workDir, { recursive: true, force: true });
  console.log(
    `fuzz: ${totalCases} cases (${totalCompiled} compiled without errors) in ${(totalMs / 1000).toFixed(1)} s ` +
      `(${(totalCpuMs / 1000).toFixed(1)} s CPU), seed ${SEED_HEX}; ` +
      `${totalFailing} failing; slowest ${slowest.id} ${slowest.ms.toFixed(0)} ms (${slowest.note.slice(0, 100)})`,
  );
});

// ---------------------------------------------------------------------------------------------
// The runner: every case of a category runs; failures are grouped by kind of problem.

interface Failure {
  count: number;
  id: string;
  note: string;
  detail: string;
  saved: string;
}

/** Saves a failing input; a text that is not well-formed UTF-16 also gets an exact JSON copy. */
function saveInput(name: string, text: string): string {
  const file = join(workDir, `${name}.pb`);
  writeFileSync(file, text);
  if (LONE_SURROGATE.test(text)) {
    writeFileSync(`${file}.json`, JSON.stringify(text));
    return `${file} (exact text, with its lone surrogates, in ${file}.json)`;
  }
  return file;
}

function runCategory(cat: Category, catIndex: number, only?: number): void {
  const failures = new Map<string, Failure>();
  let failing = 0;
  let compiled = 0;
  const started = performance.now();
  const cpuStart = process.cpuUsage();
  const first = only ?? 0;
  const last = only ?? cat.cases - 1;
  for (let i = first; i <= last; i++) {
    const id = `${cat.name}:${i}`;
    const c = cat.gen(new Rng(mix(SEED, catIndex, i)), i);
    announceCase(catIndex, i, c.text);
    const t0 = performance.now();
    const { problems, compiled: ok } = checkCase(c);
    const ms = performance.now() - t0;
    if (shared) Atomics.store(shared.state, H_BUSY, 0);
    if (ok) compiled++;
    if (ms > slowest.ms) slowest = { ms, id, note: c.note };
    if (ms > PER_CASE_MS) problems.push(problem(`case took longer than ${PER_CASE_MS} ms`, `case took ${ms.toFixed(0)} ms (limit ${PER_CASE_MS} ms per case)`));
    if (only !== undefined) {
      const saved = saveInput(id.replace(':', '-'), c.text);
      console.log(`fuzz case ${id} (seed ${SEED_HEX}): ${c.note}\ninput: ${saved}\n${problems.map((p) => p.detail).join('\n') || 'no problems'}`);
    }
    if (problems.length === 0) continue;
    failing++;
    for (const p of problems) {
      const seen = failures.get(p.sig);
      if (seen) seen.count++;
      else failures.set(p.sig, { count: 1, id, note: c.note, detail: p.detail, saved: saveInput(id.replace(':', '-'), c.text) });
    }
  }
  const ms = performance.now() - started;
  const cpu = process.cpuUsage(cpuStart);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  const n = last - first + 1;
  totalCases += n;
  totalCompiled += compiled;
  totalFailing += failing;
  totalMs += ms;
  totalCpuMs += cpuMs;
  console.log(`fuzz ${cat.name}: ${n} cases (${compiled} compiled without errors), ${failing} failing, ${ms.toFixed(0)} ms (${cpuMs.toFixed(0)} ms CPU), seed ${SEED_HEX}`);
  const report = [...failures.values()].map(
    (f) =>
      `- ${f.detail.slice(0, 700)}\n    ${f.count} case(s); first ${f.id}: ${f.note.slice(0, 300)}\n    input: ${f.saved}\n` +
      `    reproduce: PB_FUZZ_SEED=${SEED_HEX} PB_FUZZ_CASE=${f.id} npx vitest run test/fuzz.test.ts`,
  );
  expect(failing, `fuzz ${cat.name} (seed ${SEED_HEX}): ${failing} of ${n} cases failed; ${failures.size} distinct problem(s):\n${report.join('\n')}\n`).toBe(0);
}

// Every case mutates a corpus program.
describe.skipIf(!present)('compiler fuzzing', () => {
  it('has a corpus to mutate', () => {
    expect(PROGRAMS.length, `no .pb files under ${CORPUS}`).toBeGreaterThan(0);
  });

  if (ONLY) {
    const [name, index] = ONLY.split(':');
    const catIndex = CATEGORIES.findIndex((c) => c.name === name);
    it(`case ${ONLY}`, () => {
      expect(catIndex, `unknown category in PB_FUZZ_CASE=${ONLY}; known: ${CATEGORIES.map((c) => c.name).join(', ')}`).toBeGreaterThanOrEqual(0);
      runCategory(CATEGORIES[catIndex]!, catIndex, Number(index));
    });
    return;
  }

  CATEGORIES.forEach((cat, catIndex) => {
    it(`${cat.name}: ${cat.cases} cases`, () => runCategory(cat, catIndex));
  });

  it('ran at least 10,000 cases', () => {
    expect(totalCases).toBeGreaterThanOrEqual(Math.round(10_000 * Math.min(1, SCALE)));
  });
});
