// A fake Anthropic Messages API for tests: a `node:http` server on 127.0.0.1 that the REAL
// `@anthropic-ai/sdk` client talks to through `baseURL`. Never mock the SDK; point it here.
//
//   const fake = await startFakeAnthropic();
//   const client = new Anthropic({ apiKey: 'test', baseURL: fake.url, maxRetries: 3, timeout: 2_000 });
//   fake.script({ text: 'hello' }, { status: 529, retryAfter: 0.01 }, { toolUse: { name: 'lookup' } });
//   ...
//   expect(fake.requests[0].body.system).toEqual(...);
//   await fake.close();
//
// What it implements
// - `POST /v1/messages`, non-streaming JSON or (with `stream: true`) a real SSE stream:
//   message_start, ping, content_block_start/delta/stop, message_delta, message_stop.
//   `POST /v1/messages/count_tokens` returns the same input-token estimate.
// - Minimal request validation like the real API, answered with 400 and an Anthropic error
//   body `{type:'error', error:{type:'invalid_request_error', message}, request_id}`:
//   model, max_tokens, non-empty messages, user first and strict user/assistant alternation
//   (the real API merges consecutive same-role turns; see `strictAlternation`), every
//   tool_use answered by a tool_result in the next user turn and no stray tool_result,
//   tool_use/tool_result only with `tools` defined, tool names ^[a-zA-Z0-9_-]{1,64}$ and
//   unique, tool_choice naming an offered tool, non-empty text blocks, at most 4
//   cache_control breakpoints (the top-level `cache_control` counts as one), a 1h TTL
//   never after a 5m one. Missing `x-api-key`/`authorization` gives 401, missing
//   `anthropic-version` 400.
// - Every HTTP request is recorded (`requests`): parsed body, lower-cased headers, arrival
//   time, the SDK retry count (`x-stainless-retry-count`), every cache_control marker with
//   its JSON path, and what was answered.
// - Replies come from a FIFO queue (`script(...)`) and, when it is empty, from a responder
//   function (default `minimalResponder()`). A reply is a full message, a shorthand
//   (`{text}`, `{toolUse}`, `{text, toolUses:[...]}`), or a fault (see `Reply`), e.g. a
//   200 reply that is not a Messages reply at all (`{malformedReply: 'null-content'}`).
// - `usage` is filled in: input tokens ≈ ceil(chars/4) of the rendered tools+system+messages,
//   output tokens likewise of the content, and prompt caching is simulated with the real
//   rule: the cache key of a breakpoint is the exact bytes of the prefix (tools → system →
//   messages, plus the model; tool_choice/thinking also key the messages part) up to and
//   including the marked block; a later request whose prefix up to a breakpoint (or up to
//   20 blocks before one) is byte-identical reads those tokens from the cache, the rest up
//   to the last breakpoint is a cache write, and what follows is plain input.
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { invalidObjectInstance, minimalInstance, type JsonSchema } from './json-schema.js';

export { invalidInstance, invalidObjectInstance, minimalInstance, validateInstance, type JsonSchema } from './json-schema.js';

// ---------------------------------------------------------------------------------------
// Wire types (loose on purpose: the fake must accept whatever a buggy client sends)

export interface CacheControl {
  type: 'ephemeral';
  ttl?: '5m' | '1h';
}

export interface ToolDef {
  name: string;
  description?: string;
  input_schema?: JsonSchema;
  type?: string | null;
  cache_control?: CacheControl | null;
  [key: string]: unknown;
}

export interface ToolChoice {
  type: 'auto' | 'any' | 'tool' | 'none';
  name?: string;
  disable_parallel_tool_use?: boolean;
}

export interface MessagesRequestBody {
  model: string;
  max_tokens: number;
  messages: Array<{ role: string; content: string | any[] }>;
  system?: string | any[];
  tools?: ToolDef[];
  tool_choice?: ToolChoice;
  stream?: boolean;
  cache_control?: CacheControl | null;
  [key: string]: unknown;
}

export interface Usage {
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens: number | null;
  cache_read_input_tokens: number | null;
  cache_creation: { ephemeral_5m_input_tokens: number; ephemeral_1h_input_tokens: number } | null;
  server_tool_use: null | { web_search_requests: number; web_fetch_requests: number };
  service_tier: 'standard' | 'priority' | 'batch' | null;
  inference_geo: string | null;
  output_tokens_details: null | { thinking_tokens: number };
  speed: 'standard' | 'fast' | null;
}

export type StopReason = 'end_turn' | 'max_tokens' | 'stop_sequence' | 'tool_use' | 'pause_turn' | 'refusal' | 'model_context_window_exceeded';

export interface FakeMessage {
  id: string;
  type: 'message';
  role: 'assistant';
  model: string;
  content: any[];
  stop_reason: StopReason | null;
  stop_sequence: string | null;
  stop_details: null | Record<string, unknown>;
  container: null | Record<string, unknown>;
  diagnostics: null | Record<string, unknown>;
  usage: Usage;
}

/** A cache_control marker found in a request, with its JSON path (e.g. `messages[2].content[0]`). */
export interface CacheMarker {
  path: string;
  ttl: '5m' | '1h';
}

export type Outcome =
  | 'message' // a message was answered (JSON or SSE)
  | 'error' // an HTTP error was answered (scripted fault or the fake's own error)
  | 'invalid' // the request failed validation (400/401/404)
  | 'dropped' // the connection was destroyed on purpose
  | 'client-aborted' // the client went away while the reply was delayed (e.g. its timeout fired)
  | 'raw'; // a raw body was answered

export interface RecordedRequest {
  /** 0-based arrival order over every HTTP request this server received. */
  index: number;
  method: string;
  path: string;
  /** Lower-cased header names. */
  headers: Record<string, string>;
  rawBody: string;
  /** Parsed JSON body (`undefined` when it did not parse). */
  body: MessagesRequestBody;
  /** `Date.now()` at arrival. */
  receivedAt: number;
  /** `performance.now()` at arrival, for measuring backoff between attempts. */
  t: number;
  /** The SDK's `x-stainless-retry-count` header: 0 for a first attempt, n for the n-th retry. */
  retryCount: number;
  /** Every cache_control marker in the body, in render order (tools, system, messages). */
  cacheControls: CacheMarker[];
  /** Why it was rejected, when `outcome` is 'invalid'. */
  validationError?: string;
  outcome?: Outcome;
  /** What was answered: status, JSON body (the full message for a stream), usage. */
  response?: { status: number; body?: unknown; stream: boolean };
  /** For an answered message: its usage (also inside `response.body`). */
  usage?: Usage;
}

// ---------------------------------------------------------------------------------------
// Replies

export interface ToolUseSpec {
  name: string;
  /** Defaults to the smallest valid instance of the offered tool's input_schema. */
  input?: unknown;
  id?: string;
}

/** Shorthand for a message: text and/or tool uses. `{}` answers "ok". */
export interface MessageShorthand {
  text?: string;
  toolUse?: ToolUseSpec | ToolUseSpec[];
  toolUses?: ToolUseSpec[];
  stopReason?: StopReason;
  stopSequence?: string | null;
  /** Overrides merged into the computed usage. */
  usage?: Partial<Usage>;
  model?: string;
  id?: string;
  /** Answer after this many ms (headers included). */
  delayMs?: number;
}

/** A full (or partial) message object; missing fields are filled in. Recognised by `content: [...]`. */
export interface FullMessageReply {
  content: any[];
  type?: 'message';
  id?: string;
  model?: string;
  stop_reason?: StopReason | null;
  stop_sequence?: string | null;
  usage?: Partial<Usage>;
  role?: 'assistant';
  stop_details?: null | Record<string, unknown>;
  container?: null | Record<string, unknown>;
  diagnostics?: null | Record<string, unknown>;
}

/** An HTTP error: 429 → rate_limit_error, 500 → api_error, 529 → overloaded_error, 400 → invalid_request_error, ... */
export interface ErrorFault {
  status: number;
  /** Sent as `retry-after` (seconds; fractions allowed: the SDK parses with parseFloat). */
  retryAfter?: number;
  /** Sent as `retry-after-ms` (the SDK prefers it over retry-after). */
  retryAfterMs?: number;
  /** Sent as `x-should-retry: true|false` (the SDK obeys it over the status code). */
  shouldRetry?: boolean;
  errorType?: string;
  message?: string;
  headers?: Record<string, string>;
}

/**
 * Hold the reply (before any header) for `delayMs`, then answer `after` (default: the
 * responder's reply). (Not named `then`: an object with a `then` function is a thenable.)
 */
export interface DelayFault {
  delayMs: number;
  after?: Reply | Responder;
}

/** Send the 200 headers at once, then stall `stallMs` before the body (or the stream), then answer `after`. */
export interface StallFault {
  stallMs: number;
  after?: Reply | Responder;
}

/**
 * A tool_use whose input (always an object, as the real API's) violates the tool's
 * input_schema: the named tool (a string), else the forced one, else the first offered tool
 * whose schema some object violates.
 */
export interface MalformedToolInputFault {
  malformedToolInput: true | string;
  text?: string;
}

/** A tool_use naming a tool that was not offered (`true` → "nonexistent_tool"). */
export interface UnknownToolFault {
  unknownTool: true | string;
  input?: unknown;
  text?: string;
}

/** Destroy the socket after reading the request: the client sees a connection error. */
export interface DropFault {
  dropConnection: true;
}

/**
 * A stream that fails after it started: 200, message_start, then `event: error`. The SDK
 * does not retry such an error. A non-streaming request gets the matching HTTP error instead.
 */
export interface StreamErrorFault {
  streamError: string | { type: string; message?: string };
}

/**
 * A 200 reply whose body is not a Messages reply, as a broken proxy or API version sends:
 * - 'null-content', 'missing-content', 'string-content': a message whose `content` is null,
 *   absent, or a string; 'null-body': the JSON `null`
 * - 'html': an HTML error page served as text/html; 'html-as-json': the same page labelled
 *   application/json (the SDK cannot parse it)
 * - 'bad-block': a message whose content holds a tool_use block without an id or input
 */
export interface MalformedReplyFault {
  malformedReply: MalformedReplyKind;
}

export type MalformedReplyKind = 'null-content' | 'missing-content' | 'string-content' | 'null-body' | 'html' | 'html-as-json' | 'bad-block';

export const MALFORMED_REPLY_KINDS: readonly MalformedReplyKind[] = ['null-content', 'missing-content', 'string-content', 'null-body', 'html', 'html-as-json', 'bad-block'];

const HTML_PAGE = '<html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1></body></html>\n';

/** Anything at all: status (default 200), body verbatim, content type (default application/json). */
export interface RawReply {
  rawBody: string;
  status?: number;
  contentType?: string;
  headers?: Record<string, string>;
}

export type Reply =
  | MessageShorthand
  | FullMessageReply
  | ErrorFault
  | DelayFault
  | StallFault
  | MalformedToolInputFault
  | UnknownToolFault
  | DropFault
  | StreamErrorFault
  | MalformedReplyFault
  | RawReply;

/**
 * Produces the reply for a request. `index` counts the /v1/messages requests that reached
 * the responder (valid ones), from 0; `request.index` counts every HTTP request.
 */
export type Responder = (request: RecordedRequest, index: number) => Reply | Promise<Reply>;

// ---------------------------------------------------------------------------------------
// Options and handle

export interface FakeAnthropicOptions {
  /** Replies for requests the queue does not cover. Default: `minimalResponder()`. */
  responder?: Responder;
  /** Initial queue (same as calling `script(...)` right away). */
  script?: Array<Reply | Responder>;
  /** Reject consecutive same-role turns (the real API merges them). Default true: it catches client bugs. */
  strictAlternation?: boolean;
  /** Reject requests without x-api-key/authorization (401) or anthropic-version (400). Default true. */
  requireHeaders?: boolean;
  /** An extra check: return a message to answer 400 invalid_request_error. */
  validate?: (body: MessagesRequestBody, request: RecordedRequest) => string | undefined;
  /** Prefixes shorter than this many tokens are never cached (the real API: 1024–4096 by model). Default 0. */
  minCacheableTokens?: number;
  /** How many blocks before a breakpoint the cache lookup checks. Default 20 (the real API's). */
  cacheLookbackBlocks?: number;
  /** Characters per text / JSON delta in streams. Default 24. */
  streamChunkChars?: number;
  /** Clock for cache TTLs. Default Date.now. */
  now?: () => number;
}

export interface FakeAnthropic {
  /** Use as the SDK's `baseURL`, e.g. http://127.0.0.1:41234 */
  url: string;
  port: number;
  /** Every HTTP request received, in arrival order (retries included). */
  requests: RecordedRequest[];
  /** The recorded requests to /v1/messages that passed validation. */
  messageRequests(): RecordedRequest[];
  lastRequest(): RecordedRequest | undefined;
  /** Queue replies (or per-request responders); they take priority over the responder. */
  script(...replies: Array<Reply | Responder>): FakeAnthropic;
  /** Scripted replies not yet used. */
  pending(): number;
  setResponder(responder: Responder): void;
  /** Forget recorded requests, the queue and the prompt cache. */
  reset(): void;
  /** The simulated prompt cache. */
  cache: { size(): number; clear(): void };
  /** Stops the server, drops open connections and pending timers. Idempotent. */
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------
// Helpers

const TOOL_NAME = /^[a-zA-Z0-9_-]{1,64}$/;
const MAX_BREAKPOINTS = 4;
const TTL_MS = { '5m': 5 * 60_000, '1h': 60 * 60_000 } as const;

const isObject = (v: unknown): v is Record<string, any> => typeof v === 'object' && v !== null && !Array.isArray(v);
const tokensOf = (chars: number) => Math.ceil(chars / 4);
const sha = (s: string) => createHash('sha256').update(s).digest('hex');

const ERROR_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  402: 'billing_error',
  403: 'permission_error',
  404: 'not_found_error',
  408: 'timeout_error',
  409: 'conflict_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  500: 'api_error',
  504: 'timeout_error',
  529: 'overloaded_error',
};
const STATUS_FOR_ERROR_TYPE: Record<string, number> = {
  invalid_request_error: 400,
  authentication_error: 401,
  permission_error: 403,
  not_found_error: 404,
  rate_limit_error: 429,
  api_error: 500,
  overloaded_error: 529,
  timeout_error: 504,
};

function errorBody(type: string, message: string, requestId: string) {
  return { type: 'error', error: { type, message }, request_id: requestId };
}

/** Strips `cache_control` everywhere: markers are not part of the cached bytes. */
function withoutCacheControl(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutCacheControl);
  if (!isObject(v)) return v;
  const out: Record<string, unknown> = {};
  for (const [k, val] of Object.entries(v)) if (k !== 'cache_control') out[k] = withoutCacheControl(val);
  return out;
}

function contentBlocks(content: unknown): any[] {
  if (typeof content === 'string') return [{ type: 'text', text: content }];
  return Array.isArray(content) ? content : [];
}

function ttlOf(cc: unknown): '5m' | '1h' {
  return isObject(cc) && cc.ttl === '1h' ? '1h' : '5m';
}

/** Every cache_control marker in render order (tools, system, messages; nested tool_result content too). */
export function findCacheControls(body: MessagesRequestBody): CacheMarker[] {
  const out: CacheMarker[] = [];
  const visit = (v: unknown, path: string) => {
    if (Array.isArray(v)) return v.forEach((x, i) => visit(x, `${path}[${i}]`));
    if (!isObject(v)) return;
    if (v.cache_control != null) out.push({ path, ttl: ttlOf(v.cache_control) });
    if (Array.isArray(v.content)) visit(v.content, `${path}.content`);
  };
  if (!isObject(body)) return out;
  if (Array.isArray(body.tools)) body.tools.forEach((t, i) => t?.cache_control != null && out.push({ path: `tools[${i}]`, ttl: ttlOf(t.cache_control) }));
  if (Array.isArray(body.system)) visit(body.system, 'system');
  if (Array.isArray(body.messages)) body.messages.forEach((m, i) => isObject(m) && visit(m.content, `messages[${i}].content`));
  if (body.cache_control != null) out.push({ path: 'cache_control', ttl: ttlOf(body.cache_control) });
  return out;
}

// ---------------------------------------------------------------------------------------
// Validation (the first problem wins, like the real API)

function validateBody(b: any, strictAlternation: boolean): string | undefined {
  if (!isObject(b)) return 'There was an issue with the request body JSON: expected an object';
  if (typeof b.model !== 'string' || b.model === '') return 'model: Field required';
  if (b.max_tokens === undefined) return 'max_tokens: Field required';
  if (!Number.isInteger(b.max_tokens) || b.max_tokens < 0) return 'max_tokens: Input should be a valid non-negative integer';
  if (b.stream !== undefined && typeof b.stream !== 'boolean') return 'stream: Input should be a valid boolean';
  if (!Array.isArray(b.messages)) return 'messages: Field required';
  if (b.messages.length === 0) return 'messages: at least one message is required';

  if (b.system !== undefined && b.system !== null) {
    if (Array.isArray(b.system)) {
      for (const [i, blk] of b.system.entries()) {
        if (!isObject(blk) || blk.type !== 'text') return `system.${i}: Input should be a text block`;
        if (typeof blk.text !== 'string' || blk.text === '') return `system.${i}.text: text content blocks must be non-empty`;
      }
    } else if (typeof b.system !== 'string') return 'system: Input should be a valid string or a list of text blocks';
  }

  const toolNames = new Set<string>();
  if (b.tools !== undefined) {
    if (!Array.isArray(b.tools)) return 'tools: Input should be a valid list';
    for (const [i, t] of b.tools.entries()) {
      if (!isObject(t)) return `tools.${i}: Input should be an object`;
      if (typeof t.name !== 'string') return `tools.${i}.name: Field required`;
      const custom = t.type === undefined || t.type === null || t.type === 'custom';
      if (custom) {
        if (!TOOL_NAME.test(t.name)) return `tools.${i}.custom.name: String should match pattern '^[a-zA-Z0-9_-]{1,64}$'`;
        if (!isObject(t.input_schema)) return `tools.${i}.custom.input_schema: Field required`;
        if (t.input_schema.type !== 'object') return `tools.${i}.custom.input_schema.type: Input should be 'object'`;
      }
      if (toolNames.has(t.name)) return `tools: Tool names must be unique (duplicate: ${t.name})`;
      toolNames.add(t.name);
    }
  }

  if (b.tool_choice !== undefined && b.tool_choice !== null) {
    const tc = b.tool_choice;
    if (!isObject(tc) || !['auto', 'any', 'tool', 'none'].includes(tc.type)) return "tool_choice: Input tag must be one of 'auto', 'any', 'tool', 'none'";
    if ((tc.type === 'any' || tc.type === 'tool') && toolNames.size === 0) return `tool_choice: tool_choice.type '${tc.type}' requires tools to be defined`;
    if (tc.type === 'tool' && (typeof tc.name !== 'string' || !toolNames.has(tc.name))) {
      return `tool_choice.name: Tool '${String(tc.name)}' not found in tools`;
    }
  }

  let sawToolBlocks = false;
  for (const [i, m] of b.messages.entries()) {
    if (!isObject(m)) return `messages.${i}: Input should be an object`;
    if (!['user', 'assistant', 'system'].includes(m.role)) return `messages.${i}.role: Input should be 'user', 'assistant' or 'system'`;
    const isLast = i === b.messages.length - 1;
    if (typeof m.content === 'string') {
      if (m.content === '' && !(isLast && m.role === 'assistant')) {
        return `messages.${i}: all messages must have non-empty content except for the optional final assistant message`;
      }
      continue;
    }
    if (!Array.isArray(m.content)) return `messages.${i}.content: Input should be a valid string or list of content blocks`;
    if (m.content.length === 0 && !(isLast && m.role === 'assistant')) {
      return `messages.${i}: all messages must have non-empty content except for the optional final assistant message`;
    }
    for (const [j, blk] of m.content.entries()) {
      const at = `messages.${i}.content.${j}`;
      if (!isObject(blk) || typeof blk.type !== 'string') return `${at}: Input should be a content block with a type`;
      if (blk.type === 'text' && (typeof blk.text !== 'string' || blk.text === '')) return `${at}: text content blocks must be non-empty`;
      if (blk.type === 'tool_use') {
        sawToolBlocks = true;
        if (m.role !== 'assistant') return `${at}: tool_use blocks may only appear in assistant messages`;
        if (typeof blk.id !== 'string' || typeof blk.name !== 'string' || !isObject(blk.input)) {
          return `${at}: tool_use blocks need a string id, a string name and an object input`;
        }
      }
      if (blk.type === 'tool_result') {
        sawToolBlocks = true;
        if (m.role !== 'user') return `${at}: tool_result blocks may only appear in user messages`;
        if (typeof blk.tool_use_id !== 'string') return `${at}.tool_use_id: Field required`;
      }
    }
  }
  if (sawToolBlocks && toolNames.size === 0) {
    return 'messages: Requests which include `tool_use` or `tool_result` blocks must define tools.';
  }

  // Turn structure over user/assistant turns (system-role messages are transparent here).
  const turns = b.messages.map((m: any, i: number) => ({ m, i })).filter(({ m }: any) => m.role !== 'system');
  if (turns.length === 0) return 'messages: at least one user message is required';
  if (turns[0].m.role !== 'user') return `messages.${turns[0].i}: the first message must use the "user" role`;
  for (let k = 1; k < turns.length; k++) {
    if (strictAlternation && turns[k].m.role === turns[k - 1].m.role) {
      return `messages.${turns[k].i}: roles must alternate between "user" and "assistant", but found multiple "${turns[k].m.role}" roles in a row`;
    }
  }
  for (let k = 0; k < turns.length; k++) {
    const { m, i } = turns[k];
    if (m.role === 'assistant') {
      const ids: string[] = contentBlocks(m.content).filter((x) => x?.type === 'tool_use').map((x) => x.id);
      if (ids.length === 0) continue;
      const next = turns[k + 1];
      const answered = new Set<string>(
        next && next.m.role === 'user' ? contentBlocks(next.m.content).filter((x) => x?.type === 'tool_result').map((x) => x.tool_use_id) : [],
      );
      const missing = ids.filter((id) => !answered.has(id));
      if (missing.length > 0) {
        return (
          `messages.${next ? next.i : i}: \`tool_use\` ids were found without \`tool_result\` blocks immediately after: ${missing.join(', ')}. ` +
          'Each `tool_use` block must have a corresponding `tool_result` block in the next message.'
        );
      }
    } else {
      const results: string[] = contentBlocks(m.content).filter((x) => x?.type === 'tool_result').map((x) => x.tool_use_id);
      if (results.length === 0) continue;
      const prev = turns[k - 1];
      const offered = new Set<string>(
        prev && prev.m.role === 'assistant' ? contentBlocks(prev.m.content).filter((x) => x?.type === 'tool_use').map((x) => x.id) : [],
      );
      const stray = results.filter((id) => !offered.has(id));
      if (stray.length > 0) {
        return (
          `messages.${i}.content: unexpected \`tool_use_id\` found in \`tool_result\` blocks: ${stray.join(', ')}. ` +
          'Each `tool_result` block must have a corresponding `tool_use` block in the previous message.'
        );
      }
    }
  }

  const markers = findCacheControls(b as MessagesRequestBody);
  const top = b.cache_control;
  if (top != null && (!isObject(top) || top.type !== 'ephemeral' || (top.ttl !== undefined && top.ttl !== '5m' && top.ttl !== '1h'))) {
    return 'cache_control: Input should be {"type": "ephemeral", "ttl"?: "5m" | "1h"}';
  }
  const bad = findBadCacheControl(b);
  if (bad) return bad;
  if (markers.length > MAX_BREAKPOINTS) return `A maximum of ${MAX_BREAKPOINTS} blocks with cache_control may be provided. Found ${markers.length}.`;
  let seen5m = false;
  for (const mk of markers.filter((x) => x.path !== 'cache_control')) {
    if (mk.ttl === '5m') seen5m = true;
    else if (seen5m) return `${mk.path}: a cache_control block with ttl='1h' must not come after one with ttl='5m'`;
  }
  return undefined;
}

function findBadCacheControl(b: any): string | undefined {
  let problem: string | undefined;
  const visit = (v: unknown, path: string) => {
    if (problem) return;
    if (Array.isArray(v)) return v.forEach((x, i) => visit(x, `${path}.${i}`));
    if (!isObject(v)) return;
    const cc = v.cache_control;
    if (cc != null && (!isObject(cc) || cc.type !== 'ephemeral' || (cc.ttl !== undefined && cc.ttl !== '5m' && cc.ttl !== '1h'))) {
      problem = `${path}.cache_control: Input should be {"type": "ephemeral", "ttl"?: "5m" | "1h"}`;
    }
    for (const [k, val] of Object.entries(v)) {
      if (k !== 'input' && k !== 'input_schema' && k !== 'cache_control' && typeof val === 'object') visit(val, `${path}.${k}`);
    }
  };
  visit(b.tools, 'tools');
  visit(b.system, 'system');
  visit(b.messages, 'messages');
  return problem;
}

// ---------------------------------------------------------------------------------------
// Prompt-cache simulation

interface RenderedBlock {
  hash: string; // rolling hash of the prefix up to and including this block
  chars: number; // cumulative characters up to and including this block
  breakpoint?: '5m' | '1h';
}

function renderBlocks(b: MessagesRequestBody): { blocks: RenderedBlock[]; totalChars: number } {
  const blocks: RenderedBlock[] = [];
  let hash = sha(`model:${b.model}`);
  let chars = 0;
  const push = (serialized: string, cc: unknown) => {
    hash = sha(hash + '\u0000' + serialized);
    chars += serialized.length;
    blocks.push({ hash, chars, ...(cc != null ? { breakpoint: ttlOf(cc) } : {}) });
  };
  for (const t of b.tools ?? []) push(`tool:${JSON.stringify(withoutCacheControl(t))}`, t.cache_control);
  if (typeof b.system === 'string' && b.system !== '') push(`system:${JSON.stringify(b.system)}`, undefined);
  if (Array.isArray(b.system)) for (const s of b.system) push(`system:${JSON.stringify(withoutCacheControl(s))}`, s?.cache_control);
  // tool_choice and thinking change the rendered messages, not the tools/system prefix.
  hash = sha(hash + '\u0000messages:' + JSON.stringify([b.tool_choice ?? null, b.thinking ?? null]));
  for (const m of b.messages ?? []) {
    for (const blk of contentBlocks(m.content)) {
      // A nested cache_control inside tool_result content marks the tool_result block.
      const nested = Array.isArray(blk?.content) ? blk.content.find((x: any) => x?.cache_control != null)?.cache_control : undefined;
      push(`${m.role}:${JSON.stringify(withoutCacheControl(blk))}`, blk?.cache_control ?? nested);
    }
  }
  if (b.cache_control != null && blocks.length > 0) blocks[blocks.length - 1]!.breakpoint ??= ttlOf(b.cache_control);
  return { blocks, totalChars: chars };
}

class PromptCache {
  private entries = new Map<string, number>(); // prefix hash → expiry (ms)
  constructor(
    private readonly now: () => number,
    private readonly lookback: number,
    private readonly minTokens: number,
  ) {}

  size() {
    return this.entries.size;
  }
  clear() {
    this.entries.clear();
  }

  private alive(hash: string, now: number) {
    const exp = this.entries.get(hash);
    if (exp === undefined) return false;
    if (exp <= now) {
      this.entries.delete(hash);
      return false;
    }
    return true;
  }

  /** Computes the input-side usage of a request and records its breakpoints. */
  account(b: MessagesRequestBody) {
    const { blocks, totalChars } = renderBlocks(b);
    const total = tokensOf(totalChars);
    const now = this.now();
    const bps = blocks.map((blk, i) => ({ i, blk })).filter((x) => x.blk.breakpoint !== undefined);
    if (bps.length === 0) return { input: total, read: 0, created5m: 0, created1h: 0 };
    let hit = -1;
    for (const { i } of bps) {
      for (let p = i; p >= 0 && p >= i - this.lookback; p--) {
        if (this.alive(blocks[p]!.hash, now)) {
          hit = Math.max(hit, p);
          break;
        }
      }
    }
    const read = hit >= 0 ? tokensOf(blocks[hit]!.chars) : 0;
    if (hit >= 0) this.entries.set(blocks[hit]!.hash, Math.max(this.entries.get(blocks[hit]!.hash)!, now + TTL_MS['5m']));
    let created5m = 0;
    let created1h = 0;
    let covered = read;
    for (const { i, blk } of bps) {
      const upto = tokensOf(blk.chars);
      if (upto < this.minTokens) continue; // too short to cache: silently not cached
      const ttl = blk.breakpoint!;
      const prev = this.entries.get(blk.hash);
      this.entries.set(blk.hash, Math.max(prev ?? 0, now + TTL_MS[ttl]));
      if (i <= hit || upto <= covered) continue;
      if (ttl === '1h') created1h += upto - covered;
      else created5m += upto - covered;
      covered = upto;
    }
    return { input: total - covered, read, created5m, created1h };
  }

  estimate(b: MessagesRequestBody) {
    return tokensOf(renderBlocks(b).totalChars);
  }
}

// ---------------------------------------------------------------------------------------
// Building messages

function findTool(body: MessagesRequestBody, name: string): ToolDef | undefined {
  return (body.tools ?? []).find((t) => t?.name === name);
}

/**
 * The tool and the (object) input of a malformed tool use: the named tool, else the forced
 * one, else the first offered tool whose schema some object violates. Undefined when none.
 */
export function malformedTarget(body: MessagesRequestBody, named: true | string = true): { name: string; input: Record<string, unknown> } | undefined {
  const tc = body.tool_choice;
  const pinned = typeof named === 'string' ? named : tc?.type === 'tool' ? tc.name : undefined;
  const candidates = pinned !== undefined ? [findTool(body, pinned)] : (body.tools ?? []);
  for (const t of candidates) {
    if (!t || !isObject(t.input_schema)) continue;
    const input = invalidObjectInstance(t.input_schema);
    if (input !== undefined) return { name: t.name, input };
  }
  return undefined;
}

function outputTokens(content: any[]): number {
  let chars = 0;
  for (const c of content) {
    if (c?.type === 'text') chars += String(c.text).length;
    else if (c?.type === 'tool_use') chars += String(c.name).length + JSON.stringify(c.input ?? {}).length;
    else chars += JSON.stringify(c).length;
  }
  return Math.max(1, tokensOf(chars));
}

const isFullMessage = (r: Reply): r is FullMessageReply => isObject(r) && Array.isArray((r as any).content);

// ---------------------------------------------------------------------------------------
// The server

export async function startFakeAnthropic(options: FakeAnthropicOptions = {}): Promise<FakeAnthropic> {
  const strictAlternation = options.strictAlternation ?? true;
  const requireHeaders = options.requireHeaders ?? true;
  const chunkChars = Math.max(1, options.streamChunkChars ?? 24);
  const cache = new PromptCache(options.now ?? Date.now, options.cacheLookbackBlocks ?? 20, options.minCacheableTokens ?? 0);
  let responder: Responder = options.responder ?? minimalResponder();
  const queue: Array<Reply | Responder> = [...(options.script ?? [])];
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  const timers = new Map<NodeJS.Timeout, () => void>();
  let responderCalls = 0;
  let msgCounter = 0;
  let toolCounter = 0;
  let reqCounter = 0;
  let closed = false;

  const nextMsgId = () => `msg_fake_${String(++msgCounter).padStart(6, '0')}`;
  const nextToolId = () => `toolu_fake_${String(++toolCounter).padStart(6, '0')}`;
  const nextRequestId = () => `req_fake_${String(++reqCounter).padStart(6, '0')}`;

  /** Resolves true after `ms`, or false at once if the client went away or the server closed. */
  const wait = (ms: number, res: ServerResponse): Promise<boolean> =>
    new Promise((resolve) => {
      if (res.destroyed) return resolve(false);
      const onClose = () => {
        clearTimeout(timer);
        timers.delete(timer);
        resolve(false);
      };
      const timer = setTimeout(() => {
        timers.delete(timer);
        res.off('close', onClose);
        resolve(!res.destroyed && !closed);
      }, ms);
      timers.set(timer, onClose);
      res.once('close', onClose);
    });

  const sendJson = (res: ServerResponse, status: number, body: unknown, rec: RecordedRequest, headers: Record<string, string> = {}) => {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
      'request-id': headers['request-id'] ?? nextRequestId(),
      ...headers,
    });
    res.end(text);
    rec.response = { status, body, stream: false };
  };

  const sendError = (res: ServerResponse, rec: RecordedRequest, status: number, type: string, message: string, headers: Record<string, string> = {}) => {
    const requestId = nextRequestId();
    sendJson(res, status, errorBody(type, message, requestId), rec, { 'request-id': requestId, ...headers });
  };

  function finishMessage(rec: RecordedRequest, partial: Partial<FakeMessage> & { content: any[] }, usageOverride?: Partial<Usage>): FakeMessage {
    const body = rec.body;
    const { input, read, created5m, created1h } = cache.account(body);
    const content = partial.content;
    const hasToolUse = content.some((c) => c?.type === 'tool_use');
    const usage: Usage = {
      input_tokens: input,
      output_tokens: outputTokens(content),
      cache_creation_input_tokens: created5m + created1h,
      cache_read_input_tokens: read,
      cache_creation: { ephemeral_5m_input_tokens: created5m, ephemeral_1h_input_tokens: created1h },
      server_tool_use: null,
      service_tier: 'standard',
      inference_geo: null,
      output_tokens_details: null,
      speed: null,
      ...(partial.usage ?? {}),
      ...(usageOverride ?? {}),
    };
    return {
      id: partial.id ?? nextMsgId(),
      type: 'message',
      role: 'assistant',
      model: partial.model ?? body.model,
      content,
      stop_reason: partial.stop_reason ?? (hasToolUse ? 'tool_use' : 'end_turn'),
      stop_sequence: partial.stop_sequence ?? null,
      stop_details: partial.stop_details ?? null,
      container: partial.container ?? null,
      diagnostics: partial.diagnostics ?? null,
      usage,
    };
  }

  function toolUseBlock(body: MessagesRequestBody, spec: ToolUseSpec) {
    const schema = findTool(body, spec.name)?.input_schema ?? { type: 'object' };
    return {
      type: 'tool_use',
      id: spec.id ?? nextToolId(),
      name: spec.name,
      input: spec.input !== undefined ? spec.input : minimalInstance(schema),
      caller: { type: 'direct' },
    };
  }

  function messageFromShorthand(rec: RecordedRequest, r: MessageShorthand): FakeMessage {
    const content: any[] = [];
    const uses = [...(r.toolUse === undefined ? [] : Array.isArray(r.toolUse) ? r.toolUse : [r.toolUse]), ...(r.toolUses ?? [])];
    const text = r.text ?? (uses.length === 0 ? 'ok' : undefined);
    if (text !== undefined && text !== '') content.push({ type: 'text', text, citations: null });
    for (const u of uses) content.push(toolUseBlock(rec.body, u));
    return finishMessage(rec, { content, id: r.id, model: r.model, stop_reason: r.stopReason, stop_sequence: r.stopSequence ?? null }, r.usage);
  }

  function writeStream(res: ServerResponse, msg: FakeMessage, rec: RecordedRequest, headersSent: boolean, streamError?: { type: string; message: string }) {
    if (!headersSent) {
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'request-id': nextRequestId() });
    }
    const send = (event: string, data: unknown) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    const chunks = (s: string) => {
      const out: string[] = [];
      for (let i = 0; i < s.length; i += chunkChars) out.push(s.slice(i, i + chunkChars));
      return out.length > 0 ? out : [''];
    };
    send('message_start', {
      type: 'message_start',
      message: { ...msg, content: [], stop_reason: null, stop_sequence: null, usage: { ...msg.usage, output_tokens: 1 } },
    });
    send('ping', { type: 'ping' });
    if (streamError) {
      send('error', { type: 'error', error: streamError });
      res.end();
      rec.response = { status: 200, body: { type: 'error', error: streamError }, stream: true };
      return;
    }
    msg.content.forEach((block, index) => {
      if (block.type === 'text') {
        send('content_block_start', { type: 'content_block_start', index, content_block: { ...block, text: '' } });
        for (const piece of chunks(block.text)) send('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'text_delta', text: piece } });
      } else if (block.type === 'tool_use') {
        send('content_block_start', { type: 'content_block_start', index, content_block: { ...block, input: {} } });
        for (const piece of chunks(JSON.stringify(block.input))) {
          send('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: piece } });
        }
      } else {
        send('content_block_start', { type: 'content_block_start', index, content_block: block });
      }
      send('content_block_stop', { type: 'content_block_stop', index });
    });
    send('message_delta', {
      type: 'message_delta',
      delta: { stop_reason: msg.stop_reason, stop_sequence: msg.stop_sequence, stop_details: msg.stop_details, container: msg.container },
      usage: {
        input_tokens: msg.usage.input_tokens,
        output_tokens: msg.usage.output_tokens,
        cache_creation_input_tokens: msg.usage.cache_creation_input_tokens,
        cache_read_input_tokens: msg.usage.cache_read_input_tokens,
        server_tool_use: msg.usage.server_tool_use,
        output_tokens_details: msg.usage.output_tokens_details,
      },
    });
    send('message_stop', { type: 'message_stop' });
    res.end();
    rec.response = { status: 200, body: msg, stream: true };
  }

  function answerMessage(res: ServerResponse, rec: RecordedRequest, msg: FakeMessage, headersSent = false) {
    rec.outcome = 'message';
    rec.usage = msg.usage;
    if (rec.body.stream === true) return writeStream(res, msg, rec, headersSent);
    if (headersSent) {
      res.end(JSON.stringify(msg));
      rec.response = { status: 200, body: msg, stream: false };
      return;
    }
    sendJson(res, 200, msg, rec);
  }

  async function resolveReply(r: Reply | Responder | undefined, rec: RecordedRequest, index: number): Promise<Reply> {
    if (r === undefined) return responder(rec, index);
    return typeof r === 'function' ? r(rec, index) : r;
  }

  /** Answers one reply (which may be a fault that defers to another reply). */
  async function play(reply: Reply, rec: RecordedRequest, res: ServerResponse, index: number, headersSent = false): Promise<void> {
    const body = rec.body;
    if (!isObject(reply)) throw new Error(`fake-anthropic: a reply must be an object, got ${JSON.stringify(reply)}`);

    if ('delayMs' in reply && typeof reply.delayMs === 'number') {
      const { delayMs, after, ...rest } = reply as DelayFault & MessageShorthand;
      if (!(await wait(delayMs, res))) {
        rec.outcome = 'client-aborted';
        return;
      }
      const next = after !== undefined ? await resolveReply(after, rec, index) : Object.keys(rest).length > 0 ? rest : await resolveReply(undefined, rec, index);
      return play(next, rec, res, index, headersSent);
    }
    if ('stallMs' in reply) {
      const { stallMs, after } = reply;
      if (!headersSent) {
        if (body.stream === true) {
          res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'request-id': nextRequestId() });
        } else {
          res.writeHead(200, { 'content-type': 'application/json', 'request-id': nextRequestId() });
        }
        res.flushHeaders();
      }
      if (!(await wait(stallMs, res))) {
        rec.outcome = 'client-aborted';
        return;
      }
      return play(await resolveReply(after, rec, index), rec, res, index, true);
    }
    if (headersSent && ('status' in reply || 'dropConnection' in reply || 'rawBody' in reply || 'streamError' in reply || 'malformedReply' in reply)) {
      throw new Error('fake-anthropic: after a stall only a message reply can follow');
    }
    if ('dropConnection' in reply) {
      rec.outcome = 'dropped';
      res.socket?.destroy();
      return;
    }
    if ('malformedReply' in reply) {
      const msg = finishMessage(rec, { content: [{ type: 'text', text: 'ok', citations: null }] });
      const { content: _content, ...noContent } = msg;
      const bodies: Record<MalformedReplyKind, [string, string]> = {
        'null-content': [JSON.stringify({ ...msg, content: null }), 'application/json'],
        'missing-content': [JSON.stringify(noContent), 'application/json'],
        'string-content': [JSON.stringify({ ...msg, content: 'ok' }), 'application/json'],
        'null-body': ['null', 'application/json'],
        html: [HTML_PAGE, 'text/html; charset=utf-8'],
        'html-as-json': [HTML_PAGE, 'application/json'],
        'bad-block': [JSON.stringify({ ...msg, content: [{ type: 'tool_use', name: 'say' }] }), 'application/json'],
      };
      const body = bodies[reply.malformedReply];
      if (!body) throw new Error(`fake-anthropic: unknown malformedReply ${JSON.stringify(reply.malformedReply)}`);
      return play({ rawBody: body[0], contentType: body[1] }, rec, res, index, headersSent);
    }
    if ('rawBody' in reply) {
      rec.outcome = 'raw';
      res.writeHead(reply.status ?? 200, { 'content-type': reply.contentType ?? 'application/json', 'request-id': nextRequestId(), ...(reply.headers ?? {}) });
      res.end(reply.rawBody);
      rec.response = { status: reply.status ?? 200, body: reply.rawBody, stream: false };
      return;
    }
    if ('status' in reply && typeof reply.status === 'number') {
      const f = reply as ErrorFault;
      const headers: Record<string, string> = { ...(f.headers ?? {}) };
      if (f.retryAfter !== undefined) headers['retry-after'] = String(f.retryAfter);
      if (f.retryAfterMs !== undefined) headers['retry-after-ms'] = String(f.retryAfterMs);
      if (f.shouldRetry !== undefined) headers['x-should-retry'] = String(f.shouldRetry);
      if (f.status === 429) {
        headers['anthropic-ratelimit-requests-limit'] ??= '50';
        headers['anthropic-ratelimit-requests-remaining'] ??= '0';
      }
      const type = f.errorType ?? ERROR_TYPES[f.status] ?? (f.status >= 500 ? 'api_error' : 'invalid_request_error');
      rec.outcome = 'error';
      return sendError(res, rec, f.status, type, f.message ?? `fake-anthropic: scripted ${f.status} ${type}`, headers);
    }
    if ('streamError' in reply) {
      const e = typeof reply.streamError === 'string' ? { type: reply.streamError } : reply.streamError;
      const err = { type: e.type, message: e.message ?? `fake-anthropic: scripted stream error ${e.type}` };
      if (body.stream !== true) {
        rec.outcome = 'error';
        return sendError(res, rec, STATUS_FOR_ERROR_TYPE[err.type] ?? 500, err.type, err.message);
      }
      rec.outcome = 'error';
      return writeStream(res, finishMessage(rec, { content: [] }), rec, false, err);
    }
    if ('malformedToolInput' in reply) {
      const target = malformedTarget(body, reply.malformedToolInput);
      if (!target) throw new Error('fake-anthropic: malformedToolInput needs an offered tool whose input_schema some object violates');
      const content: any[] = [];
      if (reply.text) content.push({ type: 'text', text: reply.text, citations: null });
      content.push(toolUseBlock(body, target));
      return answerMessage(res, rec, finishMessage(rec, { content }), headersSent);
    }
    if ('unknownTool' in reply) {
      const offered = new Set((body.tools ?? []).map((t) => t?.name));
      let name = typeof reply.unknownTool === 'string' ? reply.unknownTool : 'nonexistent_tool';
      while (offered.has(name)) name += '_x';
      const content: any[] = [];
      if (reply.text) content.push({ type: 'text', text: reply.text, citations: null });
      content.push({ type: 'tool_use', id: nextToolId(), name, input: reply.input ?? {}, caller: { type: 'direct' } });
      return answerMessage(res, rec, finishMessage(rec, { content }), headersSent);
    }
    if (isFullMessage(reply)) {
      const { usage, ...rest } = reply;
      return answerMessage(res, rec, finishMessage(rec, rest as Partial<FakeMessage> & { content: any[] }, usage), headersSent);
    }
    return answerMessage(res, rec, messageFromShorthand(rec, reply as MessageShorthand), headersSent);
  }

  async function handle(req: IncomingMessage, res: ServerResponse, slot: { rec?: RecordedRequest }) {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const rawBody = Buffer.concat(chunks).toString('utf8');
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
    let body: any;
    try {
      body = rawBody === '' ? undefined : JSON.parse(rawBody);
    } catch {
      body = undefined;
    }
    const path = (req.url ?? '/').split('?')[0]!;
    const rec: RecordedRequest = {
      index: requests.length,
      method: req.method ?? 'GET',
      path,
      headers,
      rawBody,
      body,
      receivedAt: Date.now(),
      t: performance.now(),
      retryCount: Number(headers['x-stainless-retry-count'] ?? 0) || 0,
      cacheControls: isObject(body) ? findCacheControls(body as MessagesRequestBody) : [],
    };
    requests.push(rec);
    slot.rec = rec;

    const reject = (status: number, type: string, message: string) => {
      rec.outcome = 'invalid';
      rec.validationError = message;
      sendError(res, rec, status, type, message);
    };

    const isMessages = path === '/v1/messages';
    const isCount = path === '/v1/messages/count_tokens';
    if (req.method !== 'POST' || (!isMessages && !isCount)) return reject(404, 'not_found_error', `Not Found: ${req.method} ${path}`);
    if (requireHeaders && !headers['x-api-key'] && !headers['authorization']) return reject(401, 'authentication_error', 'x-api-key header is required');
    if (requireHeaders && !headers['anthropic-version']) return reject(400, 'invalid_request_error', 'anthropic-version: header is required');
    if (body === undefined) return reject(400, 'invalid_request_error', 'There was an issue with the request body JSON');
    if (isCount) {
      const problem = validateBody({ max_tokens: 0, ...body }, strictAlternation);
      if (problem) return reject(400, 'invalid_request_error', problem);
      rec.outcome = 'message';
      return sendJson(res, 200, { input_tokens: cache.estimate(body) }, rec);
    }
    const problem = validateBody(body, strictAlternation) ?? options.validate?.(body, rec);
    if (problem) return reject(400, 'invalid_request_error', problem);

    const index = responderCalls++;
    const reply = await resolveReply(queue.length > 0 ? queue.shift() : undefined, rec, index);
    await play(reply, rec, res, index);
  }

  const server = createServer((req, res) => {
    const slot: { rec?: RecordedRequest } = {};
    handle(req, res, slot).catch((err: unknown) => {
      // A bug in a test's script or responder: answer 500 that the SDK will NOT retry, so it surfaces.
      const message = `fake-anthropic: ${err instanceof Error ? err.message : String(err)}`;
      const rec = slot.rec;
      if (rec) {
        rec.outcome = 'error';
        rec.validationError = message;
      }
      if (!res.headersSent && !res.destroyed) {
        res.writeHead(500, { 'content-type': 'application/json', 'x-should-retry': 'false' });
        res.end(JSON.stringify(errorBody('api_error', message, nextRequestId())));
      } else if (!res.destroyed) res.destroy();
    });
  });
  server.keepAliveTimeout = 1_000;
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  const handle_: FakeAnthropic = {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    messageRequests: () => requests.filter((r) => r.path === '/v1/messages' && r.outcome !== 'invalid'),
    lastRequest: () => requests[requests.length - 1],
    script(...replies) {
      queue.push(...replies);
      return handle_;
    },
    pending: () => queue.length,
    setResponder(r) {
      responder = r;
    },
    reset() {
      requests.length = 0;
      queue.length = 0;
      cache.clear();
      responderCalls = 0;
    },
    cache: { size: () => cache.size(), clear: () => cache.clear() },
    async close() {
      if (closed) return;
      closed = true;
      for (const [timer, cancel] of timers) {
        clearTimeout(timer);
        cancel();
      }
      timers.clear();
      const done = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      for (const s of sockets) s.destroy();
      await done;
    },
  };
  return handle_;
}

// ---------------------------------------------------------------------------------------
// Responders

export interface MinimalResponderOptions {
  /** Text of a non-tool reply. Default "ok". */
  text?: string | ((request: RecordedRequest) => string);
  /** Per-tool input overrides: a value, or a function of the request and the tool's schema. */
  tools?: Record<string, unknown | ((request: RecordedRequest, schema: JsonSchema) => unknown)>;
  /** With tool_choice {type:'any'}: which offered tool to call. Default: the first one. */
  pickAny?: (tools: ToolDef[], request: RecordedRequest) => string;
}

/**
 * "Answer every request minimally": when tool_choice forces a tool ({type:'tool', name} or
 * {type:'any'}), a tool_use of it whose input is the smallest valid instance of its
 * input_schema (or the override for that tool); otherwise a short text reply.
 */
export function minimalResponder(opts: MinimalResponderOptions = {}): Responder {
  return (request) => {
    const body = request.body;
    const tc = body.tool_choice;
    const tools = (body.tools ?? []).filter((t) => isObject(t) && isObject(t.input_schema));
    let forced: ToolDef | undefined;
    if (tc?.type === 'tool') forced = findTool(body, tc.name ?? '');
    else if (tc?.type === 'any' && tools.length > 0) {
      const name = opts.pickAny ? opts.pickAny(tools, request) : tools[0]!.name;
      forced = findTool(body, name);
    }
    if (forced) {
      const schema = forced.input_schema ?? { type: 'object' };
      const override = opts.tools?.[forced.name];
      const input =
        override === undefined ? minimalInstance(schema)
        : typeof override === 'function' ? (override as (r: RecordedRequest, s: JsonSchema) => unknown)(request, schema)
        : override;
      return { toolUse: { name: forced.name, input } };
    }
    const text = typeof opts.text === 'function' ? opts.text(request) : (opts.text ?? 'ok');
    return { text };
  };
}

/** A responder for strict tests: every unscripted request gets a non-retryable 500 naming it. */
export function failUnscripted(): Responder {
  return (request) => ({
    status: 500,
    shouldRetry: false,
    message: `fake-anthropic: no reply scripted for request #${request.index}`,
  });
}

/** Replays `replies` in order, then defers to `fallback` (default minimal). Useful under `faultInjector`. */
export function sequence(replies: Array<Reply | Responder>, fallback: Responder = minimalResponder()): Responder {
  let i = 0;
  return (request, index) => {
    const r = i < replies.length ? replies[i++]! : fallback;
    return typeof r === 'function' ? r(request, index) : r;
  };
}

export type FaultKind = 'rate_limit' | 'server_error' | 'overloaded' | 'timeout' | 'malformed_tool_input' | 'unknown_tool' | 'drop_connection' | 'malformed_reply';

export const ALL_FAULT_KINDS: readonly FaultKind[] = ['rate_limit', 'server_error', 'overloaded', 'timeout', 'malformed_tool_input', 'unknown_tool'];

export interface FaultInjectorOptions {
  /** Probability (0..1) that a reply is replaced by a fault. */
  rate: number;
  seed: number;
  /** Default: ALL_FAULT_KINDS (drop_connection and malformed_reply only when listed). */
  kinds?: readonly FaultKind[];
  /** At most this many faults in a row per chain; then the inner reply is used. Default 2. */
  maxConsecutive?: number;
  /** Delay of a 'timeout' fault; must exceed the client's timeout. Default 1000 ms. */
  timeoutDelayMs?: number;
  /** `retry-after` (seconds) on 429/529 faults. Default 0.01 (10 ms), to keep tests fast. */
  retryAfter?: number;
  /**
   * Which requests form one chain. Default: the system prompt plus the first message, i.e.
   * one conversation — an SDK retry repeats the body, and a follow-up turn (e.g. the
   * tool_result after a malformed tool input) keeps the same beginning.
   */
  chainKey?: (request: RecordedRequest) => string;
}

export interface FaultInjector extends Responder {
  /** Faults injected so far: responder index, request index and kind. */
  injected: Array<{ index: number; requestIndex: number; kind: FaultKind }>;
}

/** mulberry32: a tiny seeded PRNG, returns floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Wraps a responder and, with a seeded PRNG, replaces a fraction `rate` of its replies with
 * faults — never more than `maxConsecutive` in a row per chain, so a client whose retries
 * (SDK `maxRetries` ≥ maxConsecutive, or its own repair loop) keep going eventually succeeds.
 * Tool faults are only chosen when the request offers tools (malformed input: a tool whose
 * schema some object violates).
 */
export function faultInjector(inner: Responder, opts: FaultInjectorOptions): FaultInjector {
  const rnd = seededRandom(opts.seed);
  const kinds = opts.kinds ?? ALL_FAULT_KINDS;
  const maxConsecutive = opts.maxConsecutive ?? 2;
  const delay = opts.timeoutDelayMs ?? 1_000;
  const retryAfter = opts.retryAfter ?? 0.01;
  const chainKey = opts.chainKey ?? ((r: RecordedRequest) => sha(JSON.stringify([r.body.system ?? null, r.body.messages?.[0] ?? null])));
  const streak = new Map<string, number>();
  const injected: FaultInjector['injected'] = [];
  let malformedCount = 0;

  const fault = (kind: FaultKind): Reply => {
    switch (kind) {
      case 'rate_limit':
        return { status: 429, retryAfter };
      case 'server_error':
        return { status: 500, retryAfter };
      case 'overloaded':
        return { status: 529, retryAfter };
      case 'timeout':
        return { delayMs: delay, after: inner };
      case 'malformed_tool_input':
        return { malformedToolInput: true };
      case 'unknown_tool':
        return { unknownTool: true };
      case 'drop_connection':
        return { dropConnection: true };
      case 'malformed_reply':
        // Each kind in turn, so a run with several such faults sees several kinds.
        return { malformedReply: MALFORMED_REPLY_KINDS[malformedCount++ % MALFORMED_REPLY_KINDS.length]! };
    }
  };

  const fn = (async (request: RecordedRequest, index: number) => {
    const key = chainKey(request);
    const n = streak.get(key) ?? 0;
    const hasTools = (request.body.tools ?? []).some((t) => isObject(t.input_schema));
    const canMalform = hasTools && malformedTarget(request.body) !== undefined;
    const eligible = kinds.filter((k) => (k === 'malformed_tool_input' ? canMalform : k === 'unknown_tool' ? hasTools : true));
    // Always draw twice so the sequence of decisions depends only on the seed and the arrival order.
    const roll = rnd();
    const pick = rnd();
    if (n < maxConsecutive && eligible.length > 0 && roll < opts.rate) {
      const kind = eligible[Math.floor(pick * eligible.length)]!;
      streak.set(key, n + 1);
      injected.push({ index, requestIndex: request.index, kind });
      return fault(kind);
    }
    streak.set(key, 0);
    return inner(request, index);
  }) as FaultInjector;
  fn.injected = injected;
  return fn;
}
