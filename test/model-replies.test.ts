// A run is never lost to what the model sends back (issue #10). The model is the REAL
// @anthropic-ai/sdk (through AnthropicModel) against the fake Messages API on loopback; CLI
// tests spawn the built CLI (dist/src/cli/main.js; `npm test` builds it first).
//
// 1. Malformed replies: a 200 reply that is not a Messages reply (content null, missing or a
//    string, a JSON null, an HTML page, a tool_use block without id or input) is retried
//    like any transient API fault, then stops the run with a clear, resumable error (exit 3,
//    no stack trace); it is never journaled. A malformed reply journaled by an older build is
//    asked for again on resume. An empty reply is answered, not sent back empty.
// 2. Failures decided by the replies themselves — a step the model did not finish within its
//    turns, a playbook rejected on every attempt — are retried afresh by `pb resume` (a
//    'retry' record, vm/durable/retry.ts): new model calls, the failed attempt's printed
//    lines and tool calls not repeated, its variables undone, and the model told what it did.
import { existsSync, readFileSync, appendFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Anthropic from '@anthropic-ai/sdk';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { compileFile, collectingIO } from './support/in-process.js';
import { runCli, tempRoot, type CliRun } from './support/cli.js';
import { AnthropicModel } from '../src/providers/anthropic.js';
import { resumeRun, runProgram } from '../src/run.js';
import { decodeJournal, encodeRecord, type JournalRecord } from '../vm/durable/journal.js';
import { Machine } from '../vm/machine.js';
import { addRetry, attemptsAt, describeAttempts, seqSkips, type Retry } from '../vm/durable/retry.js';
import type { ModelHost, RunOutcome } from '../vm/runner.js';
import { faultInjector, MALFORMED_REPLY_KINDS, startFakeAnthropic, type FakeAnthropic, type RecordedRequest, type Responder } from './support/fake-anthropic.js';
import { instructionOf, sayingModel, stepOf, turnOf } from './support/model-script.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const FIX = join(REPO, 'test/fixtures/model-replies');
const fix = (name: string) => join(FIX, name);
const TOOLS = fix('tools.ts');

const EXIT_OK = 0;
const EXIT_RUNTIME = 3;

const tmp = tempRoot('pb-replies-');

let fake: FakeAnthropic;
let work = '';
let callsFile = '';
beforeEach(async () => {
  fake = await startFakeAnthropic();
  work = tmp('work');
  callsFile = join(work, 'calls.log');
  // In-process runs load the tools module into this process; it reads this at call time.
  process.env.REPLIES_CALLS = callsFile;
});
afterEach(async () => {
  await fake.close();
});



type Opts = { maxRetries?: number; maxTurns?: number; library?: string; inputs?: string[] };

const modelHost = (opts: { maxRetries?: number; maxTurns?: number } = {}): ModelHost => ({
  model: new AnthropicModel({ apiKey: 'test', baseURL: fake.url, maxRetries: opts.maxRetries ?? 2, timeoutMs: 5_000 }),
  phraseAsks: false,
  ...(opts.maxTurns ? { driver: { maxTurns: opts.maxTurns } } : {}),
});

const failure = (o: RunOutcome) => (o.status === 'failed' ? `${o.error.code}: ${o.error.message}` : '');

async function run(file: string, state: string, opts: Opts = {}) {
  const { io, out } = collectingIO(opts.inputs);
  const { outcome, machine } = await runProgram(compileFile(file), { io, model: modelHost(opts), tools: TOOLS, state, library: opts.library ?? join(work, 'library') });
  return { outcome, machine, out };
}

async function resume(state: string, opts: Opts = {}) {
  const { io, out } = collectingIO(opts.inputs);
  const { outcome, machine } = await resumeRun(state, { io, model: modelHost(opts), tools: TOOLS, library: opts.library ?? join(work, 'library') });
  return { outcome, machine, out };
}

const journal = (state: string): JournalRecord[] => decodeJournal(readFileSync(join(state, 'journal.pbj'))).records;
const modelRecords = (state: string) => journal(state).filter((r): r is Extract<JournalRecord, { t: 'model' }> => r.t === 'model');
const retryRecords = (state: string) => journal(state).filter((r): r is Extract<JournalRecord, { t: 'retry' }> => r.t === 'retry');
/** The tool side: every Log call as "<callId> <text>". */
const toolCalls = () => (existsSync(callsFile) ? readFileSync(callsFile, 'utf8') : '').split('\n').filter((l) => l !== '').map((l) => l.split(' ')).map(([, id, args]) => `${id} ${JSON.parse(args!)[0]}`);
const logged = () => toolCalls().map((c) => c.split(' ')[1]);

function pb(args: string[], opts: { killWhen?: () => boolean; killAfterMs?: number; retries?: number } = {}): Promise<CliRun> {
  const env = { ANTHROPIC_API_KEY: 'test', ANTHROPIC_BASE_URL: fake.url, PB_MODEL_RETRIES: String(opts.retries ?? 1), PB_MODEL_TIMEOUT_MS: '5000', REPLIES_CALLS: callsFile };
  const kill = opts.killWhen ? { killWhen: opts.killWhen, killAfterMs: opts.killAfterMs ?? 0 } : {};
  return runCli(args, { cwd: work, env, isolateModel: true, ...kill });
}
const lines = (s: string) => s.split('\n').filter((l) => l !== '');

/** order.pb's lines when each natural-language step says "line <step>". */
const ORDER_LINES = ['start', 'line 03', 'middle 2', 'line 05', 'end'];

// ---------------------------------------------------------------------------------------
// 1. Malformed replies

describe('the fake serves malformed 200 replies that the SDK hands over as they are', () => {
  it('each kind, seen through the raw SDK (no retry: the SDK retries only HTTP errors)', async () => {
    const client = new Anthropic({ apiKey: 'test', baseURL: fake.url, maxRetries: 2 });
    const ask = async () => {
      try {
        return { data: await client.messages.create({ model: 'm', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] }) as unknown };
      } catch (err) {
        return { error: `${(err as Error).name}: ${(err as Error).message}` };
      }
    };
    const seen: Record<string, unknown> = {};
    for (const kind of MALFORMED_REPLY_KINDS) {
      fake.script({ malformedReply: kind });
      const r = await ask();
      seen[kind] = 'error' in r ? r.error.split(':')[0] : r.data === null ? null : typeof r.data === 'string' ? 'string' : typeof (r.data as { content?: unknown }).content === 'string' ? 'string content' : (r.data as { content?: unknown }).content === null ? 'null content' : Array.isArray((r.data as { content?: unknown }).content) ? 'blocks' : 'no content';
    }
    expect(seen).toEqual({ 'null-content': 'null content', 'missing-content': 'no content', 'string-content': 'string content', 'null-body': null, html: 'string', 'html-as-json': 'SyntaxError', 'bad-block': 'blocks' });
    expect(fake.requests).toHaveLength(MALFORMED_REPLY_KINDS.length);
  });
});

describe('a malformed reply is a transient model fault, never journaled', () => {
  it.each(MALFORMED_REPLY_KINDS)('a %s reply is retried and the run goes on; the journal holds only valid replies', async (kind) => {
    fake.setResponder(sayingModel((s) => `line ${s}`));
    fake.script({ malformedReply: kind });
    const state = join(work, 'state');
    const { outcome, out } = await run(fix('order.pb'), state);
    expect(outcome.status, failure(outcome)).toBe('finished');
    expect(out).toEqual(ORDER_LINES);
    // The malformed reply, the retry of the same request, and step 05.
    expect(fake.requests.map((r) => `${stepOf(r)} ${r.outcome}`)).toEqual(['03 raw', '03 message', '05 message']);
    const replies = modelRecords(state).map((r) => r.reply as { content?: unknown });
    expect(replies).toHaveLength(2);
    for (const r of replies) expect(Array.isArray(r.content)).toBe(true);
  });

  it('replies that stay malformed stop the run with a one-line resumable error (exit 3); resume finishes once the API recovers', async () => {
    fake.setResponder(() => ({ malformedReply: 'null-content' }));
    const state = join(work, 'state');
    const a = await pb(['run', fix('order.pb'), '--tools', TOOLS, '--state', state]);
    expect(a.code, a.stderr).toBe(EXIT_RUNTIME);
    expect(a.stderr).toMatch(/order\.pb:14:\d+: error: model call for step 03 \(\w+\) failed: the API sent 2 invalid replies in a row: the reply's content is null, not a list of content blocks \(HTTP 200, application\/json\)/);
    expect(a.stderr, 'a stack trace').not.toMatch(/^\s+at /m);
    expect(a.stderr).toContain(`pb resume ${state}`);
    expect(lines(a.stdout)).toEqual(['start']);
    expect(fake.requests).toHaveLength(2);
    expect(modelRecords(state)).toEqual([]);

    // An HTML error page with status 200 is reported as what it is.
    fake.setResponder(() => ({ malformedReply: 'html' }));
    const b = await pb(['resume', state]);
    expect(b.code, b.stderr).toBe(EXIT_RUNTIME);
    expect(b.stderr).toMatch(/error: model call for step 03 \(\w+\) failed: the API sent 2 invalid replies in a row: the reply is a string \("<html><head><title>502 Bad Gateway[^)]*\), not a message object \(HTTP 200, text\/html; charset=utf-8\)/);
    expect(b.stderr, 'a stack trace').not.toMatch(/^\s+at /m);

    fake.setResponder(sayingModel((s) => `line ${s}`));
    const c = await pb(['resume', state]);
    expect(c.code, c.stderr).toBe(EXIT_OK);
    expect([...lines(a.stdout), ...lines(b.stdout), ...lines(c.stdout)]).toEqual(ORDER_LINES);
  });

  it('a malformed reply journaled by an older build is asked for again on resume, not replayed into a crash', async () => {
    // Step 03 is answered, step 05 fails for good: the run stops there, resumable.
    fake.setResponder((req) => (stepOf(req) === '05' ? { status: 500, shouldRetry: false } : sayingModel((s) => `line ${s}`)(req, 0)));
    const state = join(work, 'state');
    const first = await run(fix('order.pb'), state, { maxRetries: 0 });
    expect(first.outcome.status === 'failed' && first.outcome.error.code).toBe('model-error');
    // What an older build journaled for step 05's call before its driver crashed on it.
    const seq = first.machine.seq;
    appendFileSync(join(state, 'journal.pbj'), encodeRecord({ t: 'model', seq, reply: { content: null, stop_reason: 'end_turn', usage: { input_tokens: 1, output_tokens: 1 }, model: 'm' } }));
    fake.setResponder(sayingModel((s) => `line ${s}`));
    const before = fake.requests.length;
    const second = await resume(state);
    expect(second.outcome.status, failure(second.outcome)).toBe('finished');
    expect([...first.out, ...second.out]).toEqual(ORDER_LINES);
    expect(fake.requests.slice(before).map((r) => stepOf(r))).toEqual(['05']);
  });

  it('an empty reply to a forced tool is answered and asked again, never sent back as an empty assistant turn', async () => {
    fake.setResponder((req) => (turnOf(req) === 0 ? { content: [] } : { toolUse: { name: 'decide', input: { answer: true } } }));
    const { outcome, out } = await run(fix('decide.pb'), join(work, 'state'));
    expect(outcome.status, failure(outcome)).toBe('finished');
    expect(out).toEqual(['start', 'good', 'end']);
    expect(fake.requests.map((r) => r.outcome)).toEqual(['message', 'message']);
  });

  it('at 50% malformed replies (each kind in turn) a run completes, every line once', async () => {
    // Seed 9: two faults in a row on each step's call (the SDK's 2 retries get past them).
    const inject = faultInjector(sayingModel((s) => `line ${s}`), { rate: 0.5, seed: 9, kinds: ['malformed_reply'], maxConsecutive: 2 });
    fake.setResponder(inject);
    const { outcome, out } = await run(fix('order.pb'), join(work, 'state'), { maxRetries: 2 });
    expect(outcome.status, failure(outcome)).toBe('finished');
    expect(out).toEqual(ORDER_LINES);
    expect(inject.injected).toHaveLength(4);
    expect(fake.requests.map((r) => `${stepOf(r)} ${r.outcome}`)).toEqual(['03 raw', '03 raw', '03 message', '05 raw', '05 raw', '05 message']);
  });
});

// ---------------------------------------------------------------------------------------
// 2. Failures decided by the replies: resume starts afresh

/** Requests of a fresh attempt carry the note about the failed ones. */
const isFresh = (r: RecordedRequest) => /Note: (An earlier attempt|\d+ earlier attempts) at this step stopped without finishing/.test(instructionOf(r));
const isOrderStep = (r: RecordedRequest) => stepOf(r) === '03';

/**
 * Step 03's model: while `stubborn`, each turn says a line, calls Log and sets $n, and never
 * finishes; otherwise it says "fresh" and finishes. Other steps say "line <step>".
 */
function orderModel(state: { stubborn: boolean; slowTurn?: number }): Responder {
  const normal = sayingModel((s) => `line ${s}`);
  let attempt = 0;
  return (req, index) => {
    if (!isOrderStep(req)) return normal(req, index);
    const turn = turnOf(req);
    if (turn === 0) attempt++;
    if (state.stubborn) {
      return {
        toolUses: [
          { name: 'say', input: { message: `attempt ${attempt} turn ${turn}` } },
          { name: 'call_playbook', input: { name: 'Log', args: { text: `a${attempt}t${turn}` } } },
          { name: 'set_variable', input: { name: '$n', value: 99 } },
        ],
      };
    }
    if (turn === 0) return { toolUses: [{ name: 'say', input: { message: 'fresh' } }, { name: 'call_playbook', input: { name: 'Log', args: { text: 'fresh' } } }] };
    const finish = { toolUse: { name: 'finish_step', input: {} } };
    return state.slowTurn === turn ? { delayMs: 3_000, after: finish } : finish;
  };
}

describe('a model failure decided by its replies is retried afresh on resume', () => {
  it('a step not finished within its turns: resume starts its conversation again (new model calls), twice over; nothing before it or done by it is repeated', async () => {
    const mode = { stubborn: true };
    fake.setResponder(orderModel(mode));
    const state = join(work, 'state');
    const first = await run(fix('order.pb'), state, { maxTurns: 3 });
    expect(failure(first.outcome)).toBe('model-error: the model did not finish step 03 within 3 turns');
    expect(first.out).toEqual(['start', 'attempt 1 turn 0', 'attempt 1 turn 1', 'attempt 1 turn 2']);
    const [r1] = retryRecords(state);
    expect(r1).toMatchObject({ reason: 'the model did not finish step 03 within 3 turns' });
    expect(r1!.did).toEqual(['said "attempt 1 turn 0"', 'called Log -> "logged a1t0"', 'said "attempt 1 turn 1"', 'called Log -> "logged a1t1"', 'said "attempt 1 turn 2"', 'called Log -> "logged a1t2"']);
    expect(r1!.toSeq).toBeGreaterThan(r1!.fromSeq);

    // Still stubborn: the resume asks the model anew (it does not replay the failure) and fails again.
    let before = fake.requests.length;
    const second = await resume(state, { maxTurns: 3 });
    expect(failure(second.outcome)).toBe('model-error: the model did not finish step 03 within 3 turns');
    const asked = fake.requests.slice(before);
    expect(asked.map((r) => `${stepOf(r)}#${turnOf(r)}`), 'the resume replayed the failed turns instead of starting afresh').toEqual(['03#0', '03#1', '03#2']);
    expect(second.out).toEqual(['attempt 2 turn 0', 'attempt 2 turn 1', 'attempt 2 turn 2']);
    // The fresh conversation was told what the failed one did (its effects stand).
    expect(instructionOf(asked[0]!)).toContain('Note: An earlier attempt at this step stopped without finishing (the model did not finish step 03 within 3 turns). This is a fresh start. What it did stands (it is not undone): said "attempt 1 turn 0"; called Log -> "logged a1t0";');
    const [, r2] = retryRecords(state);
    expect(r2!.fromSeq, 'the second attempt numbers its effects after the first').toBe(r1!.toSeq);

    mode.stubborn = false;
    before = fake.requests.length;
    const third = await resume(state, { maxTurns: 3 });
    expect(third.outcome.status, failure(third.outcome)).toBe('finished');
    expect(instructionOf(fake.requests[before]!)).toMatch(/Note: 2 earlier attempts at this step stopped without finishing .*said "attempt 1 turn 0".*said "attempt 2 turn 2"/);
    // $n is 2 again: the failed attempts' set_variable went with their conversations.
    expect(third.out).toEqual(['fresh', 'middle 2', 'line 05', 'end']);
    expect(logged()).toEqual(['a1t0', 'a1t1', 'a1t2', 'a2t0', 'a2t1', 'a2t2', 'fresh']);
    expect(new Set(toolCalls().map((c) => c.split(' ')[0])).size, 'a call id was reused').toBe(7);
    // The three attempts' model records do not share an effect number.
    const seqs = modelRecords(state).map((r) => r.seq);
    expect(new Set(seqs).size).toBe(seqs.length);
    await expect(resume(state)).rejects.toThrow(/the run has already ended \(finished/);
  });

  it('a playbook rejected 3 times: resume has it written afresh instead of replaying the rejections', async () => {
    let good = false;
    const DOUBLE = '## Double($n)\nDoubles a number.\n### Steps\n- Return $n * 2\n';
    fake.setResponder((req) => {
      if (req.body.tool_choice?.type === 'tool' && req.body.tool_choice.name === 'write_playbook') {
        return { toolUse: { name: 'write_playbook', input: { source: good ? DOUBLE : 'There is no playbook here.' } } };
      }
      return { toolUse: { name: 'finish_step', input: {} } };
    });
    const state = join(work, 'state');
    const first = await run(fix('generate.pb'), state);
    expect(failure(first.outcome)).toMatch(/^generation-error: GeneratePlaybook\("Double a number"\) failed: the model's playbook was rejected 3 times; last reason: /);
    expect(first.out).toEqual(['start']);
    expect(retryRecords(state)).toHaveLength(1);
    const written = fake.requests.length;
    expect(written).toBe(3);

    good = true;
    const second = await resume(state);
    expect(second.outcome.status, failure(second.outcome)).toBe('finished');
    expect(second.out).toEqual(['double of 4 is 8']);
    // One new write_playbook request, the first turn of a new conversation.
    expect(fake.requests.slice(written).map((r) => turnOf(r))).toEqual([0]);
  });

  it('a trigger check with no valid answer after 3 tries: resume judges it afresh', async () => {
    // A malformed answer (ids not a list) until `valid`; then T1 once (the refund), then none.
    let valid = false;
    let fired = 0;
    fake.setResponder((req) => {
      const forced = req.body.tool_choice?.type === 'tool' ? req.body.tool_choice.name : undefined;
      if (forced === 'fire_triggers') return { toolUse: { name: 'fire_triggers', input: !valid ? { ids: 'T1' } : { ids: fired++ === 0 ? ['T1'] : [] } } };
      return { toolUse: { name: 'finish_step', input: {} } };
    });
    const state = join(work, 'state');
    const first = await run(join(REPO, 'test/fixtures/model/trigger.pb'), state, { inputs: ['I want a refund'] });
    expect(failure(first.outcome)).toMatch(/^model-error: the model gave no valid answer to the trigger check at step \S+ after 3 tries$/);
    expect(retryRecords(state)).toHaveLength(1);
    const judged = fake.requests.length;
    valid = true;
    const second = await resume(state, { inputs: ['no thanks'] });
    expect(second.outcome.status, failure(second.outcome)).toBe('finished');
    expect(second.out).toEqual(['Refunds take 5 days.', 'You said: I want a refund', 'Anything else?', 'Please provide other:', 'Bye']);
    expect(fake.requests.slice(judged).length, 'the resume replayed the failed trigger check').toBeGreaterThan(0);
    expect(turnOf(fake.requests[judged]!)).toBe(0);
  });

  it('pb run: a step not finished within 12 turns says the resume starts it afresh; SIGKILL during the fresh attempt, then resume: its answered turn is not asked again', async () => {
    const mode: { stubborn: boolean; slowTurn?: number } = { stubborn: true };
    fake.setResponder(orderModel(mode));
    const state = join(work, 'state');
    const a = await pb(['run', fix('order.pb'), '--tools', TOOLS, '--state', state]);
    expect(a.code, a.stderr).toBe(EXIT_RUNTIME);
    expect(a.stderr).toMatch(/order\.pb:14:\d+: error: the model did not finish step 03 within 12 turns/);
    expect(a.stderr).toContain(`pb resume ${state} (it starts that conversation afresh)`);
    expect(lines(a.stdout)).toHaveLength(13);

    // The fresh attempt: turn 0 says "fresh" and calls Log; turn 1 is slow, and the process is killed waiting for it.
    mode.stubborn = false;
    mode.slowTurn = 1;
    const b = await pb(['resume', state], { killWhen: () => fake.requests.some((r) => isFresh(r) && turnOf(r) === 1), killAfterMs: 100 });
    expect(b.killed, `not killed: exit ${b.code}\n${b.stderr}`).toBe(true);
    expect(lines(b.stdout)).toEqual(['fresh']);

    mode.slowTurn = undefined;
    const c = await pb(['resume', state]);
    expect(c.code, c.stderr).toBe(EXIT_OK);
    const all = [...lines(a.stdout), ...lines(b.stdout), ...lines(c.stdout)];
    expect(all).toEqual(['start', ...Array.from({ length: 12 }, (_, t) => `attempt 1 turn ${t}`), 'fresh', 'middle 2', 'line 05', 'end']);
    const fresh = fake.requests.filter(isFresh);
    expect(fresh.map((r) => turnOf(r)), 'the fresh attempt\'s first turn was asked again after the kill').toEqual([0, 1, 1]);
    expect(logged()).toEqual([...Array.from({ length: 12 }, (_, t) => `a1t${t}`), 'fresh']);
  });
});

describe('retry records (vm/durable/retry.ts)', () => {
  it('skips chain forward; a record that would skip backwards or nowhere is ignored; what is told is bounded', () => {
    const retries = new Map<number, Retry>();
    const rec = (fromSeq: number, toSeq: number, did: string[] = []) => ({ t: 'retry' as const, fromSeq, toSeq, reason: 'r', did, at: '' });
    addRetry(retries, rec(5, 9, ['said "a"']));
    addRetry(retries, rec(9, 12, ['said "b"']));
    addRetry(retries, rec(20, 20));
    addRetry(retries, rec(30, 25));
    expect([...retries.keys()]).toEqual([5, 9]);
    const m = new Machine(compileFile(fix('order.pb')));
    m.seqSkips = seqSkips(retries);
    m.seq = 4;
    expect(m.peekSeq()).toBe(12);
    expect(m.nextSeq()).toBe(12);
    expect(m.nextSeq()).toBe(13);
    expect(attemptsAt(retries, 5).map((r) => r.toSeq)).toEqual([9, 12]);
    expect(attemptsAt(retries, 6)).toEqual([]);
    const many = describeAttempts([{ toSeq: 2, reason: 'why', did: Array.from({ length: 50 }, (_, i) => `said "${i}"`) }]);
    expect(many).toContain('(why)');
    expect(many).toContain('20 earlier actions; said "20"');
    expect(many).not.toContain('said "19"');
  });
});
