// The published package: `npm pack` ships dist/ without tests, sources or source maps, plus the
// README, grammar/LANGUAGE.md and the LICENSE. A scratch project installs the tarball (from the
// npm cache when it has the dependencies), compiles the README's typed API example with tsc
// against the package's own types, and runs it; `require('pbvm')` works, and so does its `pb`.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO } from './support/cli.js';

let tmp: string;
let tarball: string;
let files: string[];
const consumer = () => join(tmp, 'consumer');

const npm = (args: string[], cwd: string) => execFileSync('npm', args, { cwd, encoding: 'utf8', env: { ...process.env, npm_config_update_notifier: 'false', npm_config_audit: 'false', npm_config_fund: 'false' }, stdio: ['ignore', 'pipe', 'pipe'] });

/** The README's ```ts block under "## Public API". */
function readmeExample(): string {
  const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Public API'));
  const m = /```ts\n([\s\S]*?)```/.exec(section);
  if (!m) throw new Error('README.md: no ```ts block in the Public API section');
  return m[1]!;
}

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'pbvm-package-'));
  // dist/ is already built (npm test's pretest); --ignore-scripts skips prepack's clean rebuild,
  // which would pull dist/ away from under the other test files running now.
  const packed = JSON.parse(npm(['pack', '--ignore-scripts', '--json', '--pack-destination', tmp], REPO)) as Array<{ filename: string; files: Array<{ path: string }> }>;
  tarball = join(tmp, packed[0]!.filename);
  files = packed[0]!.files.map((f) => f.path);
  mkdirSync(consumer());
  writeFileSync(join(consumer(), 'package.json'), JSON.stringify({ name: 'pbvm-consumer', version: '1.0.0', private: true, type: 'module' }, null, 2));
  // The dependencies come from the npm cache when it has them (CI's npm ci fills it), else the registry.
  npm(['install', '--prefer-offline', '--no-package-lock', tarball], consumer());
}, 300_000);

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('npm pack', () => {
  it('ships dist/ without tests, sources or maps, and the README, LANGUAGE.md and LICENSE', () => {
    expect(files).toEqual(expect.arrayContaining(['LICENSE', 'README.md', 'grammar/LANGUAGE.md', 'package.json', 'dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/cli/main.js']));
    const unwanted = files.filter((f) => f.startsWith('test/') || f.startsWith('dist/test/') || f.endsWith('.map') || (f.endsWith('.ts') && !f.endsWith('.d.ts')) || f.startsWith('examples/'));
    expect(unwanted).toEqual([]);
    expect(files.every((f) => /^(dist\/(src|compiler|vm|stdlib|grammar)\/|LICENSE$|README\.md$|grammar\/LANGUAGE\.md$|package\.json$)/.test(f)), files.join('\n')).toBe(true);
    expect(readFileSync(join(REPO, 'LICENSE'), 'utf8')).toMatch(/^MIT License/);
  });

  it('package.json has an exports map with types, and MIT as its license', () => {
    const pkg = JSON.parse(readFileSync(join(consumer(), 'node_modules/pbvm/package.json'), 'utf8')) as Record<string, any>;
    expect(pkg.license).toBe('MIT');
    expect(pkg.exports['.']).toEqual({ types: './dist/src/index.d.ts', default: './dist/src/index.js' });
    expect(pkg.types).toBe('dist/src/index.d.ts');
  });
});

describe('a project that installs the tarball', () => {
  it("compiles the README's typed example with tsc against the package's types, and runs it", () => {
    const dir = consumer();
    writeFileSync(join(dir, 'example.ts'), readmeExample());
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { target: 'ES2022', module: 'nodenext', moduleResolution: 'nodenext', strict: true, skipLibCheck: false, outDir: 'out', types: ['node'], typeRoots: [join(REPO, 'node_modules/@types')] },
        files: ['example.ts'],
      }),
    );
    const tsc = spawnSync(process.execPath, [join(REPO, 'node_modules/typescript/bin/tsc'), '-p', dir], { cwd: dir, encoding: 'utf8' });
    expect(tsc.status, `${tsc.stdout}${tsc.stderr}`).toBe(0);
    const run = spawnSync(process.execPath, [join(dir, 'out/example.js')], { cwd: dir, encoding: 'utf8', env: { ...process.env, PB_STATE: join(tmp, 'state') } });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toBe('said: Please provide name:\nsaid: Hello, Ada!\nhalted; exit code 0\nrun status: halted\n');
  });

  it("require('pbvm') works (no top-level await in the module graph) and exports the error classes", () => {
    const script = "const pb = require('pbvm'); const names = ['compileSource', 'runProgram', 'PbRuntimeError', 'ModelError', 'StateError', 'LoadError', 'ReplayModel', 'ReplayFileError', 'EXIT', 'VERSION']; console.log(names.map((n) => `${n}:${typeof pb[n]}`).join(' ')); console.log(JSON.stringify(pb.EXIT));";
    const r = spawnSync(process.execPath, ['-e', script], { cwd: consumer(), encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe('compileSource:function runProgram:function PbRuntimeError:function ModelError:function StateError:function LoadError:function ReplayModel:function ReplayFileError:function EXIT:object VERSION:string\n{"ok":0,"compile":1,"usage":2,"runtime":3,"io":4,"interrupted":130,"terminated":143,"internal":70}\n');
  });

  it('its pb command runs a program and reports the package version', () => {
    const pb = join(consumer(), 'node_modules/.bin/pb');
    const version = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version;
    expect(execFileSync(pb, ['--version'], { encoding: 'utf8' })).toBe(`${version}\n`);
    const r = spawnSync(pb, ['run', join(REPO, 'examples/hello.pb')], { input: 'Ada\n', encoding: 'utf8', env: { ...process.env, ANTHROPIC_API_KEY: '' } });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('Nice to meet you, Ada!');
  });
});
