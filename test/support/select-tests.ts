// A vitest setup file for a project that runs only some tests of its files: PB_TEST_SELECT
// holds {"<file name>": "<regexp over the test's full name>"}; a test that does not match
// is skipped (a file that is not listed runs whole). The every-safe-point project
// (vitest.config.ts) uses it to re-run only the crash and resume tests of larger suites.
import { basename } from 'node:path';
import { afterAll, beforeEach } from 'vitest';

const raw = process.env.PB_TEST_SELECT;
const select = new Map<string, RegExp>(raw ? Object.entries(JSON.parse(raw) as Record<string, string>).map(([file, re]) => [file, new RegExp(re)]) : []);

/** "outer describe > inner describe > test name". */
function fullName(task: { name: string; suite?: unknown }): string {
  const names = [task.name];
  for (let s = task.suite as { name: string; suite?: unknown } | undefined; s; s = s.suite as typeof s) if (s.name) names.unshift(s.name);
  return names.join(' > ');
}

let file = '';
let ran = 0;
beforeEach((ctx) => {
  file = basename(ctx.task.file.filepath);
  const only = select.get(file);
  if (only && !only.test(fullName(ctx.task))) ctx.skip();
  ran++;
});

// A pattern that selects nothing is stale (a test was renamed): that is a failure, not a pass.
afterAll(() => {
  if (file && select.has(file) && ran === 0) throw new Error(`PB_TEST_SELECT: no test of ${file} matches ${select.get(file)}`);
});
