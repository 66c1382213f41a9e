// `key: value` metadata lines (agents, playbooks, front matter): a small YAML subset —
// scalars, an indented map under a bare `key:`, or a bullet list under it.
import type { Value } from '../vm/pbasm/program.js';
import { MAX_NESTING } from './expr-ast.js';

export const META_LINE = /^([A-Za-z_][A-Za-z0-9_-]*)[ \t]*:(?:[ \t]+(.*?))?[ \t]*$/;

/** Keys that would reach Object.prototype machinery rather than being plain data. */
export const RESERVED_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/** A metadata value that cannot be kept: where it is in the raw text, and why. */
export interface ScalarProblem {
  message: string;
  offset: number;
  length: number;
}

/**
 * One metadata value: true/false/null, a number, a quoted or bare string, or a `[a, b]` list
 * (items split at top-level commas, so lists nest and quoted items keep their commas). Lists
 * nest at most MAX_NESTING deep, as expressions do; a deeper one is reported to `problem`.
 */
export function parseScalar(raw: string, problem?: (p: ScalarProblem) => void): Value {
  const lead = raw.length - raw.trimStart().length;
  return scalarAt(raw.trim(), lead, 0, problem);
}

function scalarAt(s: string, at: number, depth: number, problem: ((p: ScalarProblem) => void) | undefined): Value {
  if (s === '') return null;
  if (/^(true|yes|on)$/i.test(s)) return true;
  if (/^(false|no|off)$/i.test(s)) return false;
  if (/^(null|none|~)$/i.test(s)) return null;
  if (/^-?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(s)) return Number(s) || 0; // no -0: it does not survive msgpack
  if ((s.startsWith('"') && s.endsWith('"') && s.length >= 2) || (s.startsWith("'") && s.endsWith("'") && s.length >= 2)) {
    return s.slice(1, -1);
  }
  if (s.startsWith('[') && s.endsWith(']')) {
    if (depth >= MAX_NESTING) {
      problem?.({ message: `metadata list nested more than ${MAX_NESTING} deep`, offset: at, length: s.length });
      return s;
    }
    const inner = s.slice(1, -1);
    if (inner.trim() === '') return [];
    return topLevelItems(inner).map(([start, end]) => {
      const item = inner.slice(start, end);
      const lead = item.length - item.trimStart().length;
      return scalarAt(item.trim(), at + 1 + start + lead, depth + 1, problem);
    });
  }
  return s;
}

/**
 * [start, end) of each comma-separated item of a list's inside, in one pass: commas inside
 * brackets, or inside an item that starts with a quote, do not split.
 */
function topLevelItems(inner: string): Array<[number, number]> {
  const items: Array<[number, number]> = [];
  let start = 0;
  let depth = 0;
  let itemStart = true;
  for (let i = 0; i < inner.length; i++) {
    const c = inner[i]!;
    if (itemStart && (c === '"' || c === "'")) {
      const close = inner.indexOf(c, i + 1);
      if (close > 0) i = close;
      itemStart = false;
    } else if (c === '[') {
      depth++;
      itemStart = false;
    } else if (c === ']') {
      if (depth > 0) depth--;
      itemStart = false;
    } else if (c === ',' && depth === 0) {
      items.push([start, i]);
      start = i + 1;
      itemStart = true;
    } else if (c !== ' ' && c !== '\t') itemStart = false;
  }
  items.push([start, inner.length]);
  return items;
}

/**
 * Parses a block of YAML-ish text (front matter) into a flat-or-nested object. Problems with
 * values come with their line (0-based, within the block) and column (0-based).
 */
export function parseYamlBlock(text: string, problem?: (p: ScalarProblem, line: number) => void): Record<string, Value> {
  const out: Record<string, Value> = {};
  const lines = text.split('\n');
  let openKey: string | undefined;
  let openIndent = 0;
  for (let lineNo = 0; lineNo < lines.length; lineNo++) {
    const line = lines[lineNo]!;
    if (line.trim() === '' || line.trim().startsWith('#')) continue;
    const indent = line.length - line.trimStart().length;
    const body = line.trim();
    // Offsets in the trimmed body are made offsets in the line.
    const scalar = (raw: string, bodyOffset: number) => parseScalar(raw, problem && ((p) => problem({ ...p, offset: p.offset + indent + bodyOffset }, lineNo)));
    if (openKey !== undefined && indent > openIndent) {
      const current = out[openKey];
      if (body.startsWith('- ')) {
        out[openKey] = [...(Array.isArray(current) ? current : []), scalar(body.slice(2), 2)];
        continue;
      }
      const m = META_LINE.exec(body);
      if (m && RESERVED_KEYS.has(m[1]!)) continue;
      if (m) {
        const obj = current && typeof current === 'object' && !Array.isArray(current) ? current : {};
        obj[m[1]!] = scalar(m[2] ?? '', metaValueOffset(body, m));
        out[openKey] = obj;
        continue;
      }
    }
    const m = META_LINE.exec(body);
    if (m && !RESERVED_KEYS.has(m[1]!)) {
      out[m[1]!] = scalar(m[2] ?? '', metaValueOffset(body, m));
      openKey = m[2] ? undefined : m[1]!;
      openIndent = indent;
    }
  }
  return out;
}

/** Where the value of a META_LINE match starts in its text. */
export function metaValueOffset(text: string, m: RegExpExecArray): number {
  return m[2] === undefined ? text.length : text.indexOf(m[2], text.indexOf(':', m[1]!.length) + 1);
}
