// `key: value` metadata lines (agents, playbooks, front matter): a small YAML subset —
// scalars, an indented map under a bare `key:`, or a bullet list under it.
import type { Value } from '../vm/pbasm/program.js';

export const META_LINE = /^([A-Za-z_][A-Za-z0-9_-]*)[ \t]*:(?:[ \t]+(.*?))?[ \t]*$/;

/** Keys that would reach Object.prototype machinery rather than being plain data. */
export const RESERVED_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

export function parseScalar(raw: string): Value {
  const s = raw.trim();
  if (s === '') return null;
  if (/^(true|yes|on)$/i.test(s)) return true;
  if (/^(false|no|off)$/i.test(s)) return false;
  if (/^(null|none|~)$/i.test(s)) return null;
  if (/^-?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(s)) return Number(s) || 0; // no -0: it does not survive msgpack
  if ((s.startsWith('"') && s.endsWith('"') && s.length >= 2) || (s.startsWith("'") && s.endsWith("'") && s.length >= 2)) {
    return s.slice(1, -1);
  }
  if (s.startsWith('[') && s.endsWith(']')) {
    const inner = s.slice(1, -1).trim();
    return inner ? inner.split(',').map((x) => parseScalar(x)) : [];
  }
  return s;
}

/** Parses a block of YAML-ish text (front matter) into a flat-or-nested object. */
export function parseYamlBlock(text: string): Record<string, Value> {
  const out: Record<string, Value> = {};
  const lines = text.split('\n');
  let openKey: string | undefined;
  let openIndent = 0;
  for (const line of lines) {
    if (line.trim() === '' || line.trim().startsWith('#')) continue;
    const indent = line.length - line.trimStart().length;
    const body = line.trim();
    if (openKey !== undefined && indent > openIndent) {
      const current = out[openKey];
      if (body.startsWith('- ')) {
        out[openKey] = [...(Array.isArray(current) ? current : []), parseScalar(body.slice(2))];
        continue;
      }
      const m = META_LINE.exec(body);
      if (m && RESERVED_KEYS.has(m[1]!)) continue;
      if (m) {
        const obj = current && typeof current === 'object' && !Array.isArray(current) ? current : {};
        obj[m[1]!] = parseScalar(m[2] ?? '');
        out[openKey] = obj;
        continue;
      }
    }
    const m = META_LINE.exec(body);
    if (m && !RESERVED_KEYS.has(m[1]!)) {
      out[m[1]!] = parseScalar(m[2] ?? '');
      openKey = m[2] ? undefined : m[1]!;
      openIndent = indent;
    }
  }
  return out;
}
