// The shape check every model reply passes before the VM uses it or journals it. A reply
// comes from a provider (an HTTP body through an SDK), a replay file, a journal, or a custom
// Model: any of them can hand over something that is not a Messages reply (an HTML error
// page with status 200, `content: null`, a string). Such a reply is refused here, with a
// one-line reason, so that nothing invalid is ever journaled or acted on.
import type { ContentBlock, ModelMessage, ModelReply, TextBlock, ToolUseBlock, Usage } from './protocol.js';

export type ReplyCheck = { ok: true; reply: ModelReply } | { ok: false; problem: string };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A short description of a value that is not what was expected: `null`, `a string ("<html>…")`. */
export function describeGot(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'missing';
  if (typeof v === 'string') {
    const t = v.replace(/\s+/g, ' ').trim();
    return `a string (${JSON.stringify(t.length > 60 ? `${t.slice(0, 59)}…` : t)})`;
  }
  if (Array.isArray(v)) return 'a list';
  return `a ${typeof v}`;
}

/**
 * Checks a reply and returns it in canonical form: only the fields the VM reads, text and
 * tool_use blocks only. Other well-formed block types (which the VM never asks for) are
 * dropped; a block that is not an object with a type is refused.
 */
export function checkReply(raw: unknown): ReplyCheck {
  if (!isObject(raw)) return { ok: false, problem: `the reply is ${describeGot(raw)}, not a message object` };
  const content = raw.content;
  if (!Array.isArray(content)) return { ok: false, problem: `the reply's content is ${describeGot(content)}, not a list of content blocks` };
  const blocks: Array<TextBlock | ToolUseBlock> = [];
  for (const [i, b] of content.entries()) {
    if (!isObject(b) || typeof b.type !== 'string') return { ok: false, problem: `content block ${i} is ${describeGot(b)}, not a block with a type` };
    if (b.type === 'text') {
      if (typeof b.text !== 'string') return { ok: false, problem: `text block ${i} has text ${describeGot(b.text)}` };
      // An empty text block says nothing, and the API refuses one sent back to it.
      if (b.text !== '') blocks.push({ type: 'text', text: b.text });
    } else if (b.type === 'tool_use') {
      if (typeof b.id !== 'string' || b.id === '') return { ok: false, problem: `tool_use block ${i} has id ${describeGot(b.id)}` };
      if (typeof b.name !== 'string' || b.name === '') return { ok: false, problem: `tool_use block ${i} has name ${describeGot(b.name)}` };
      if (!isObject(b.input)) return { ok: false, problem: `tool_use block ${i} (${b.name}) has input ${describeGot(b.input)}, not an object` };
      blocks.push({ type: 'tool_use', id: b.id, name: b.name, input: b.input });
    }
  }
  const stop = raw.stop_reason;
  if (stop !== undefined && stop !== null && typeof stop !== 'string') return { ok: false, problem: `the reply's stop_reason is ${describeGot(stop)}` };
  return { ok: true, reply: { content: blocks, stop_reason: typeof stop === 'string' ? stop : null, usage: usageOf(raw.usage), model: typeof raw.model === 'string' ? raw.model : '' } };
}

/** Token counts for accounting; a missing or odd count is 0 (it never changes what the VM does). */
function usageOf(u: unknown): Usage {
  const n = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : 0);
  if (!isObject(u)) return { input_tokens: 0, output_tokens: 0 };
  return {
    input_tokens: n(u.input_tokens),
    output_tokens: n(u.output_tokens),
    ...(u.cache_read_input_tokens !== undefined ? { cache_read_input_tokens: n(u.cache_read_input_tokens) } : {}),
    ...(u.cache_creation_input_tokens !== undefined ? { cache_creation_input_tokens: n(u.cache_creation_input_tokens) } : {}),
  };
}

/**
 * The reply as the assistant turn of the next request. An empty reply (no blocks, which the
 * API does send) becomes a short text: the API refuses an empty assistant turn mid-conversation.
 */
export function assistantTurn(reply: ModelReply): ModelMessage {
  const content: ContentBlock[] = reply.content.length ? reply.content : [{ type: 'text', text: '(no reply)' }];
  return { role: 'assistant', content };
}
