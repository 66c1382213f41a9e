// Compatibility corpus: every Playbooks AI program in ../shared/corpus/playbooks-ai compiles
// with 0 errors, survives a lossless .pbasm round trip, and `pb check` accepts all of them.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { compileSource, type CompileResult } from '../compiler/compile.js';
import { formatDiagnostics } from '../compiler/diagnostics.js';
import { disassemble } from '../compiler/disasm.js';
import { nodeSourceHost } from '../src/source-host.js';
import { decodeProgram, encodeProgram } from '../vm/pbasm/container.js';
import { CORPUS, corpusPresent } from './support/corpus.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(REPO, 'dist/src/cli/main.js');
const EXPECTED_COUNT = 72;

function findPb(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...findPb(full));
    else if (entry.isFile() && entry.name.endsWith('.pb')) out.push(full);
  }
  return out.sort();
}

const present = corpusPresent('test/corpus.test.ts');
const files = present ? findPb(CORPUS) : [];
const rel = (f: string) => relative(CORPUS, f);

const compiled = new Map<string, CompileResult>();
function compile(file: string): CompileResult {
  let r = compiled.get(file);
  if (!r) {
    r = compileSource(readFileSync(file, 'utf8'), file, { host: nodeSourceHost });
    compiled.set(file, r);
  }
  return r;
}

describe.skipIf(!present)('Playbooks AI compatibility corpus', () => {
  it(`contains exactly ${EXPECTED_COUNT} .pb programs`, () => {
    expect(existsSync(CORPUS), `corpus directory not found: ${CORPUS}`).toBe(true);
    expect(files.length, `found ${files.length} .pb files under ${CORPUS}:\n${files.map(rel).join('\n')}`).toBe(EXPECTED_COUNT);
  });

  it('every program compiles in-process with 0 errors', () => {
    const failures: string[] = [];
    let ok = 0;
    const started = performance.now();
    for (const file of files) {
      const r = compile(file);
      if (r.errorCount === 0 && r.program) ok++;
      else failures.push(`${rel(file)}: ${r.errorCount} error(s)\n${formatDiagnostics(r.diagnostics, r.sources)}`);
    }
    const ms = performance.now() - started;
    console.log(`corpus: ${ok}/${files.length} programs compile with 0 errors (${ms.toFixed(0)} ms)`);
    expect(failures, failures.join('\n\n')).toEqual([]);
    expect(ok).toBe(EXPECTED_COUNT);
  });

  it('every program round-trips losslessly through the .pbasm container', () => {
    const failures: string[] = [];
    for (const file of files) {
      const program = compile(file).program;
      if (!program) {
        failures.push(`${rel(file)}: did not compile`);
        continue;
      }
      try {
        const bytes = encodeProgram(program);
        const decoded = decodeProgram(bytes);
        if (disassemble(decoded) !== disassemble(program)) failures.push(`${rel(file)}: disassembly differs after encode/decode`);
        // toStrictEqual semantics: undefined-valued keys, array holes and classes must survive too.
        try {
          expect(decoded).toStrictEqual(program);
        } catch (err) {
          failures.push(`${rel(file)}: decoded program differs from the original\n${(err as Error).message}`);
        }
        // Encoding is deterministic: the same program gives the same bytes.
        if (!encodeProgram(decoded).equals(bytes)) failures.push(`${rel(file)}: re-encoding the decoded program gives different bytes`);
      } catch (err) {
        failures.push(`${rel(file)}: ${(err as Error).stack ?? String(err)}`);
      }
    }
    console.log(`corpus: ${files.length - failures.length}/${files.length} programs round-trip through .pbasm`);
    expect(failures, failures.join('\n\n')).toEqual([]);
  });

  it('`pb check` accepts all programs in one invocation (exit 0)', () => {
    expect(existsSync(CLI), `${CLI} is missing: build first with \`npx tsc -p .\` (npm test does this in pretest)`).toBe(true);
    expect(files.length).toBe(EXPECTED_COUNT);
    const r = spawnSync(process.execPath, [CLI, 'check', ...files], { cwd: REPO, encoding: 'utf8', timeout: 60_000 });
    const detail = `exit ${String(r.status)} signal ${String(r.signal)}\n--- stderr ---\n${r.stderr}\n--- stdout ---\n${r.stdout}`;
    expect(r.error, detail).toBeUndefined();
    expect(r.status, detail).toBe(0);
    expect(r.stderr).toContain(`${EXPECTED_COUNT} files checked: 0 errors`);
    expect(r.stderr).not.toMatch(/: error: /);
  });
});
