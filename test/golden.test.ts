// Golden tests for the compiler. Every `.pb` (or Locus `.yaml`/`.json`) file under
// test/golden/listing/ compiles without errors and its PBAsm listing must match NAME.listing
// beside it; every such file under test/golden/diagnostics/ has mistakes and its formatted
// diagnostics must match NAME.diagnostics beside it. Regenerate with `npx vitest run -u test/golden.test.ts`, then
// review the diff. Under CI=true vitest does not write missing goldens, so a missing one fails.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { compileSource } from '../compiler/compile.js';
import { compileLocus, isLocusPath } from '../compiler/locus.js';
import { formatDiagnostics } from '../compiler/diagnostics.js';
import { disassemble } from '../compiler/disasm.js';
import { nodeSourceHost } from '../src/source-host.js';

const TEST_DIR = dirname(fileURLToPath(import.meta.url));
const ROOT = dirname(TEST_DIR);
const LISTING_DIR = join(TEST_DIR, 'golden', 'listing');
const DIAGNOSTICS_DIR = join(TEST_DIR, 'golden', 'diagnostics');
const MIN_FILES = 30;

const PROGRAM = /\.(pb|ya?ml|json)$/;

/** The programs of a golden folder, sorted (imported helpers live in imports/). */
function programs(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => PROGRAM.test(f))
    .sort();
}

/** Path relative to the repo root with forward slashes, so outputs are machine-independent. */
function repoPath(abs: string): string {
  return relative(ROOT, abs).split(sep).join('/');
}

function compileGolden(abs: string) {
  const text = readFileSync(abs, 'utf8');
  return isLocusPath(abs) ? compileLocus(text, repoPath(abs)) : compileSource(text, repoPath(abs), { host: nodeSourceHost });
}

// nodeSourceHost reads and prints imports relative to the working directory; compile from
// the repo root whatever directory vitest was started in.
beforeAll(() => {
  if (process.cwd() !== ROOT) process.chdir(ROOT);
});

const listingFiles = programs(LISTING_DIR);
const diagnosticFiles = programs(DIAGNOSTICS_DIR);

describe('golden listings', () => {
  it(`has at least ${MIN_FILES} programs`, () => {
    expect(listingFiles.length).toBeGreaterThanOrEqual(MIN_FILES);
  });

  for (const file of listingFiles) {
    const name = file.replace(PROGRAM, '');
    it(name, async () => {
      const result = compileGolden(join(LISTING_DIR, file));
      const errors = result.diagnostics.filter((d) => d.severity === 'error');
      expect(formatDiagnostics(errors, result.sources)).toBe('');
      expect(result.program).toBeDefined();
      await expect(disassemble(result.program!)).toMatchFileSnapshot(`./golden/listing/${name}.listing`);
    });
  }
});

describe('golden diagnostics', () => {
  it(`has at least ${MIN_FILES} programs`, () => {
    expect(diagnosticFiles.length).toBeGreaterThanOrEqual(MIN_FILES);
  });

  for (const file of diagnosticFiles) {
    const name = file.replace(PROGRAM, '');
    it(name, async () => {
      const result = compileGolden(join(DIAGNOSTICS_DIR, file));
      expect(result.diagnostics.length).toBeGreaterThan(0);
      // warn-*.pb show warnings alone; every other file has at least one error.
      if (name.startsWith('warn-')) expect(result.errorCount).toBe(0);
      else expect(result.errorCount).toBeGreaterThan(0);
      expect(result.diagnostics.some((d) => d.code === 'internal-error')).toBe(false);
      await expect(`${formatDiagnostics(result.diagnostics, result.sources)}\n`).toMatchFileSnapshot(
        `./golden/diagnostics/${name}.diagnostics`,
      );
    });
  }
});
