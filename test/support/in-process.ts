// In-process runs for tests: compile a .pb file from disk (throwing with its diagnostics when it
// does not compile), and console I/O that collects what is said and answers from a list.
import { readFileSync } from 'node:fs';
import { compileSource } from '../../compiler/compile.js';
import { formatDiagnostics } from '../../compiler/diagnostics.js';
import { nodeSourceHost } from '../../src/source-host.js';
import type { Program } from '../../vm/pbasm/program.js';
import type { RunnerIO } from '../../vm/runner.js';

export function compileFile(path: string): Program {
  const r = compileSource(readFileSync(path, 'utf8'), path, { host: nodeSourceHost });
  if (!r.program) throw new Error(`${path} does not compile:\n${formatDiagnostics(r.diagnostics, r.sources)}`);
  return r.program;
}

export function collectingIO(inputs: string[] = []): { io: RunnerIO; out: string[] } {
  const out: string[] = [];
  const queue = inputs.slice();
  return { out, io: { writeLines: (lines) => out.push(...lines), readLine: async () => queue.shift() ?? null } };
}
