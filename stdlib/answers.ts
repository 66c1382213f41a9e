// Reading one line of user input into the variables an Ask step asks for. Deterministic, so
// a replayed answer fills the same variables. The rules are documented in LANGUAGE.md 4.10.
import type { RuntimeValue } from '../vm/values.js';

const NUMBER = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const INTEGER = /^[+-]?\d+$/;

interface Field {
  name: string;
  kind: 'text' | 'number' | 'int';
}

function field(spec: string): Field {
  const at = spec.lastIndexOf(':');
  const kind = at > 0 ? spec.slice(at + 1) : 'text';
  return { name: at > 0 ? spec.slice(0, at) : spec, kind: kind === 'number' || kind === 'int' ? kind : 'text' };
}

/** The value for a field, or undefined when the text does not fit it (a number field given words). */
function typed(f: Field, text: string): RuntimeValue | undefined {
  const t = text.trim();
  if (t === '') return undefined;
  if (f.kind === 'text') return t;
  if (f.kind === 'int' ? !INTEGER.test(t) : !NUMBER.test(t)) return undefined;
  const v = Number(t);
  return Number.isFinite(v) ? v || 0 : undefined; // no -0: it does not survive a snapshot
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * The values one answer gives for `specs` ("name", "name:number" or "name:int"): an object
 * with the fields it fills, in field order. One field takes the whole answer. Several fields
 * are filled by name ("color is blue, game is checkers", "pin: 1234") when the answer names
 * any, else in order from its parts (split at commas, semicolons, line breaks and "and"); the
 * last field takes any parts left over. A number field is filled only by a number.
 */
export function parseAnswer(text: string, specs: string[]): Record<string, RuntimeValue> {
  const fields = specs.map(field);
  const out: Record<string, RuntimeValue> = {};
  if (fields.length === 0) return out;
  if (fields.length === 1) {
    const v = typed(fields[0]!, text);
    if (v !== undefined) out[fields[0]!.name] = v;
    return out;
  }
  const parts = text
    .split(/[;,\n]|\band\b/i)
    .map((p) => p.trim())
    .filter((p) => p !== '');
  const named = new Map<string, string>();
  for (const p of parts) {
    for (const f of fields) {
      const label = escape(f.name).replace(/_/g, '[ _]');
      const m = new RegExp(`^(?:(?:my|the|your|our|their)\\s+)?${label}\\s*(?:\\bis\\b|\\bare\\b|=|:)\\s*(.+)$`, 'i').exec(p);
      if (m && !named.has(f.name)) {
        named.set(f.name, m[1]!);
        break;
      }
    }
  }
  const values: Array<[Field, string]> = [];
  if (named.size > 0) {
    for (const f of fields) if (named.has(f.name)) values.push([f, named.get(f.name)!]);
  } else {
    fields.forEach((f, i) => {
      if (i >= parts.length) return;
      values.push([f, i === fields.length - 1 ? parts.slice(i).join(', ') : parts[i]!]);
    });
  }
  for (const [f, raw] of values) {
    const v = typed(f, raw);
    if (v !== undefined) out[f.name] = v;
  }
  return out;
}
