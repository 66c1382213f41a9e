// `npm run bench`: compile throughput, VM dispatch speed (against CPython in the same run),
// snapshot cost, and journal overhead. Prints medians of several runs; figures go in the README.
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileSource } from '../../compiler/compile.js';
import { identifierFor } from '../../compiler/declarations.js';
import { Op, OPCODES } from '../../vm/pbasm/opcodes.js';
import type { CodeObject, Program } from '../../vm/pbasm/program.js';
import { Machine } from '../../vm/machine.js';
import { Runner } from '../../vm/runner.js';
import { captureMachine, decodeSnapshot, encodeSnapshot, restoreMachine } from '../../vm/durable/snapshot.js';
import { runProgram } from '../../src/run.js';
import { ALL_TOOLS, SYSTEM_RULES } from '../../vm/model/prompt.js';
import type { Model, ModelReply, ModelRequest } from '../../vm/model/protocol.js';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..', '..', '..'); // dist/test/bench → repo root
const corpusDir = join(repo, '..', 'shared', 'corpus', 'playbooks-ai');
const only = process.argv.slice(2);
const want = (name: string) => only.length === 0 || only.includes(name);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function time<T>(f: () => T): [number, T] {
  const t0 = performance.now();
  const r = f();
  return [performance.now() - t0, r];
}

function compileOrThrow(text: string, path: string): Program {
  const r = compileSource(text, path);
  if (!r.program) throw new Error(`${path}: ${r.diagnostics.map((d) => d.message).join('; ')}`);
  return r.program;
}

const report: string[] = [];
const say = (line: string) => {
  report.push(line);
  process.stdout.write(`${line}\n`);
};

function corpusFiles(): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  const walk = (d: string) => {
    for (const f of readdirSync(d).sort()) {
      const p = join(d, f);
      if (statSync(p).isDirectory()) walk(p);
      else if (p.endsWith('.pb')) out.push([relative(repo, p), readFileSync(p, 'utf8')]);
    }
  };
  walk(corpusDir);
  return out;
}

/** A large program made of copies of the corpus programs, agents renamed so every name is unique. */
function generatedProgram(files: Array<[string, string]>, minLines: number): string {
  const chunks: string[] = [];
  let lines = 0;
  let copy = 0;
  while (lines < minLines) {
    for (const [, text] of files) {
      if (/```python|!import/.test(text)) continue;
      let body = text.replace(/^---[\s\S]*?\n---\n/, '');
      const titles = [...body.matchAll(/^# (.+)$/gm)].map((m) => m[1]!.trim());
      if (titles.length === 0) continue;
      body = body.replace(/^# (.+?)\s*$/gm, (_m, t: string) => `# ${t} C${copy}`);
      for (const ident of new Set(titles.map(identifierFor))) {
        body = body.replace(new RegExp(`\\b${escapeRe(ident)}\\.`, 'g'), `${ident}C${copy}.`);
      }
      chunks.push(body);
      lines += body.split('\n').length;
      copy++;
      if (lines >= minLines) break;
    }
  }
  return chunks.join('\n');
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function benchCompile(): void {
  const files = corpusFiles();
  const bytes = files.reduce((n, [, t]) => n + Buffer.byteLength(t), 0);
  for (let i = 0; i < 10; i++) for (const [p, t] of files) compileSource(t, p);
  const runs: number[] = [];
  for (let i = 0; i < 21; i++) runs.push(time(() => files.forEach(([p, t]) => compileSource(t, p)))[0]);
  const corpusMs = median(runs);
  say(`compile: corpus ${files.length} programs, ${(bytes / 1024).toFixed(1)} KiB: median ${corpusMs.toFixed(1)} ms (${(bytes / 1e6 / (corpusMs / 1000)).toFixed(2)} MB/s), 0 tokens  [target < 100 ms]`);

  const big = generatedProgram(files, 50_000);
  const bigBytes = Buffer.byteLength(big);
  const bigLines = big.split('\n').length;
  const check = compileSource(big, 'generated.pb');
  if (check.errorCount) throw new Error(`generated program has errors: ${check.diagnostics.find((d) => d.severity === 'error')?.message}`);
  for (let i = 0; i < 3; i++) compileSource(big, 'generated.pb');
  const bigRuns: number[] = [];
  for (let i = 0; i < 15; i++) bigRuns.push(time(() => compileSource(big, 'generated.pb'))[0]);
  const ms = median(bigRuns);
  say(
    `compile: generated program ${bigLines} lines, ${(bigBytes / 1e6).toFixed(2)} MB: median ${ms.toFixed(0)} ms = ${(bigBytes / 1e6 / (ms / 1000)).toFixed(2)} MB/s, ${Math.round(bigLines / (ms / 1000)).toLocaleString('en')} lines/s  [target >= 5 MB/s]`,
  );

  // One step holding a 1 MB list literal (numbers, strings, negative floats, small objects):
  // the expression parser's throughput on data, which grows linearly with its size.
  const items: string[] = [];
  for (let i = 0, len = 0; len < 1_000_000; i++) {
    const item = i % 4 === 0 ? String(i) : i % 4 === 1 ? `"item ${i}"` : i % 4 === 2 ? `-${i}.5` : `{"id": ${i}}`;
    items.push(item);
    len += item.length + 2;
  }
  const literal = `# Data\n## Main\n### Steps\n- $rows = [${items.join(', ')}]\n- Say len($rows)\n`;
  const literalBytes = Buffer.byteLength(literal);
  compileOrThrow(literal, 'literal.pb');
  const literalRuns: number[] = [];
  for (let i = 0; i < 5; i++) literalRuns.push(time(() => compileSource(literal, 'literal.pb'))[0]);
  const literalMs = median(literalRuns);
  say(`compile: one list literal of ${items.length.toLocaleString('en')} items, ${(literalBytes / 1e6).toFixed(2)} MB: median ${literalMs.toFixed(0)} ms = ${(literalBytes / 1e6 / (literalMs / 1000)).toFixed(2)} MB/s`);
}

/** Instructions per iteration of the program's only While loop (from JUMP back-edge to its target). */
function loopInstructions(code: CodeObject): number {
  for (let pc = 0; pc < code.code.length; pc += 1 + OPCODES[code.code[pc] as Op].operands.length) {
    if (code.code[pc] === Op.JUMP && code.code[pc + 1]! < pc) {
      let n = 0;
      for (let q = code.code[pc + 1]!; q <= pc; q += 1 + OPCODES[code.code[q] as Op].operands.length) n++;
      return n;
    }
  }
  throw new Error('no loop');
}

function benchDispatch(): void {
  const N = 2_000_000;
  const src = `# Loop\n## Main\n### Steps\n- i = 0\n- total = 0\n- While i < ${N}\n  - total = total + i\n  - i = i + 1\n- Return total\n`;
  const program = compileOrThrow(src, 'loop.pb');
  const code = program.agents[0]!.playbooks[0]!;
  const perIter = loopInstructions(code);
  const instructions = perIter * N;
  const runOnce = () => {
    const m = new Machine(program);
    const r = m.run();
    if (r.kind !== 'end' || r.value !== (N * (N - 1)) / 2) throw new Error(`wrong loop result ${JSON.stringify(r)}`);
  };
  runOnce();
  const ours: number[] = [];
  for (let i = 0; i < 7; i++) ours.push(time(runOnce)[0]);
  const ms = median(ours);
  const py = `import time\nN=${N}\nbest=[]\nfor _ in range(5):\n  t=time.perf_counter()\n  i=0\n  total=0\n  while i < N:\n    total = total + i\n    i = i + 1\n  best.append(time.perf_counter()-t)\nbest.sort()\nprint(best[2]*1000)\n`;
  let pyMs = NaN;
  try {
    pyMs = Number(execFileSync('python3', ['-c', py], { encoding: 'utf8' }).trim());
  } catch {
    // python3 missing: report ours only.
  }
  say(
    `vm: While loop, ${N.toLocaleString('en')} iterations x ${perIter} instructions = ${(instructions / 1e6).toFixed(0)} M instructions: median ${ms.toFixed(0)} ms = ${(instructions / 1e6 / (ms / 1000)).toFixed(0)} M instr/s  [target >= 50 M/s]`,
  );
  if (!Number.isNaN(pyMs)) say(`vm: same loop in CPython (python3, same run): median ${pyMs.toFixed(0)} ms; pbvm is ${(pyMs / ms).toFixed(2)}x CPython's speed`);
}

function benchSnapshot(): void {
  // 100 frames deep, each with 100 locals: 10,000 variables; the innermost frame waits on an Ask.
  const locals = Array.from({ length: 101 }, (_, i) => `  - v${i} = n * ${i} + ${i}`).join('\n');
  const src = `# Deep\n## Main\n### Steps\n- Deep(99)\n\n## Deep($n)\n### Steps\n${locals.replace(/^  /gm, '')}\n- If $n > 1\n  - Deep($n - 1)\n- Ask user for $answer\n`;
  const program = compileOrThrow(src, 'deep.pb');
  const m = new Machine(program);
  const effect = m.run();
  if (effect.kind !== 'ask' || m.frames.length !== 100) throw new Error(`expected 100 frames waiting on ask, got ${m.frames.length}`);
  const variables = m.frames.reduce((n, f) => n + f.locals.filter((v) => v !== undefined).length, 0);
  const snap = () => encodeSnapshot({ runId: m.runId, programSha: 'x', machine: captureMachine(m), journalRecords: 0, takenAt: '', host: {} });
  let bytes = snap();
  for (let i = 0; i < 20; i++) bytes = snap();
  const enc: number[] = [];
  const dec: number[] = [];
  for (let i = 0; i < 31; i++) {
    enc.push(time(snap)[0]);
    dec.push(time(() => restoreMachine(program, decodeSnapshot(bytes).machine))[0]);
  }
  say(
    `snapshot: ${m.frames.length} frames, ${variables.toLocaleString('en')} variables: ${(bytes.length / 1024).toFixed(0)} KiB; snapshot median ${median(enc).toFixed(2)} ms, restore median ${median(dec).toFixed(2)} ms  [target <= 5 ms each]`,
  );
}

async function benchJournal(): Promise<void> {
  const src = `# Journal\n## Main\n### Steps\n- For each i in range(100000)\n  - If i % 100 == 0\n    - Say f"line {i}"\n`;
  const program = compileOrThrow(src, 'journal.pb');
  const sink = { writeLines: (_lines: string[]) => {}, readLine: async () => null };
  const plain = async () => {
    const r = await new Runner(new Machine(program), { io: sink }).run();
    if (r.status !== 'finished') throw new Error('journal bench failed');
  };
  const root = mkdtempSync(join(tmpdir(), 'pbvm-bench-'));
  let k = 0;
  const durable = async () => {
    const r = await runProgram(program, { io: sink, state: join(root, `run${k++}`) });
    if (r.outcome.status !== 'finished') throw new Error('journal bench failed');
  };
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < 3; i++) {
    await plain();
    await durable();
  }
  for (let i = 0; i < 15; i++) {
    let t = performance.now();
    await plain();
    a.push(performance.now() - t);
    t = performance.now();
    await durable();
    b.push(performance.now() - t);
  }
  rmSync(root, { recursive: true, force: true });
  const steps = new Machine(program);
  await new Runner(steps, { io: sink }).run();
  const ma = median(a);
  const mb = median(b);
  say(
    `journal: ${steps.steps.toLocaleString('en')}-step program saying 1 line per 100 steps: without --state ${ma.toFixed(2)} ms, with --state ${mb.toFixed(2)} ms (+${(((mb - ma) / ma) * 100).toFixed(1)}%; fixed cost of creating the state dir included)  [target <= 15%]`,
  );
  await benchOutputHeavy();
}

/**
 * The price of the one-line loss window: a durable run journals each line just before it
 * writes it (two system calls a line), where a run without --state writes a batch at once.
 * Lines go to /dev/null through real writes, as they would to a pipe or a file.
 */
async function benchOutputHeavy(): Promise<void> {
  const N = 20_000;
  const program = compileOrThrow(`# Chatty\n## Main\n### Steps\n- For each i in range(${N})\n  - Say f"line {i} of the output-heavy loop"\n`, 'chatty.pb');
  const fd = openSync('/dev/null', 'w');
  const io = { writeLines: (lines: string[]) => void writeSync(fd, `${lines.join('\n')}\n`), readLine: async () => null };
  const root = mkdtempSync(join(tmpdir(), 'pbvm-bench-'));
  let k = 0;
  const plain = async () => {
    const r = await new Runner(new Machine(program), { io }).run();
    if (r.status !== 'finished') throw new Error('output bench failed');
  };
  const durable = async () => {
    const r = await runProgram(program, { io, state: join(root, `out${k++}`) });
    if (r.outcome.status !== 'finished') throw new Error('output bench failed');
  };
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < 2; i++) {
    await plain();
    await durable();
  }
  for (let i = 0; i < 9; i++) {
    a.push((await timeAsync(plain))[0]);
    b.push((await timeAsync(durable))[0]);
  }
  closeSync(fd);
  rmSync(root, { recursive: true, force: true });
  const ma = median(a);
  const mb = median(b);
  say(`journal: output-heavy loop, ${N.toLocaleString('en')} Says to /dev/null: without --state ${ma.toFixed(0)} ms, with --state ${mb.toFixed(0)} ms = ${(((mb - ma) / N) * 1000).toFixed(1)} us more per line (each line journaled before it is written: a kill loses at most one line)`);
}

async function timeAsync<T>(f: () => Promise<T>): Promise<[number, T]> {
  const t0 = performance.now();
  const r = await f();
  return [performance.now() - t0, r];
}

/** A model that answers instantly in-process: what is left is the VM's own time per step. */
class InstantModel implements Model {
  readonly id = 'instant';
  sizes: number[] = [];
  async complete(request: ModelRequest): Promise<ModelReply> {
    this.sizes.push(JSON.stringify(request).length);
    const forced = request.tool_choice?.type === 'tool' ? request.tool_choice.name : undefined;
    const last = request.messages[request.messages.length - 1]!;
    const answered = last.content.some((b) => b.type === 'tool_result');
    const content: ModelReply['content'] = answered
      ? [{ type: 'text', text: 'done' }]
      : forced
      ? [{ type: 'tool_use', id: `t${this.sizes.length}`, name: forced, input: forced === 'provide_list' ? { items: [] } : forced === 'decide' ? { answer: false } : { value: 1 } }]
      : [{ type: 'tool_use', id: `t${this.sizes.length}`, name: 'say', input: { message: `Item summary number ${this.sizes.length}.` } }];
    return { content, stop_reason: 'tool_use', usage: { input_tokens: 0, output_tokens: 0 }, model: 'instant' };
  }
}

async function benchModel(): Promise<void> {
  const fixed = SYSTEM_RULES.length + JSON.stringify(ALL_TOOLS).length;
  say(`model: fixed prompt overhead per call (system rules + tool definitions) = ${Math.ceil(fixed / 4)} tokens at 4 chars/token (${fixed} chars)  [target <= 1,500; Playbooks AI's system prompt alone is 20,032 bytes = 5,008 tokens]`);

  const N = 1000;
  const src = `# Looper\nSummarizes items.\n\n## Main\n### Steps\n- For each i in range(${N})\n  - Tell the user a one-line summary of item {i}\n- End program\n`;
  const program = compileOrThrow(src, 'looper.pb');
  const sink = { writeLines: (_l: string[]) => {}, readLine: async () => null };
  const instant = new InstantModel();
  const t0 = performance.now();
  const r = await new Runner(new Machine(program), { io: sink, model: { model: instant } }).run();
  const ms = performance.now() - t0;
  if (r.status === 'failed') throw new Error(r.error.message);
  const at10 = instant.sizes[9]!;
  const largestLate = Math.max(...instant.sizes.slice(N - 10));
  say(`model: ${N}-iteration For each with one NL step: request at iteration 10 = ${at10} chars, largest of the last 10 (990-1000) = ${largestLate} chars, ratio ${(largestLate / at10).toFixed(3)}  [target <= 1.2]`);
  say(`model: VM time per NL step with an instant in-process model (prompt building, context, dispatch; no SDK or HTTP): ${((ms / N) * 1000).toFixed(0)} us  [target <= 2 ms]`);

  const { startFakeAnthropic, minimalResponder } = await import('../support/fake-anthropic.js');
  const { AnthropicModel } = await import('../../src/providers/anthropic.js');
  const server = await startFakeAnthropic({ responder: minimalResponder() });
  try {
    const M = 200;
    const p2 = compileOrThrow(src.replace(`range(${N})`, `range(${M})`), 'looper.pb');
    const t1 = performance.now();
    const r2 = await new Runner(new Machine(p2), { io: sink, model: { model: new AnthropicModel({ apiKey: 'bench', baseURL: server.url }) } }).run();
    const total = performance.now() - t1;
    if (r2.status === 'failed') throw new Error(r2.error.message);
    const serverMs = server.messageRequests().reduce((n, q) => n + ((q as { handledMs?: number }).handledMs ?? 0), 0);
    say(`model: same loop through the real SDK and the loopback fake server (zero latency): ${((total / M) * 1000).toFixed(0)} us per NL step incl. SDK and HTTP${serverMs ? `, ${(((total - serverMs) / M) * 1000).toFixed(0)} us excluding server time` : ''}`);
  } finally {
    await server.close();
  }
}

/** A generated playbook of `steps` steps: assignments, branches, a loop, says and calls. */
function generatedSource(steps: number): string {
  const lines = ['## Digest($items, limit = 3)', 'Summarizes a list of items for the on-call engineer.', '### Steps', '- total = 0', '- seen = []'];
  let n = 2;
  while (n + 5 <= steps - 1) {
    const k = n;
    lines.push(`- For each item in $items`, `  - If len(seen) < limit and item not in seen`, `    - seen = append(seen, item)`, `  - total = total + Weight(item, ${k})`);
    lines.push(`- Say f"checkpoint ${k}: {total}"`);
    n += 5;
  }
  while (n < steps - 1) {
    lines.push(`- total = total + ${n}`);
    n++;
  }
  lines.push('- Return f"{len(seen)} items, weight {total}"');
  return `${lines.join('\n')}\n`;
}

async function benchGenerate(): Promise<void> {
  const { compileGenerated, ModelPlaybookGenerator, DEFAULT_GENERATOR } = await import('../../src/generate.js');
  const { benchLookup } = await import('../../src/library.js');
  const host = compileOrThrow('# Bench\n## Main\n### Steps\n- Say "hi"\n\n## Weight($item, k)\n### Steps\n- Return len($item) + k\n', 'bench.pb');
  const source = generatedSource(50);
  const request = {
    goal: 'summarize the items', name: 'Digest', agent: 'Bench', parent: 'Bench.Main', callable: ['Main', 'Weight'], listing: '- Weight($item, k)',
    taken: ['Main', 'Weight'], mayGenerate: false, step: '01', line: 4, file: 'bench.pb',
  };
  const probe = compileGenerated(request, source, DEFAULT_GENERATOR.maxBytes);
  const stepCount = probe.objects[0]!.steps.length;
  // Compile under the restricted profile, prepare the code objects, link them into a running machine.
  const link = () => {
    const m = new Machine(host);
    const t0 = performance.now();
    const g = compileGenerated(request, source, DEFAULT_GENERATOR.maxBytes);
    for (const o of g.objects) m.linkGenerated(o);
    const ms = performance.now() - t0;
    if (!m.lookup('Bench', g.entry)) throw new Error('not linked');
    return ms;
  };
  for (let i = 0; i < 30; i++) link();
  const direct = Array.from({ length: 300 }, link);
  // The whole host path from the reply: the generator reads the write_playbook reply, compiles, prepares.
  const reply: ModelReply = { content: [{ type: 'tool_use', id: 'w1', name: 'write_playbook', input: { source } }], stop_reason: 'tool_use', usage: { input_tokens: 0, output_tokens: 0 }, model: 'instant' };
  const instant = { model: 'instant', complete: async () => reply };
  const generator = new ModelPlaybookGenerator(DEFAULT_GENERATOR);
  const viaGenerator: number[] = [];
  for (let i = 0; i < 330; i++) {
    const m = new Machine(host);
    const t0 = performance.now();
    const g = await generator.generate(request, instant);
    for (const o of g.objects) m.linkGenerated(o);
    if (i >= 30) viaGenerator.push(performance.now() - t0);
  }
  say(`generate: model reply -> linked code object for a ${stepCount}-step playbook (${source.length} bytes): compile+link median ${median(direct).toFixed(3)} ms, through the generator (reply parsing, prompt, restricted compile, link) median ${median(viaGenerator).toFixed(3)} ms; model time excluded  [target <= 5 ms]`);

  const dir = mkdtempSync(join(tmpdir(), 'pbvm-bench-library-'));
  try {
    const r = benchLookup(dir);
    say(`generate: library lookup over ${r.entries.toLocaleString('en-US')} entries: median ${r.medianMs.toFixed(3)} ms, p90 ${r.p90Ms.toFixed(3)} ms, first lookup (reads the index) ${r.coldMs.toFixed(1)} ms; ${r.lookups} lookups, ${r.wrong} wrong  [target <= 10 ms]`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Calls: fib(27) in one playbook (317,810 calls), against the same function in CPython, same run. */
function benchCalls(): void {
  const N = 27;
  const src = `# Fib\n## Fib($n)\n### Steps\n- If $n < 2\n  - Return $n\n- Return Fib($n - 1) + Fib($n - 2)\n\n## Main\n### Steps\n- Return Fib(${N})\n`;
  const program = compileOrThrow(src, 'fib.pb');
  let count = 0;
  const f = (n: number): number => (count++, n < 2 ? n : f(n - 1) + f(n - 2));
  const want = f(N);
  const runOnce = () => {
    const m = new Machine(program, { maxDepth: 10_000 });
    const r = m.run();
    if (r.kind !== 'end' || r.value !== want) throw new Error(`wrong fib result ${JSON.stringify(r)}`);
  };
  runOnce();
  const ours: number[] = [];
  for (let i = 0; i < 5; i++) ours.push(time(runOnce)[0]);
  const ms = median(ours);
  const py = `import time\ndef fib(n):\n  return n if n < 2 else fib(n - 1) + fib(n - 2)\nbest=[]\nfor _ in range(5):\n  t=time.perf_counter()\n  fib(${N})\n  best.append(time.perf_counter()-t)\nbest.sort()\nprint(best[2]*1000)\n`;
  let pyMs = NaN;
  try {
    pyMs = Number(execFileSync('python3', ['-c', py], { encoding: 'utf8' }).trim());
  } catch {
    // python3 missing: report ours only.
  }
  say(`calls: fib(${N}), ${count.toLocaleString('en')} calls: median ${ms.toFixed(0)} ms = ${((ms * 1e6) / count).toFixed(0)} ns per call${Number.isNaN(pyMs) ? '' : `; CPython (a function, same run) ${pyMs.toFixed(0)} ms: pbvm takes ${(ms / pyMs).toFixed(2)}x its time`}  [target: faster than CPython]`);
}

/**
 * Messages between two instances in one VM: a ping-pong of ROUNDS round trips (every message
 * blocks its receiver's WaitForMessage, so each one costs a send, a receive and a context
 * switch), against the same messages sent by one instance to itself (no switch).
 */
function benchAgents(): void {
  const ROUNDS = 100_000;
  const pingPong = `# Ping\n## Main\n### Triggers\n- At the beginning\n### Steps\n- $peer = CreateAgent("Pong")\n- $i = 0\n- While $i < ${ROUNDS}\n  - SendMessage($peer, $i)\n  - $r = WaitForMessage($peer)\n  - $i = $i + 1\n- SendMessage($peer, -1)\n- Return $i\n\n# Pong\nstartup_mode: standby\n\n## Serve\n### Triggers\n- At the beginning\n### Steps\n- $go = True\n- While $go\n  - $m = WaitForMessage("Ping")\n  - If $m[0].content < 0\n    - $go = False\n  - Else\n    - SendMessage($m[0].sender, $m[0].content)\n`;
  const solo = `# Solo\n## Main\n### Triggers\n- At the beginning\n### Steps\n- $i = 0\n- While $i < ${ROUNDS}\n  - SendMessage("Solo", $i)\n  - $r = WaitForMessage("Solo")\n  - SendMessage("Solo", $i)\n  - $r = WaitForMessage("Solo")\n  - $i = $i + 1\n- Return $i\n`;
  const measure = (src: string, path: string) => {
    const program = compileOrThrow(src, path);
    const once = () => {
      const m = new Machine(program);
      let r = m.run();
      while (r.kind !== 'end') r = m.run();
      if (m.delivered !== 2 * ROUNDS + (path === 'ping.pb' ? 1 : 0)) throw new Error(`${path}: ${m.delivered} messages delivered`);
    };
    once();
    const xs: number[] = [];
    for (let i = 0; i < 5; i++) xs.push(time(once)[0]);
    return median(xs);
  };
  const pp = measure(pingPong, 'ping.pb');
  const one = measure(solo, 'solo.pb');
  const perMsg = (pp * 1e6) / (2 * ROUNDS);
  const perSolo = (one * 1e6) / (2 * ROUNDS);
  say(`agents: ping-pong between two instances, ${(2 * ROUNDS).toLocaleString('en')} messages: median ${pp.toFixed(0)} ms = ${Math.round((2 * ROUNDS) / (pp / 1000)).toLocaleString('en')} messages/s  [target >= 200,000/s]`);
  say(`agents: the same messages to itself (no switch): ${Math.round((2 * ROUNDS) / (one / 1000)).toLocaleString('en')} messages/s; a context switch costs about ${Math.max(0, perMsg - perSolo).toFixed(0)} ns (${perMsg.toFixed(0)} ns per message with it, ${perSolo.toFixed(0)} ns without)`);
}

async function main(): Promise<void> {
  say(`pbvm bench (node ${process.version}, ${new Date().toISOString().slice(0, 10)})`);
  if (want('compile')) benchCompile();
  if (want('vm')) benchDispatch();
  if (want('calls')) benchCalls();
  if (want('agents')) benchAgents();
  if (want('snapshot')) benchSnapshot();
  if (want('journal')) await benchJournal();
  if (want('model')) await benchModel();
  if (want('generate')) await benchGenerate();
}

await main();
