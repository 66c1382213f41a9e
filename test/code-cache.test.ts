// A program's own ```js/```ts blocks run from files that only this user can write, and
// only when their content matches the block (src/tools.ts blockFile/codeDir): a file planted
// in a shared temp directory under the name the block would get never runs in its place.
// The child's TMPDIR is a directory of this test, so nothing here touches the real /tmp.
import { createHash, randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeRun, runCli, tempRoot } from './support/cli.js';
import { compileFile } from '../src/load-program.js';

const tmp = tempRoot('pb-code-cache-');
const uid = process.getuid?.();
const PLANTED = 'export function Greet() { return "planted"; }\n';

/** A program with a unique ```js (or ```ts) block, and the sha256 of that block's source. */
function program(dir: string, lang: 'js' | 'ts'): { file: string; marker: string; sha: string } {
  const marker = randomBytes(6).toString('hex');
  const file = join(dir, `greet-${lang}.pb`);
  const sig = lang === 'ts' ? '(): string' : '()';
  writeFileSync(file, `# Greeter\n\n\`\`\`${lang}\nexport function Greet${sig} { return "real ${marker}"; }\n\`\`\`\n\n## Main\n### Triggers\n- At the beginning\n\n### Steps\n- Say Greet()\n`);
  const r = compileFile(file);
  const source = r.program!.agents[0]!.blocks[0]!.source;
  return { file, marker, sha: createHash('sha256').update(source).digest('hex') };
}

describe("a program's code blocks", () => {
  it('a file planted in the shared pbvm-code directory under the block\'s name does not run', async () => {
    const dir = tmp('shared');
    const tmpdir = join(dir, 'tmp');
    mkdirSync(join(tmpdir, 'pbvm-code'), { recursive: true, mode: 0o777 });
    const p = program(dir, 'js');
    // Where earlier versions looked for the block: <tmp>/pbvm-code/<first 24 hex digits>.mjs.
    writeFileSync(join(tmpdir, 'pbvm-code', `${p.sha.slice(0, 24)}.mjs`), PLANTED);
    writeFileSync(join(tmpdir, 'pbvm-code', `${p.sha}.mjs`), PLANTED);
    const r = await runCli(['run', p.file], { cwd: dir, env: { TMPDIR: tmpdir } });
    expect(r.code, describeRun(r)).toBe(0);
    expect(r.stdout).toBe(`real ${p.marker}\n`);
  });

  it('runs from a private directory (mode 0700, ours); a file there whose content does not match is rewritten', async () => {
    const dir = tmp('private');
    const tmpdir = join(dir, 'tmp');
    mkdirSync(tmpdir);
    const p = program(dir, 'js');
    const first = await runCli(['run', p.file], { cwd: dir, env: { TMPDIR: tmpdir } });
    expect(first.code, describeRun(first)).toBe(0);
    expect(first.stdout).toBe(`real ${p.marker}\n`);
    const priv = join(tmpdir, `pbvm-code-${uid ?? 'user'}`);
    const st = statSync(priv);
    expect(st.mode & 0o777).toBe(0o700);
    if (uid !== undefined) expect(st.uid).toBe(uid);
    const file = join(priv, `${p.sha}.mjs`);
    expect(readdirSync(priv)).toContain(`${p.sha}.mjs`);

    // Tampered with (by someone who could), and the directory opened up: neither is trusted.
    writeFileSync(file, PLANTED);
    chmodSync(priv, 0o777);
    const second = await runCli(['run', p.file], { cwd: dir, env: { TMPDIR: tmpdir } });
    expect(second.code, describeRun(second)).toBe(0);
    expect(second.stdout).toBe(`real ${p.marker}\n`);
    expect(statSync(priv).mode & 0o777).toBe(0o700);
    expect(createHash('sha256').update(readFileSync(file)).digest('hex')).toBe(p.sha);
  });

  it.skipIf(uid !== 0)("a per-user directory owned by someone else is not used at all", async () => {
    const dir = tmp('foreign');
    const tmpdir = join(dir, 'tmp');
    const priv = join(tmpdir, `pbvm-code-${uid}`);
    mkdirSync(priv, { recursive: true });
    const p = program(dir, 'js');
    const planted = join(priv, `${p.sha}.mjs`);
    writeFileSync(planted, PLANTED);
    chownSync(priv, 65534, 65534);
    chownSync(planted, 65534, 65534);
    const r = await runCli(['run', p.file], { cwd: dir, env: { TMPDIR: tmpdir } });
    expect(r.code, describeRun(r)).toBe(0);
    expect(r.stdout).toBe(`real ${p.marker}\n`);
    expect(readFileSync(planted, 'utf8'), 'the foreign directory was written to').toBe(PLANTED);
    // It ran from a directory of its own for the process, removed at exit.
    expect(readdirSync(tmpdir).filter((n) => n.startsWith('pbvm-code-'))).toEqual([`pbvm-code-${uid}`]);
  });

  it('a ```ts block runs the same way', async () => {
    const dir = tmp('ts');
    const tmpdir = join(dir, 'tmp');
    mkdirSync(tmpdir);
    const p = program(dir, 'ts');
    const r = await runCli(['run', p.file], { cwd: dir, env: { TMPDIR: tmpdir } });
    expect(r.code, describeRun(r)).toBe(0);
    expect(r.stdout).toBe(`real ${p.marker}\n`);
    expect(existsSync(join(tmpdir, `pbvm-code-${uid ?? 'user'}`, `${p.sha}.ts`))).toBe(true);
  });
});
