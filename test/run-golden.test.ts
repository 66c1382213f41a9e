// Golden run tests: every `.pb` program under test/golden/run/ is compiled and run in-process
// with its optional NAME.stdin as user input (one line per Ask / WaitForMessage, then end of
// input). What it says must match NAME.stdout, and how it ended must match NAME.status:
//
//   exit: N                      the CLI's exit code (0 finished or halted, 3 runtime error)
//   outcome: finished | halted | failed (CODE[, resumable])
//   <the formatted runtime error, for failures: file:line:col, code frame, call stack>
//
// Options for a run go in a comment on the program's first line, e.g.
// `<!-- options: maxSteps=50 -->` (keys: maxSteps). Every run without maxSteps gets a large
// safety budget so that a VM bug cannot hang the suite.
//
// Regenerate with `npx vitest run test/run-golden.test.ts -u`, then READ the diff: these
// files are the specification of what a run does. Under CI=true vitest does not write
// missing goldens, so a missing one fails.
//
// The last block runs the real CLI (`node dist/src/cli/main.js run ...`, built by `npx tsc -p .`)
// to check what the process does: exit codes, stdout carrying only the program's lines,
// diagnostics and errors on stderr.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { compileSource } from '../compiler/compile.js';
import { formatDiagnostics } from '../compiler/diagnostics.js';
import { nodeSourceHost } from '../src/source-host.js';
import { runProgram } from '../src/run.js';
import { EXIT } from '../src/cli/exit-codes.js';
import type { RunnerIO } from '../vm/runner.js';

const TEST_DIR = dirname(fileURLToPath(import.meta.url));
const ROOT = dirname(TEST_DIR);
const RUN_DIR = join(TEST_DIR, 'golden', 'run');
const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const MIN_FILES = 30;
/** Budget for runs that set no maxSteps: far above any golden program, low enough to stop a hang. */
const SAFETY_MAX_STEPS = 1_000_000;

/**
 * Goldens that record behaviour we believe is wrong. The test still compares against them (a fix
 * shows up as a golden diff to review and accept); this list keeps them from passing as truth.
 */
const KNOWN_BUGS: Record<string, string> = {
  'expr-collections': "objects reorder numeric-looking keys (JS property order): keys({'b': 1, '10': 2, '2': 3}) gives [\"2\", \"10\", \"b\"], expected [\"b\", \"10\", \"2\"]",
  'numbers-int-float': 'numbers are IEEE doubles: no int/float distinction (6 / 2 prints 3, type float(3) is int) and big ints lose precision (2 ** 64, 10 ** 21 prints 1e+21)',
};

interface RunCase {
  name: string;
  /** Path relative to the repo root, with forward slashes, as diagnostics print it. */
  path: string;
  source: string;
  stdin: string[];
  maxSteps?: number;
}

function repoPath(abs: string): string {
  return relative(ROOT, abs).split(sep).join('/');
}

function parseOptions(source: string, name: string): { maxSteps?: number } {
  const m = /^<!--\s*options:(.*?)-->/.exec(source);
  if (!m) return {};
  const out: { maxSteps?: number } = {};
  for (const item of m[1]!.trim().split(/\s+/).filter(Boolean)) {
    const [key, value] = item.split('=');
    if (key === 'maxSteps' && value && /^\d+$/.test(value)) out.maxSteps = Number(value);
    else throw new Error(`${name}.pb: unknown or malformed run option '${item}' (known: maxSteps=N)`);
  }
  return out;
}

/** Lines of NAME.stdin; a final newline does not make an extra empty line. */
function stdinLines(abs: string): string[] {
  if (!existsSync(abs)) return [];
  const text = readFileSync(abs, 'utf8');
  if (text === '') return [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

function loadCases(): RunCase[] {
  return readdirSync(RUN_DIR)
    .filter((f) => f.endsWith('.pb'))
    .sort()
    .map((file) => {
      const name = file.slice(0, -'.pb'.length);
      const abs = join(RUN_DIR, file);
      const source = readFileSync(abs, 'utf8');
      return { name, path: repoPath(abs), source, stdin: stdinLines(join(RUN_DIR, `${name}.stdin`)), ...parseOptions(source, name) };
    });
}

/** Tool call ids contain the random run id; keep the effect number only. */
function normalize(text: string): string {
  return text.replace(/\(call [0-9a-f]+:(\d+)\)/g, '(call <run>:$1)');
}

async function runCase(c: RunCase) {
  const compiled = compileSource(c.source, c.path, { host: nodeSourceHost });
  const errors = compiled.diagnostics.filter((d) => d.severity === 'error');
  expect(formatDiagnostics(errors, compiled.sources), `${c.path} must compile`).toBe('');
  const program = compiled.program!;
  const out: string[] = [];
  const input = [...c.stdin];
  let reads = 0;
  const io: RunnerIO = {
    writeLines: (lines) => void out.push(...lines),
    readLine: async () => {
      reads++;
      return input.length > 0 ? input.shift()! : null;
    },
  };
  const { outcome } = await runProgram(program, { io, maxSteps: c.maxSteps ?? SAFETY_MAX_STEPS });
  const exit = outcome.status === 'failed' ? EXIT.runtime : EXIT.ok;
  const stdout = out.length ? `${out.join('\n')}\n` : '';
  let status = `exit: ${exit}\noutcome: ${outcome.status}`;
  if (outcome.status === 'failed') {
    status += ` (${outcome.error.code}${outcome.resumable ? ', resumable' : ''})\n${normalize(outcome.error.format(program))}`;
  }
  return { stdout, status: `${status}\n`, exit, unread: input.length, reads };
}

beforeAll(() => {
  // nodeSourceHost and the error paths are relative to the working directory.
  if (process.cwd() !== ROOT) process.chdir(ROOT);
});

const cases = loadCases();

describe('golden runs', () => {
  it(`has at least ${MIN_FILES} programs`, () => {
    expect(cases.length).toBeGreaterThanOrEqual(MIN_FILES);
  });

  it('every known bug names a program', () => {
    const names = new Set(cases.map((c) => c.name));
    expect(Object.keys(KNOWN_BUGS).filter((n) => !names.has(n))).toEqual([]);
  });

  it('every .stdin file belongs to a program', () => {
    const names = new Set(cases.map((c) => c.name));
    const orphans = readdirSync(RUN_DIR).filter((f) => f.endsWith('.stdin') && !names.has(f.slice(0, -'.stdin'.length)));
    expect(orphans).toEqual([]);
  });

  for (const c of cases) {
    it(c.name + (KNOWN_BUGS[c.name] ? ' [known bug]' : ''), { timeout: 10_000 }, async () => {
      const r = await runCase(c);
      // A program fails only on purpose: the err-* programs are the runtime-error cases.
      expect(r.exit, `exit code of ${c.name}`).toBe(c.name.startsWith('err-') ? EXIT.runtime : EXIT.ok);
      // Every line of NAME.stdin is meant to be read (except by programs that stop early on purpose).
      if (!c.name.startsWith('err-')) expect(r.unread, `${c.name}.stdin has lines the program never read`).toBe(0);
      await expect(r.stdout).toMatchFileSnapshot(`./golden/run/${c.name}.stdout`);
      await expect(r.status).toMatchFileSnapshot(`./golden/run/${c.name}.status`);
    });
  }
});

interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

function pb(args: string[], input = ''): CliResult {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, input, encoding: 'utf8', timeout: 15_000 });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const golden = (name: string, ext: 'stdout' | 'status' | 'stdin') => readFileSync(join(RUN_DIR, `${name}.${ext}`), 'utf8');
/** The formatted error of a failing golden: the .status file without its two header lines. */
const goldenError = (name: string) => golden(name, 'status').split('\n').slice(2).join('\n').trimEnd();
const detail = (r: CliResult) => `exit ${String(r.status)}\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`;

describe('pb run (the real process)', () => {
  beforeAll(() => {
    expect(existsSync(CLI), `${CLI} is missing: build first with \`npx tsc -p .\` (npm test does this in pretest)`).toBe(true);
    const built = statSync(CLI).mtimeMs;
    const newer = ['src', 'vm', 'compiler', 'stdlib', 'grammar'].flatMap((d) =>
      readdirSync(join(ROOT, d), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts') && statSync(join(ROOT, d, f)).mtimeMs > built),
    );
    if (newer.length) console.warn(`run-golden: dist/ is older than ${newer.length} source file(s); the CLI tests run the last build (npx tsc -p .)`);
  });

  it('a run that reads stdin: exit 0, stdout is exactly the prompts and Say lines, stderr is empty', () => {
    const r = pb(['run', 'test/golden/run/ask.pb'], golden('ask', 'stdin'));
    expect(r.status, detail(r)).toBe(EXIT.ok);
    expect(r.stdout).toBe(golden('ask', 'stdout'));
    expect(r.stderr).toBe('');
  });

  it('End program: exit 0, nothing after the halt is printed', () => {
    const r = pb(['run', 'test/golden/run/end-program.pb']);
    expect(r.status, detail(r)).toBe(EXIT.ok);
    expect(r.stdout).toBe(golden('end-program', 'stdout'));
    expect(r.stdout).not.toContain('never printed');
    expect(r.stderr).toBe('');
  });

  it('a runtime error: exit 3; compile warnings and the error go to stderr, stdout keeps only the Say lines', () => {
    const r = pb(['run', 'test/golden/run/err-unknown-tool.pb']);
    expect(r.status, detail(r)).toBe(EXIT.runtime);
    expect(r.stdout).toBe('checking stock\n');
    expect(r.stderr).toContain("test/golden/run/err-unknown-tool.pb:10:8: warning: 'CheckStock' is not defined in this program");
    expect(r.stderr).toContain(goldenError('err-unknown-tool'));
    expect(r.stderr).toMatch(/^test\/golden\/run\/err-unknown-tool\.pb:10:3: error: /m);
  });

  it('end of stdin while asking: exit 3 with the error on stderr', () => {
    const r = pb(['run', 'test/golden/run/err-ask-eof.pb'], golden('err-ask-eof', 'stdin'));
    expect(r.status, detail(r)).toBe(EXIT.runtime);
    expect(r.stdout).toBe(golden('err-ask-eof', 'stdout'));
    expect(r.stderr).toContain('error: end of input while asking for $animal');
    expect(r.stderr).toContain(goldenError('err-ask-eof'));
  });

  it('--max-steps: exit 3 with the step budget error, same output as in-process', () => {
    const r = pb(['run', 'test/golden/run/err-step-budget.pb', '--max-steps', '25']);
    expect(r.status, detail(r)).toBe(EXIT.runtime);
    expect(r.stdout).toBe(golden('err-step-budget', 'stdout'));
    expect(r.stderr).toContain(goldenError('err-step-budget'));
  });

  it('a compile error exits 1 and runs nothing; a missing file exits 4', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pbvm-run-golden-'));
    try {
      const bad = join(dir, 'bad.pb');
      writeFileSync(bad, '# Broken\n\n## Main\n### Steps\n- Say "starts"\n- Else\n  - Say "orphan else"\n');
      const r = pb(['run', bad]);
      expect(r.status, detail(r)).toBe(EXIT.compile);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/bad\.pb:6:3: error: /);
      const missing = pb(['run', join(dir, 'missing.pb')]);
      expect(missing.status, detail(missing)).toBe(EXIT.io);
      expect(missing.stdout).toBe('');
      expect(missing.stderr).toMatch(/missing\.pb: error: cannot read file/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
