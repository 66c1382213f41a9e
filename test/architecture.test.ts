// Dependencies point one way (DESIGN.md): src → vm/compiler/stdlib, compiler → grammar and
// the PBAsm format, and the VM never imports the compiler.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Op, OPCODES, OPCODE_COUNT } from '../vm/pbasm/opcodes.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const f of readdirSync(join(root, dir))) {
    const p = join(root, dir, f);
    if (statSync(p).isDirectory()) out.push(...sources(relative(root, p)));
    else if (p.endsWith('.ts')) out.push(relative(root, p));
  }
  return out;
}

function imports(file: string): string[] {
  const text = readFileSync(join(root, file), 'utf8');
  const found = [...text.matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]/g), ...text.matchAll(/import\(\s*['"]([^'"]+)['"]\s*\)/g)];
  return found
    .map((m) => m[1]!)
    .filter((s) => s.startsWith('.'))
    .map((s) => relative(root, resolve(dirname(join(root, file)), s)));
}

const allowed: Record<string, string[]> = {
  grammar: ['grammar'],
  compiler: ['compiler', 'grammar', 'vm/pbasm'],
  vm: ['vm', 'stdlib'],
  stdlib: ['stdlib', 'vm/pbasm', 'vm/values.ts'],
  src: ['src', 'vm', 'compiler', 'stdlib', 'grammar'],
};

describe('architecture', () => {
  for (const [layer, ok] of Object.entries(allowed)) {
    it(`${layer}/ imports only ${ok.join(', ')}`, () => {
      const bad: string[] = [];
      for (const file of sources(layer)) {
        for (const target of imports(file)) {
          const t = target.replace(/\.js$/, '.ts');
          if (!ok.some((prefix) => t === prefix || t.startsWith(`${prefix}/`) || t === prefix.replace(/\.ts$/, '') + '.ts')) bad.push(`${file} → ${t}`);
        }
      }
      expect(bad).toEqual([]);
    });
  }

  it('no file imports itself through others (type imports count too)', () => {
    const graph = new Map<string, string[]>();
    for (const layer of Object.keys(allowed)) for (const file of sources(layer)) graph.set(file, imports(file).map((t) => t.replace(/\.js$/, '.ts')));
    const state = new Map<string, 'open' | 'done'>();
    const path: string[] = [];
    const cycles: string[] = [];
    const visit = (f: string): void => {
      state.set(f, 'open');
      path.push(f);
      for (const g of graph.get(f) ?? []) {
        if (!graph.has(g)) continue;
        if (state.get(g) === 'open') cycles.push([...path.slice(path.indexOf(g)), g].join(' → '));
        else if (!state.has(g)) visit(g);
      }
      path.pop();
      state.set(f, 'done');
    };
    for (const f of graph.keys()) if (!state.has(f)) visit(f);
    expect(cycles).toEqual([]);
  });

  it('the opcode table describes every opcode exactly once', () => {
    const names = Object.values(OPCODES).map((o) => o.name);
    expect(new Set(names).size).toBe(names.length);
    expect(OPCODE_COUNT).toBe(Op.PLAN_CHECK + 1); // the last opcode of the enum
  });

  it('the VM dispatch switch handles every opcode of the table', () => {
    const machine = readFileSync(join(root, 'vm/dispatch.ts'), 'utf8');
    const handled = new Set([...machine.matchAll(/case Op\.([A-Z_]+):/g)].map((m) => m[1]));
    const enumText = readFileSync(join(root, 'vm/pbasm/opcodes.ts'), 'utf8');
    const declared = [...enumText.slice(enumText.indexOf('export const enum Op'), enumText.indexOf('}')).matchAll(/^\s+([A-Z_]+)(?: = 0)?,/gm)].map((m) => m[1]);
    expect(declared.length).toBe(OPCODE_COUNT);
    expect(declared.filter((d) => !handled.has(d))).toEqual([]);
  });
});
