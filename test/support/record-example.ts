// Regenerates examples/support-triage.replay.json and examples/oncall-digest.replay.json:
// runs each example against the fake Messages API with scripted, sensible replies (the real
// SDK, through --record), so the README's commands can replay them offline with no API key.
//   npx tsc -p . && node dist/test/support/record-example.js
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { startFakeAnthropic, type RecordedRequest, type Reply } from './fake-anthropic.js';
import { compileSource } from '../../compiler/compile.js';
import { runProgram } from '../../src/run.js';
import { AnthropicModel } from '../../src/providers/anthropic.js';
import { RecordingModel } from '../../src/replay-file.js';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const EXAMPLE = 'examples/support-triage.pb';
export const REPLAY = 'examples/support-triage.replay.json';
export const EXAMPLE_INPUT = ['I was charged twice for my March invoice', 'INV-2041'];

function lastText(req: RecordedRequest): string {
  const messages = (req.body as { messages: Array<{ content: Array<{ type: string; text?: string }> }> }).messages;
  return messages[messages.length - 1]!.content.map((b) => b.text ?? '').join('\n');
}

function hasToolResults(req: RecordedRequest): boolean {
  const messages = (req.body as { messages: Array<{ content: Array<{ type: string }> }> }).messages;
  return messages[messages.length - 1]!.content.some((b) => b.type === 'tool_result');
}

/** Answers like a careful model would for this example. */
export function triageResponder(req: RecordedRequest): Reply {
  const body = req.body as { tool_choice?: { type: string; name?: string } };
  const forced = body.tool_choice?.type === 'tool' ? body.tool_choice.name : undefined;
  const text = lastText(req);
  if (hasToolResults(req)) return { text: 'Done.' };
  switch (forced) {
    case 'phrase_question':
      return { toolUse: { name: 'phrase_question', input: { question: /invoice/.test(text) ? 'Which invoice is it? Please give me the invoice id.' : 'What seems to be the problem?' } } };
    case 'provide_value':
      if (/Classify/.test(text)) return { toolUse: { name: 'provide_value', input: { value: 'billing' } } };
      return { toolUse: { name: 'provide_value', input: { value: 2 } } };
    case 'decide':
      return { toolUse: { name: 'decide', input: { answer: /duplicate/.test(text) } } };
    case 'provide_list':
      return { toolUse: { name: 'provide_list', input: { items: [] } } };
    case 'fire_triggers':
      return { toolUse: { name: 'fire_triggers', input: { ids: [] } } };
    default:
      break;
  }
  if (/Explain the charges/.test(text)) {
    return {
      toolUses: [
        { name: 'say', input: { message: 'Invoice INV-2041 lists your Pro plan twice for March: once on the 1st and again on the 3rd.' } },
        { name: 'finish_step', input: {} },
      ],
    };
  }
  if (/two-sentence summary/.test(text)) {
    return {
      toolUses: [
        { name: 'set_variable', input: { name: '$handoff', value: 'Customer reports a duplicate March charge on INV-2041. Pro plan billed on the 1st and the 3rd.' } },
        { name: 'finish_step', input: {} },
      ],
    };
  }
  if (/Thank the user/.test(text)) {
    return { toolUses: [{ name: 'say', input: { message: 'Thank you for your patience. Goodbye!' } }, { name: 'finish_step', input: {} }] };
  }
  return { text: 'ok' };
}

export const ONCALL = 'examples/oncall-digest.pb';
export const ONCALL_REPLAY = 'examples/oncall-digest.replay.json';

/** The first version the model writes for the on-call example: it trips over a one-word alert line. */
export const ONCALL_V1 = `## ErrorDigest($alerts)
Counts the ERROR alerts of each service, in order of first appearance.
### Steps
- services = []
- For each line in $alerts
  - parts = split(line)
  - If parts[1] == "ERROR" and parts[0] not in services
    - services = append(services, parts[0])
- digest = []
- For each service in services
  - n = 0
  - For each line in $alerts
    - If startswith(line, service + " ERROR")
      - n = n + 1
  - digest = append(digest, f"{service}: {n}")
- Return digest
`;

/** The corrected version, written after the model is shown the index-error. */
export const ONCALL_V2 = ONCALL_V1.replace('  - If parts[1] == "ERROR"', '  - If len(parts) > 1 and parts[1] == "ERROR"');

/** The model for the on-call example: writes ErrorDigest, repairs it, then names the service to look at. */
export function oncallResponder(req: RecordedRequest): Reply {
  const body = req.body as { tool_choice?: { type: string; name?: string } };
  const forced = body.tool_choice?.type === 'tool' ? body.tool_choice.name : undefined;
  if (forced === 'write_playbook') {
    const first = (req.body as { messages: Array<{ content: Array<{ text?: string }> }> }).messages[0]!.content.map((b) => b.text ?? '').join('\n');
    return { toolUse: { name: 'write_playbook', input: { source: /failed while it ran/.test(first) ? ONCALL_V2 : ONCALL_V1 } } };
  }
  if (hasToolResults(req)) return { text: 'Done.' };
  if (/which service to look at first/.test(lastText(req))) {
    return {
      toolUses: [
        { name: 'say', input: { message: 'Look at db-1 first: it has the most errors, two identical connection timeouts, which points at the database rather than its clients.' } },
        { name: 'finish_step', input: {} },
      ],
    };
  }
  return { text: 'ok' };
}

async function recordOncall(): Promise<void> {
  const server = await startFakeAnthropic({ responder: oncallResponder });
  const library = mkdtempSync(join(tmpdir(), 'pbvm-oncall-library-'));
  try {
    const program = compileSource(readFileSync(join(repo, ONCALL), 'utf8'), ONCALL).program!;
    const model = new RecordingModel(new AnthropicModel({ apiKey: 'test', baseURL: server.url, maxRetries: 0 }), join(repo, ONCALL_REPLAY));
    const lines: string[] = [];
    const result = await runProgram(program, { io: { writeLines: (l) => lines.push(...l), readLine: async () => null }, model: { model }, library, warn: (m) => process.stderr.write(`${m}\n`) });
    process.stdout.write(`${lines.join('\n')}\n`);
    process.stderr.write(`${result.outcome.status}; ${server.messageRequests().length} model calls recorded in ${ONCALL_REPLAY}\n`);
  } finally {
    await server.close();
    rmSync(library, { recursive: true, force: true });
  }
}

export const REFUND_PB = 'examples/refund-flow.pb';
export const REFUND_YAML = 'examples/refund-flow.yaml';
export const REFUND_TOOLS = 'examples/refund-tools.ts';
export const REFUND_REPLAY = 'examples/refund-flow.replay.json';
export const REFUND_INPUT = 'examples/refund-flow.input';

/**
 * The model for the refund example: it follows the procedure, except that it first tries to
 * issue the refund while the order is still being verified; the plan rejects that call and
 * the model recovers. The same replies serve refund-flow.pb and refund-flow.yaml.
 */
export function refundResponder(req: RecordedRequest): Reply {
  const body = req.body as { tool_choice?: { type: string; name?: string }; messages: Array<{ role: string; content: Array<{ type: string; text?: string; content?: string }> }> };
  const first = body.messages[0]!.content.map((b) => b.text ?? '').join('\n');
  const turn = body.messages.filter((m) => m.role === 'assistant').length;
  const lastResult = () => body.messages[body.messages.length - 1]!.content.find((b) => b.type === 'tool_result')?.content ?? '';
  const step = /Perform step (\d+):/.exec(first)?.[1];
  const finish: Reply = { toolUse: { name: 'finish_step', input: {} } };
  switch (step) {
    case '01':
      if (turn === 0) return { toolUse: { name: 'ask_user', input: { question: 'Which order is this about, and why would you like a refund?' } } };
      return {
        toolUses: [
          { name: 'set_variable', input: { name: '$order_id', value: 'A-1001' } },
          { name: 'set_variable', input: { name: '$reason', value: 'the blender arrived broken' } },
          { name: 'finish_step', input: {} },
        ],
      };
    case '02':
      // Skips ahead: the plan rejects the refund here, with the step's contract.
      if (turn === 0) return { toolUse: { name: 'call_playbook', input: { name: 'IssueRefund', args: { order_id: 'A-1001', amount: 129 } } } };
      if (turn === 1) return { toolUse: { name: 'call_playbook', input: { name: 'LookupOrder', args: { order_id: 'A-1001' } } } };
      return finish;
    case '03':
      return turn === 0 ? { toolUse: { name: 'call_playbook', input: { name: 'CheckRefundPolicy', args: { order_id: 'A-1001' } } } } : finish;
    case '04':
      if (turn === 0) return { toolUse: { name: 'call_playbook', input: { name: 'IssueRefund', args: { order_id: 'A-1001', amount: 129 } } } };
      return { toolUses: [{ name: 'say', input: { message: `Your refund of $129 for order A-1001 is on its way (${/RF-A-1001/.test(lastResult()) ? 'RF-A-1001' : 'pending'}).` } }, { name: 'finish_step', input: {} }] };
    case '05':
      if (turn === 0) return { toolUse: { name: 'call_playbook', input: { name: 'SendEmail', args: { to: 'dana@example.com', subject: 'Your refund RF-A-1001', body: 'We refunded $129 for order A-1001.' } } } };
      return finish;
    default:
      return { text: 'ok' };
  }
}

async function recordRefund(): Promise<void> {
  const server = await startFakeAnthropic({ responder: refundResponder });
  try {
    const program = compileSource(readFileSync(join(repo, REFUND_PB), 'utf8'), REFUND_PB).program!;
    const model = new RecordingModel(new AnthropicModel({ apiKey: 'test', baseURL: server.url, maxRetries: 0 }), join(repo, REFUND_REPLAY));
    const lines: string[] = [];
    const input = readFileSync(join(repo, REFUND_INPUT), 'utf8').split('\n').filter(Boolean);
    const result = await runProgram(program, { io: { writeLines: (l) => lines.push(...l), readLine: async () => input.shift() ?? null }, model: { model }, tools: join(repo, REFUND_TOOLS) });
    process.stdout.write(`${lines.join('\n')}\n`);
    process.stderr.write(`${result.outcome.status}${result.outcome.status === 'failed' ? ` (${result.outcome.error.message})` : ''}; ${server.messageRequests().length} model calls recorded in ${REFUND_REPLAY}\n`);
  } finally {
    await server.close();
  }
}

async function main(): Promise<void> {
  await recordTriage();
  await recordOncall();
  await recordRefund();
}

async function recordTriage(): Promise<void> {
  const server = await startFakeAnthropic({ responder: triageResponder });
  try {
    const source = readFileSync(join(repo, EXAMPLE), 'utf8');
    const program = compileSource(source, EXAMPLE).program!;
    const model = new RecordingModel(new AnthropicModel({ apiKey: 'test', baseURL: server.url, maxRetries: 0 }), join(repo, REPLAY));
    let i = 0;
    const lines: string[] = [];
    const result = await runProgram(program, {
      io: { writeLines: (l) => lines.push(...l), readLine: async () => EXAMPLE_INPUT[i++] ?? null },
      model: { model },
    });
    process.stdout.write(`${lines.join('\n')}\n`);
    process.stderr.write(`${result.outcome.status}; ${server.messageRequests().length} model calls recorded in ${REPLAY}\n`);
  } finally {
    await server.close();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
