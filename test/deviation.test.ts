import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli, tempRoot, type CliRun } from './support/cli.js';
import { compileSource } from '../compiler/compile.js';
import { formatDiagnostics } from '../compiler/diagnostics.js';
import { AnthropicModel } from '../src/providers/anthropic.js';
import { runProgram } from '../src/run.js';
import { LocalDirLibrary } from '../src/library.js';
import { nodeSourceHost } from '../src/source-host.js';
import { decodeJournal } from '../vm/durable/journal.js';
import type { Program } from '../vm/pbasm/program.js';
import type { ModelHost, RunnerIO, RunOutcome } from '../vm/runner.js';
import { minimalResponder, startFakeAnthropic, type FakeAnthropic, type RecordedRequest, type Reply, type Responder } from './support/fake-anthropic.js';
import { lastToolResults, promptText, toolHistory, turnOf } from './support/model-script.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const FIX = join(REPO, 'test/fixtures/deviation');
const fix = (name: string) => join(FIX, name);
const TOOLS = fix('tools.ts');

const tmp = tempRoot('pb-deviation-');
let work = '';
let library = '';
let files: { calls: string; mark: string };
let fake: FakeAnthropic;
beforeEach(async () => {
  fake = await startFakeAnthropic();
  work = tmp('work');
  library = join(work, 'library');
  files = { calls: join(work, 'calls.log'), mark: join(work, 'slow.mark') };
  process.env.DEV_CALLS = files.calls;
  process.env.DEV_SLOW_MARK = files.mark;
});
afterEach(async () => {
  await fake.close();
});

const read = (path: string) => (existsSync(path) ? readFileSync(path, 'utf8') : '');
const toolCalls = () => read(files.calls).split('\n').filter((l) => l !== '');

function compileFile(path: string): Program {
  const r = compileSource(readFileSync(path, 'utf8'), path, { host: nodeSourceHost });
  if (!r.program) throw new Error(`${path} does not compile:\n${formatDiagnostics(r.diagnostics, r.sources)}`);
  return r.program;
}
function collectingIO(inputs: string[] = []): { io: RunnerIO; out: string[] } {
  const out: string[] = [];
  const queue = inputs.slice();
  return { out, io: { writeLines: (lines) => out.push(...lines), readLine: async () => queue.shift() ?? null } };
}
const modelHost = (): ModelHost => ({
  model: new AnthropicModel({ apiKey: 'test', baseURL: fake.url, maxRetries: 1, timeoutMs: 5_000 }),
  phraseAsks: false,
});
const failure = (o: RunOutcome) => (o.status === 'failed' ? `${o.error.code}: ${o.error.message}` : '');

const forcedName = (r: RecordedRequest) => (r.body.tool_choice?.type === 'tool' ? r.body.tool_choice.name : undefined);
const isGenerate = (r: RecordedRequest) => forcedName(r) === 'write_playbook';
const goalOf = (r: RecordedRequest) => /^Goal: (.*)$/m.exec(promptText(r))?.[1] ?? '';
const genRequests = () => fake.messageRequests().filter(isGenerate);
const write = (source: string): Reply => ({ toolUse: { name: 'write_playbook', input: { source } } });

/** versions[v][attempt] */
function writer(rules: Array<[RegExp, string[][]]>, nl?: Responder): Responder {
  const minimal = minimalResponder({ tools: { phrase_question: { question: 'What is your answer?' } } });
  const started = new Map<string, number>();
  return (req, index) => {
    if (isGenerate(req)) {
      const goal = goalOf(req);
      const rule = rules.find(([re]) => re.test(goal));
      if (!rule) return { status: 500, shouldRetry: false, message: `test: no playbook scripted for goal ${JSON.stringify(goal)}` };
      if (turnOf(req) === 0) started.set(goal, (started.get(goal) ?? 0) + 1);
      const versions = rule[1];
      const v = versions[Math.min((started.get(goal) ?? 1) - 1, versions.length - 1)]!;
      return write(v[Math.min(turnOf(req), v.length - 1)]!);
    }
    if (req.body.tool_choice?.type === 'tool') return minimal(req, index);
    if (nl) return nl(req, index);
    return { toolUse: { name: 'finish_step', input: {} } };
  };
}

const half = (steps: string, params = '$n') => `## Half(${params})\nHalves a number.\n### Steps\n${steps}\n`;
const HALF_DIV0 = half('- Say f"half v1 got {$n}"\n- x = $n / 0\n- Return x');
const HALF_OK = half('- Say f"half v2 got {$n}"\n- Return $n / 2');

describe('explore', () => {
  it('div0', async () => {
    fake.setResponder(writer([[/^Halve a number$/, [[HALF_DIV0], [HALF_OK]]]]));
    const { io, out } = collectingIO();
    const warns: string[] = [];
    const { outcome, machine } = await runProgram(compileFile(fix('half.pb')), { io, model: modelHost(), tools: TOOLS, library, warn: (m) => warns.push(m) });
    console.log(outcome.status, failure(outcome), out, warns);
    for (const g of genRequests()) console.log('-----\n' + promptText(g));
    console.log(machine.linked.map((c) => [c.name, c.metadata.revision, c.metadata.unit, c.metadata.origin]));
  });
});
