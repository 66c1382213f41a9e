// Scripting the fake Anthropic server (test/support/fake-anthropic.ts) for pbvm's NL driver:
// pick a reply by the step a request is about (the instruction the driver appends after the
// rendered context) and by the turn of that step's conversation (the number of assistant
// messages already in it). The real SDK talks to the fake; nothing here mocks it.
import { minimalResponder, type RecordedRequest, type Reply, type Responder } from './fake-anthropic.js';

/** The first user message's text: rendered context, a blank line, then the instruction. */
export function promptText(req: RecordedRequest): string {
  const first = req.body?.messages?.[0];
  if (!first) return '';
  if (typeof first.content === 'string') return first.content;
  return first.content
    .filter((b: { type?: string }) => b?.type === 'text')
    .map((b: { text: string }) => b.text)
    .join('\n');
}

/** The instruction part of a request (what the driver asks for), without the context. */
export function instructionOf(req: RecordedRequest): string {
  const text = promptText(req);
  const cut = text.indexOf('\n\n');
  return cut >= 0 ? text.slice(cut + 2) : text;
}

/** The rendered context part (call stack, variables, history). */
export function contextOf(req: RecordedRequest): string {
  const text = promptText(req);
  const cut = text.indexOf('\n\n');
  return cut >= 0 ? text.slice(0, cut) : '';
}

/** How many model turns this conversation already had. */
export function turnOf(req: RecordedRequest): number {
  return (req.body?.messages ?? []).filter((m) => m.role === 'assistant').length;
}

export interface ToolResult {
  tool_use_id: string;
  content: string;
  is_error?: boolean;
}

/** The tool results of the last user message (the answer to the previous turn). */
export function lastToolResults(req: RecordedRequest): ToolResult[] {
  const msgs = req.body?.messages ?? [];
  const last = msgs[msgs.length - 1];
  if (!last || last.role !== 'user' || !Array.isArray(last.content)) return [];
  return last.content.filter((b: { type?: string }) => b?.type === 'tool_result') as ToolResult[];
}

/** Every (tool_use, its tool_result) pair in the conversation so far. */
export function toolHistory(req: RecordedRequest): Array<{ name: string; input: any; result?: ToolResult }> {
  const msgs = req.body?.messages ?? [];
  const results = new Map<string, ToolResult>();
  for (const m of msgs) {
    if (m.role !== 'user' || !Array.isArray(m.content)) continue;
    for (const b of m.content) if (b?.type === 'tool_result') results.set(b.tool_use_id, b as ToolResult);
  }
  const out: Array<{ name: string; input: any; result?: ToolResult }> = [];
  for (const m of msgs) {
    if (m.role !== 'assistant' || !Array.isArray(m.content)) continue;
    for (const b of m.content) if (b?.type === 'tool_use') out.push({ name: b.name, input: b.input, result: results.get(b.id) });
  }
  return out;
}

/** The step id a request is about ("Perform step 03: ...", "Step 04 needs ...", "Step 05 asks ..."), if any. */
export function stepOf(req: RecordedRequest): string | undefined {
  const ins = instructionOf(req);
  const m = /^(?:Perform step|Step) (\S+?):?\s/.exec(ins);
  if (m) return m[1];
  const fused = /^Perform these consecutive steps[^\n]*\n- (\S+):/.exec(ins);
  return fused ? fused[1] : undefined;
}

export type Script = Reply | Reply[] | ((req: RecordedRequest, turn: number) => Reply);

/**
 * Chooses the reply by the instruction: the first rule whose pattern matches gets the
 * request; an array answers turn n with its n-th element (the last one repeats); a function
 * is asked. Requests no rule matches go to `fallback` (minimal answers by default).
 */
export function byInstruction(rules: Array<[RegExp, Script]>, fallback: Responder = minimalResponder()): Responder {
  return (req, index) => {
    const ins = instructionOf(req);
    const turn = turnOf(req);
    for (const [re, script] of rules) {
      if (!re.test(ins)) continue;
      if (typeof script === 'function') return script(req, turn);
      if (Array.isArray(script)) return script[Math.min(turn, script.length - 1)]!;
      return script;
    }
    return fallback(req, index);
  };
}

/**
 * A well-behaved model: a step ("Perform step X: ...") says `line(step)` once with the say
 * tool and finishes in the same reply; if a previous say of this conversation already
 * succeeded, it only finishes. Forced tools (decide, provide_value, ...) get `forced`
 * (minimal valid inputs by default).
 */
export function sayingModel(line: (step: string, req: RecordedRequest) => string, forced: Responder = minimalResponder()): Responder {
  return (req, index) => {
    const tc = req.body?.tool_choice;
    if (tc && tc.type === 'tool') return forced(req, index);
    const step = stepOf(req) ?? '?';
    const said = toolHistory(req).some((t) => t.name === 'say' && t.result && !t.result.is_error);
    if (said) return { toolUse: { name: 'finish_step', input: {} } };
    return { toolUses: [{ name: 'say', input: { message: line(step, req) } }, { name: 'finish_step', input: {} }] };
  };
}
