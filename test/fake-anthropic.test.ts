// The fake Anthropic Messages API (test/support/fake-anthropic.ts), exercised with the REAL
// @anthropic-ai/sdk client over loopback: plain text, forced tools answered minimally, a
// tool_use → tool_result round trip, streaming, prompt-cache accounting, the SDK's retries of
// 429/500/529/timeouts/dropped connections, 400s for malformed requests, fault injection.
// Every test starts its own server and closes it; the whole file runs in a few seconds.
import Anthropic, { type APIError } from '@anthropic-ai/sdk';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  faultInjector,
  failUnscripted,
  malformedTarget,
  minimalResponder,
  sequence,
  startFakeAnthropic,
  type FakeAnthropic,
  type RecordedRequest,
} from './support/fake-anthropic.js';
import { invalidInstance, invalidObjectInstance, minimalInstance, validateInstance, type JsonSchema } from './support/json-schema.js';

const MODEL = 'claude-haiku-4-5';

const WEATHER_TOOL: Anthropic.Tool = {
  name: 'get_weather',
  description: 'Current weather for a city.',
  input_schema: {
    type: 'object',
    properties: { city: { type: 'string' }, unit: { type: 'string', enum: ['celsius', 'fahrenheit'] } },
    required: ['city'],
  },
};

/** A schema touching every rule of the minimal instance. */
const RICH_SCHEMA: Anthropic.Tool.InputSchema = {
  type: 'object',
  properties: {
    title: { type: 'string' },
    count: { type: 'integer' },
    ratio: { type: 'number', minimum: 0.5 },
    done: { type: 'boolean' },
    tags: { type: 'array', items: { type: 'string' } },
    mode: { type: 'string', enum: ['fast', 'slow'] },
    target: {
      type: 'object',
      properties: { path: { type: 'string' }, depth: { type: 'integer' }, note: { type: 'string' } },
      required: ['path', 'depth'],
    },
    either: { anyOf: [{ type: 'integer' }, { type: 'string' }] },
    one: { oneOf: [{ $ref: '#/$defs/point' }, { type: 'null' }] },
    optional: { type: 'string' },
  },
  required: ['title', 'count', 'ratio', 'done', 'tags', 'mode', 'target', 'either', 'one'],
  $defs: { point: { type: 'object', properties: { x: { type: 'number' }, y: { type: 'number' } }, required: ['x', 'y'] } },
};

const RICH_MINIMAL = {
  title: 'ok',
  count: 0,
  ratio: 0.5,
  done: false,
  tags: [],
  mode: 'fast',
  target: { path: 'ok', depth: 0 },
  either: 0,
  one: { x: 0, y: 0 },
};

let fake: FakeAnthropic;

beforeEach(async () => {
  fake = await startFakeAnthropic();
});
afterEach(async () => {
  await fake.close();
});

function client(opts: { maxRetries?: number; timeout?: number } = {}) {
  return new Anthropic({ apiKey: 'test', baseURL: fake.url, maxRetries: opts.maxRetries ?? 3, timeout: opts.timeout ?? 2_000 });
}

const user = (content: string) => ({ role: 'user' as const, content });

describe('plain messages', () => {
  it('answers a scripted text reply with a complete message and records the request', async () => {
    fake.script({ text: 'Hello from the fake.' });
    const msg = await client().messages.create({ model: MODEL, max_tokens: 256, system: 'Be brief.', messages: [user('Hi!')] });

    expect(msg.type).toBe('message');
    expect(msg.role).toBe('assistant');
    expect(msg.model).toBe(MODEL);
    expect(msg.id).toMatch(/^msg_/);
    expect(msg.content).toEqual([{ type: 'text', text: 'Hello from the fake.', citations: null }]);
    expect(msg.stop_reason).toBe('end_turn');
    expect(msg.usage.input_tokens).toBeGreaterThan(0);
    expect(msg.usage.output_tokens).toBe(Math.ceil('Hello from the fake.'.length / 4));
    expect(msg.usage.cache_read_input_tokens).toBe(0);
    expect(msg.usage.cache_creation_input_tokens).toBe(0);

    expect(fake.requests).toHaveLength(1);
    const req = fake.requests[0]!;
    expect(req.method).toBe('POST');
    expect(req.path).toBe('/v1/messages');
    expect(req.body).toMatchObject({ model: MODEL, max_tokens: 256, system: 'Be brief.', messages: [{ role: 'user', content: 'Hi!' }] });
    expect(req.retryCount).toBe(0);
    // This SDK sends the API key as a bearer token, not as x-api-key.
    expect(req.headers['authorization']).toBe('Bearer test');
    expect(req.headers['anthropic-version']).toBeTruthy();
    expect(req.receivedAt).toBeLessThanOrEqual(Date.now());
    expect(req.outcome).toBe('message');
    expect(req.usage).toEqual(msg.usage);
    expect(fake.pending()).toBe(0);
  });

  it('answers unscripted requests minimally, and accepts a full message object', async () => {
    const c = client();
    const a = await c.messages.create({ model: MODEL, max_tokens: 16, messages: [user('anything')] });
    expect(a.content).toEqual([{ type: 'text', text: 'ok', citations: null }]);

    fake.script({ content: [{ type: 'text', text: 'full', citations: null }], stop_reason: 'max_tokens', usage: { output_tokens: 99 } });
    const b = await c.messages.create({ model: MODEL, max_tokens: 16, messages: [user('anything')] });
    expect(b.stop_reason).toBe('max_tokens');
    expect(b.usage.output_tokens).toBe(99);
    expect(b.usage.input_tokens).toBeGreaterThan(0);
  });

  it('counts tokens on /v1/messages/count_tokens with the same estimate', async () => {
    const c = client();
    const params = { model: MODEL, messages: [user('How many tokens is this?')] };
    const counted = await c.messages.countTokens(params);
    const msg = await c.messages.create({ ...params, max_tokens: 10 });
    expect(counted.input_tokens).toBe(msg.usage.input_tokens);
  });
});

describe('tools', () => {
  it('answers a forced tool call with the smallest valid input', async () => {
    const c = client();
    const msg = await c.messages.create({
      model: MODEL,
      max_tokens: 256,
      tools: [WEATHER_TOOL, { name: 'rich', input_schema: RICH_SCHEMA }],
      tool_choice: { type: 'tool', name: 'rich' },
      messages: [user('Fill it in.')],
    });
    expect(msg.stop_reason).toBe('tool_use');
    expect(msg.content).toHaveLength(1);
    const block = msg.content[0]!;
    expect(block.type).toBe('tool_use');
    if (block.type !== 'tool_use') throw new Error('unreachable');
    expect(block.name).toBe('rich');
    expect(block.id).toMatch(/^toolu_/);
    expect(block.input).toEqual(RICH_MINIMAL);
    expect(validateInstance(RICH_SCHEMA as JsonSchema, block.input)).toEqual([]);

    // tool_choice any → the first offered tool.
    const any = await c.messages.create({
      model: MODEL,
      max_tokens: 256,
      tools: [WEATHER_TOOL],
      tool_choice: { type: 'any' },
      messages: [user('Weather?')],
    });
    expect(any.content).toMatchObject([{ type: 'tool_use', name: 'get_weather', input: { city: 'ok' } }]);

    // tool_choice auto → text.
    const auto = await c.messages.create({ model: MODEL, max_tokens: 256, tools: [WEATHER_TOOL], messages: [user('Weather?')] });
    expect(auto.stop_reason).toBe('end_turn');
    expect(auto.content[0]!.type).toBe('text');
  });

  it('lets minimalResponder override a tool input and the text', async () => {
    fake.setResponder(
      minimalResponder({
        text: (r) => `echo: ${r.body.messages.length}`,
        tools: { get_weather: { city: 'Paris', unit: 'celsius' }, rich: (_r: RecordedRequest, schema: JsonSchema) => ({ ...(minimalInstance(schema) as object), optional: 'set' }) },
      }),
    );
    const c = client();
    const w = await c.messages.create({
      model: MODEL,
      max_tokens: 64,
      tools: [WEATHER_TOOL],
      tool_choice: { type: 'tool', name: 'get_weather' },
      messages: [user('x')],
    });
    expect(w.content).toMatchObject([{ type: 'tool_use', input: { city: 'Paris', unit: 'celsius' } }]);
    const r = await c.messages.create({
      model: MODEL,
      max_tokens: 64,
      tools: [{ name: 'rich', input_schema: RICH_SCHEMA }],
      tool_choice: { type: 'tool', name: 'rich' },
      messages: [user('x')],
    });
    expect(r.content).toMatchObject([{ type: 'tool_use', input: { ...RICH_MINIMAL, optional: 'set' } }]);
    const t = await c.messages.create({ model: MODEL, max_tokens: 64, messages: [user('x')] });
    expect(t.content).toMatchObject([{ type: 'text', text: 'echo: 1' }]);
  });

  it('round-trips tool_use → tool_result, with text and parallel tool uses', async () => {
    fake.script(
      { text: 'Let me check both.', toolUses: [{ name: 'get_weather', input: { city: 'Paris' } }, { name: 'get_weather', input: { city: 'Oslo' } }] },
      { text: 'Paris is sunny, Oslo is cold.' },
    );
    const c = client();
    const messages: Anthropic.MessageParam[] = [user('Weather in Paris and Oslo?')];
    const first = await c.messages.create({ model: MODEL, max_tokens: 512, tools: [WEATHER_TOOL], messages });
    expect(first.stop_reason).toBe('tool_use');
    expect(first.content.map((b) => b.type)).toEqual(['text', 'tool_use', 'tool_use']);
    const uses = first.content.filter((b): b is Anthropic.ToolUseBlock => b.type === 'tool_use');
    expect(new Set(uses.map((u) => u.id)).size).toBe(2);

    messages.push({ role: 'assistant', content: first.content as Anthropic.ContentBlockParam[] });
    messages.push({
      role: 'user',
      content: uses.map((u) => ({ type: 'tool_result' as const, tool_use_id: u.id, content: `weather for ${(u.input as any).city}` })),
    });
    const second = await c.messages.create({ model: MODEL, max_tokens: 512, tools: [WEATHER_TOOL], messages });
    expect(second.content).toMatchObject([{ type: 'text', text: 'Paris is sunny, Oslo is cold.' }]);
    expect(second.stop_reason).toBe('end_turn');

    const sent = fake.requests[1]!.body.messages;
    expect(sent).toHaveLength(3);
    expect(sent[2]!.content).toEqual([
      { type: 'tool_result', tool_use_id: uses[0]!.id, content: 'weather for Paris' },
      { type: 'tool_result', tool_use_id: uses[1]!.id, content: 'weather for Oslo' },
    ]);
  });

  it('injects a tool_use with malformed input, and one naming a tool that was not offered', async () => {
    fake.script({ malformedToolInput: true }, { unknownTool: true }, { malformedToolInput: 'rich', text: 'oops' });
    const c = client();
    const base = {
      model: MODEL,
      max_tokens: 64,
      tools: [WEATHER_TOOL, { name: 'rich', input_schema: RICH_SCHEMA }],
      messages: [user('x')],
    };
    const bad = await c.messages.create(base);
    const use = bad.content[0] as Anthropic.ToolUseBlock;
    expect(use.name).toBe('get_weather');
    expect(validateInstance(WEATHER_TOOL.input_schema as JsonSchema, use.input).length).toBeGreaterThan(0);

    const unknown = await c.messages.create(base);
    const u = unknown.content[0] as Anthropic.ToolUseBlock;
    expect(u.type).toBe('tool_use');
    expect(base.tools.map((t) => t.name)).not.toContain(u.name);
    expect(unknown.stop_reason).toBe('tool_use');

    const bad2 = await c.messages.create(base);
    expect(bad2.content[0]).toMatchObject({ type: 'text', text: 'oops' });
    const use2 = bad2.content[1] as Anthropic.ToolUseBlock;
    expect(use2.name).toBe('rich');
    expect(validateInstance(RICH_SCHEMA as JsonSchema, use2.input).length).toBeGreaterThan(0);
  });
});

describe('streaming', () => {
  it('streams text and tool use that the SDK accumulates into the same message', async () => {
    const text = 'Streaming works: this sentence is long enough to span several text deltas.';
    fake.script({ text, toolUse: { name: 'get_weather', input: { city: 'Lisbon', unit: 'celsius' } } });
    const stream = client().messages.stream({ model: MODEL, max_tokens: 512, tools: [WEATHER_TOOL], messages: [user('Go')] });
    const deltas: string[] = [];
    stream.on('text', (d) => deltas.push(d));
    const final = await stream.finalMessage();

    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.join('')).toBe(text);
    expect(final.stop_reason).toBe('tool_use');
    expect(final.content).toMatchObject([
      { type: 'text', text },
      { type: 'tool_use', name: 'get_weather', input: { city: 'Lisbon', unit: 'celsius' } },
    ]);
    expect(final.usage.output_tokens).toBeGreaterThan(1);
    expect(final.usage.input_tokens).toBeGreaterThan(0);
    const req = fake.requests[0]!;
    expect(req.body.stream).toBe(true);
    expect(req.response?.stream).toBe(true);
    // The recorded message is what the SDK assembled.
    expect((req.response?.body as any).content).toEqual(JSON.parse(JSON.stringify(final.content)));
  });

  it('emits the raw SSE events in the API order for create({ stream: true })', async () => {
    fake.script({ text: 'abc' });
    const events = await client().messages.create({ model: MODEL, max_tokens: 16, stream: true, messages: [user('x')] });
    const types: string[] = [];
    for await (const e of events) types.push(e.type);
    expect(types).toEqual(['message_start', 'content_block_start', 'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop']);
  });

  it('surfaces an error event in the middle of a stream, which the SDK does not retry', async () => {
    fake.script({ streamError: 'overloaded_error' });
    const stream = client().messages.stream({ model: MODEL, max_tokens: 16, messages: [user('x')] });
    const err = await stream.finalMessage().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.APIError);
    expect((err as APIError).status).toBeUndefined();
    expect((err as APIError).type).toBe('overloaded_error');
    expect(fake.requests).toHaveLength(1);
  });
});

describe('prompt caching', () => {
  const SYSTEM = 'You are a meticulous assistant. '.repeat(40);
  const cached = (question: string, system = SYSTEM) => ({
    model: MODEL,
    max_tokens: 64,
    system: [{ type: 'text' as const, text: system, cache_control: { type: 'ephemeral' as const } }],
    messages: [user(question)],
  });

  it('writes the prefix once, reads it while byte-identical, writes again when it changes', async () => {
    const c = client();
    const first = await c.messages.create(cached('First question?'));
    const created = first.usage.cache_creation_input_tokens!;
    expect(created).toBeGreaterThan(SYSTEM.length / 4 - 1);
    expect(first.usage.cache_read_input_tokens).toBe(0);
    expect(first.usage.cache_creation).toEqual({ ephemeral_5m_input_tokens: created, ephemeral_1h_input_tokens: 0 });
    // What follows the breakpoint is plain input.
    expect(first.usage.input_tokens).toBeGreaterThan(0);
    expect(first.usage.input_tokens).toBeLessThan(created);

    const second = await c.messages.create(cached('A different question after the breakpoint?'));
    expect(second.usage.cache_read_input_tokens).toBe(created);
    expect(second.usage.cache_creation_input_tokens).toBe(0);

    const changed = await c.messages.create(cached('First question?', SYSTEM + ' Now in French.'));
    expect(changed.usage.cache_read_input_tokens).toBe(0);
    expect(changed.usage.cache_creation_input_tokens).toBeGreaterThan(created);

    // A different model is a different cache.
    const other = await c.messages.create({ ...cached('First question?'), model: 'claude-sonnet-4-6' });
    expect(other.usage.cache_read_input_tokens).toBe(0);

    // Total input is the same whichever way it is split.
    const total = (u: Anthropic.Usage) => u.input_tokens + u.cache_creation_input_tokens! + u.cache_read_input_tokens!;
    expect(total(first.usage)).toBe(total(fake.requests[0]!.usage as Anthropic.Usage));
    expect(fake.requests[0]!.cacheControls).toEqual([{ path: 'system[0]', ttl: '5m' }]);
  });

  it('follows a conversation whose breakpoint moves forward (lookback), with tools and a 1h TTL', async () => {
    const c = client();
    const tools = [{ ...WEATHER_TOOL, cache_control: { type: 'ephemeral' as const, ttl: '1h' as const } }];
    const turn1: Anthropic.MessageParam[] = [
      { role: 'user', content: [{ type: 'text', text: 'Turn one question.', cache_control: { type: 'ephemeral' } }] },
    ];
    const a = await c.messages.create({ model: MODEL, max_tokens: 64, tools, messages: turn1 });
    expect(a.usage.cache_read_input_tokens).toBe(0);
    expect(a.usage.cache_creation!.ephemeral_1h_input_tokens).toBeGreaterThan(0);
    expect(a.usage.cache_creation!.ephemeral_5m_input_tokens).toBeGreaterThan(0);
    const upToTurn1 = a.usage.cache_creation_input_tokens!;

    // Next turn: the breakpoint moves to the new last user block; the old prefix is found by lookback.
    const turn2: Anthropic.MessageParam[] = [
      { role: 'user', content: [{ type: 'text', text: 'Turn one question.' }] },
      { role: 'assistant', content: 'Turn one answer.' },
      { role: 'user', content: [{ type: 'text', text: 'Turn two question.', cache_control: { type: 'ephemeral' } }] },
    ];
    const b = await c.messages.create({ model: MODEL, max_tokens: 64, tools, messages: turn2 });
    expect(b.usage.cache_read_input_tokens).toBe(upToTurn1);
    expect(b.usage.cache_creation_input_tokens).toBeGreaterThan(0);
    expect(b.usage.cache_creation!.ephemeral_1h_input_tokens).toBe(0);
    expect(fake.requests[1]!.cacheControls.map((m) => m.path)).toEqual(['tools[0]', 'messages[2].content[0]']);
  });
});

describe('retries (the SDK retries; the fake counts)', () => {
  it('retries 429, 500 and 529 and then succeeds', async () => {
    fake.script(
      { status: 429, retryAfter: 0.01 },
      { status: 500, retryAfterMs: 5 },
      { status: 529, retryAfter: 0.01 },
      { text: 'finally' },
    );
    const msg = await client({ maxRetries: 3 }).messages.create({ model: MODEL, max_tokens: 16, messages: [user('x')] });
    expect(msg.content).toMatchObject([{ type: 'text', text: 'finally' }]);
    expect(fake.requests).toHaveLength(4);
    expect(fake.requests.map((r) => r.retryCount)).toEqual([0, 1, 2, 3]);
    expect(fake.requests.map((r) => r.response?.status)).toEqual([429, 500, 529, 200]);
    // Every attempt carries the same body.
    expect(new Set(fake.requests.map((r) => r.rawBody)).size).toBe(1);
    expect(fake.requests[0]!.response?.body).toMatchObject({ type: 'error', error: { type: 'rate_limit_error' } });
  });

  it('gives up after maxRetries with the typed error of the last status', async () => {
    fake.script(...Array.from({ length: 4 }, () => ({ status: 529, retryAfter: 0.005 })));
    const err = await client({ maxRetries: 3 })
      .messages.create({ model: MODEL, max_tokens: 16, messages: [user('x')] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.OverloadedError);
    expect((err as APIError).status).toBe(529);
    expect((err as APIError).type).toBe('overloaded_error');
    expect((err as APIError).requestID).toMatch(/^req_/);
    expect(fake.requests).toHaveLength(4);
  });

  it('obeys x-should-retry over the status code', async () => {
    fake.script({ status: 429, shouldRetry: false });
    const err = await client().messages.create({ model: MODEL, max_tokens: 16, messages: [user('x')] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.RateLimitError);
    expect(fake.requests).toHaveLength(1);

    fake.script({ status: 400, shouldRetry: true, retryAfter: 0.005 }, { text: 'ok after 400' });
    const msg = await client().messages.create({ model: MODEL, max_tokens: 16, messages: [user('x')] });
    expect(msg.content).toMatchObject([{ text: 'ok after 400' }]);
    expect(fake.requests).toHaveLength(3);
  });

  it('without retry-after, backs off by its own schedule (~0.5 s first)', async () => {
    fake.script({ status: 500 }, { text: 'ok' });
    await client().messages.create({ model: MODEL, max_tokens: 16, messages: [user('x')] });
    const gap = fake.requests[1]!.t - fake.requests[0]!.t;
    expect(gap).toBeGreaterThanOrEqual(350); // 0.5 s × jitter in [0.75, 1]
    expect(gap).toBeLessThan(1_500);
  });

  it('retries a request that timed out before the headers arrived', async () => {
    fake.script({ delayMs: 5_000 }, { text: 'in time' });
    const started = performance.now();
    const msg = await client({ timeout: 150 }).messages.create({ model: MODEL, max_tokens: 16, messages: [user('x')] });
    expect(msg.content).toMatchObject([{ text: 'in time' }]);
    expect(fake.requests).toHaveLength(2);
    expect(fake.requests[0]!.outcome).toBe('client-aborted');
    expect(fake.requests[1]!.retryCount).toBe(1);
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it('throws APIConnectionTimeoutError when every attempt times out', async () => {
    fake.script({ delayMs: 5_000 }, { delayMs: 5_000 });
    const err = await client({ timeout: 100 })
      .messages.create({ model: MODEL, max_tokens: 16, messages: [user('x')] }, { maxRetries: 1 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.APIConnectionTimeoutError);
    expect(fake.requests).toHaveLength(2);
  });

  it('does NOT time out a response whose body stalls after the headers', async () => {
    fake.script({ stallMs: 400, after: { text: 'slow body' } });
    const started = performance.now();
    const msg = await client({ timeout: 100 }).messages.create({ model: MODEL, max_tokens: 16, messages: [user('x')] });
    expect(msg.content).toMatchObject([{ text: 'slow body' }]);
    expect(performance.now() - started).toBeGreaterThanOrEqual(380);
    expect(fake.requests).toHaveLength(1);
  });

  it('retries a dropped connection', async () => {
    fake.script({ dropConnection: true }, { text: 'reconnected' });
    const msg = await client().messages.create({ model: MODEL, max_tokens: 16, messages: [user('x')] });
    expect(msg.content).toMatchObject([{ text: 'reconnected' }]);
    expect(fake.requests.map((r) => r.outcome)).toEqual(['dropped', 'message']);
  });
});

describe('request validation (400 invalid_request_error)', () => {
  it('rejects an unanswered tool_use as the SDK BadRequestError, without retrying or consuming the script', async () => {
    fake.script({ text: 'never used' });
    const err = await client()
      .messages.create({
        model: MODEL,
        max_tokens: 16,
        tools: [WEATHER_TOOL],
        messages: [
          user('Weather?'),
          { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Rome' } }] },
          user('Never mind.'),
        ],
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.BadRequestError);
    const e = err as APIError;
    expect(e.status).toBe(400);
    expect(e.type).toBe('invalid_request_error');
    expect(e.apiMessage).toContain('tool_use` ids were found without `tool_result` blocks immediately after: toolu_1');
    expect(e.error).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
    expect(fake.requests).toHaveLength(1);
    expect(fake.requests[0]!.outcome).toBe('invalid');
    expect(fake.pending()).toBe(1);
  });

  const tooManyBreakpoints = Array.from({ length: 5 }, (_, i) => ({ type: 'text' as const, text: `part ${i}`, cache_control: { type: 'ephemeral' as const } }));
  const cases: Array<[string, Record<string, unknown>, string]> = [
    ['no messages', { messages: [] }, 'at least one message'],
    ['assistant first', { messages: [{ role: 'assistant', content: 'hi' }, user('x')] }, 'first message must use the "user" role'],
    ['two user turns in a row', { messages: [user('a'), user('b')] }, 'roles must alternate'],
    ['empty text block', { messages: [{ role: 'user', content: [{ type: 'text', text: '' }] }] }, 'non-empty'],
    ['bad tool name', { tools: [{ ...WEATHER_TOOL, name: 'get weather!' }], messages: [user('x')] }, "String should match pattern '^[a-zA-Z0-9_-]{1,64}$'"],
    ['duplicate tool names', { tools: [WEATHER_TOOL, WEATHER_TOOL], messages: [user('x')] }, 'unique'],
    ['tool_choice names no offered tool', { tools: [WEATHER_TOOL], tool_choice: { type: 'tool', name: 'nope' }, messages: [user('x')] }, "Tool 'nope' not found"],
    ['more than 4 cache_control breakpoints', { system: tooManyBreakpoints, messages: [user('x')] }, 'A maximum of 4 blocks with cache_control may be provided. Found 5.'],
    [
      'a stray tool_result',
      { tools: [WEATHER_TOOL], messages: [{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_x', content: 'r' }] }] },
      'unexpected `tool_use_id`',
    ],
    [
      'tool blocks without tools',
      {
        messages: [
          user('a'),
          { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'get_weather', input: {} }] },
          { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: 'r' }] },
        ],
      },
      'must define tools',
    ],
  ];
  it.each(cases)('rejects %s', async (_name, overrides, message) => {
    const err = await client()
      .messages.create({ model: MODEL, max_tokens: 16, messages: [user('x')], ...overrides } as any)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.BadRequestError);
    expect((err as APIError).apiMessage).toContain(message);
    expect(fake.requests).toHaveLength(1);
  });

  it('can relax alternation (the real API merges consecutive same-role turns)', async () => {
    const lenient = await startFakeAnthropic({ strictAlternation: false });
    try {
      const c = new Anthropic({ apiKey: 'test', baseURL: lenient.url, maxRetries: 0 });
      const msg = await c.messages.create({ model: MODEL, max_tokens: 16, messages: [user('a'), user('b')] });
      expect(msg.content).toMatchObject([{ text: 'ok' }]);
    } finally {
      await lenient.close();
    }
  });

  it('rejects a request without credentials with 401', async () => {
    const res = await fetch(`${fake.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: MODEL, max_tokens: 1, messages: [user('x')] }),
    });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ type: 'error', error: { type: 'authentication_error' } });
  });
});

describe('fault injection', () => {
  const record = (i: number, body: Record<string, unknown>): RecordedRequest =>
    ({ index: i, body: { model: MODEL, max_tokens: 1, ...body } }) as unknown as RecordedRequest;

  it('is deterministic for a seed and never exceeds maxConsecutive faults per chain', async () => {
    const run = async (seed: number) => {
      const inj = faultInjector(minimalResponder(), { rate: 0.6, seed, maxConsecutive: 2 });
      const out: string[] = [];
      for (let i = 0; i < 200; i++) {
        const chain = i % 3; // three interleaved conversations
        const r = await inj(record(i, { tools: [WEATHER_TOOL], messages: [user(`conversation ${chain}`)] }), i);
        out.push(`${chain}:${Object.keys(r).join(',')}`);
      }
      return { out, injected: inj.injected };
    };
    const a = await run(7);
    const b = await run(7);
    const c = await run(8);
    expect(a.out).toEqual(b.out);
    expect(a.out).not.toEqual(c.out);
    expect(new Set(a.injected.map((f) => f.kind))).toEqual(
      new Set(['rate_limit', 'server_error', 'overloaded', 'timeout', 'malformed_tool_input', 'unknown_tool']),
    );
    for (const chain of [0, 1, 2]) {
      const mine = a.out.filter((s) => s.startsWith(`${chain}:`));
      let streak = 0;
      for (const s of mine) {
        streak = s === `${chain}:text` ? 0 : streak + 1;
        expect(streak).toBeLessThanOrEqual(2);
      }
    }
    // Tool faults only when tools are offered.
    const noTools = faultInjector(minimalResponder(), { rate: 1, seed: 1, kinds: ['malformed_tool_input', 'unknown_tool'] });
    expect(await noTools(record(0, { messages: [user('x')] }), 0)).toEqual({ text: 'ok' });
  });

  it('lets an SDK client with retries get through HTTP faults and timeouts', async () => {
    const inj = faultInjector(minimalResponder(), {
      rate: 0.5,
      seed: 5, // injects every kind, only two of them timeouts (each costs the SDK's ~0.5 s backoff)
      kinds: ['rate_limit', 'server_error', 'overloaded', 'timeout'],
      maxConsecutive: 2,
      timeoutDelayMs: 2_000,
      retryAfter: 0.005,
    });
    fake.setResponder(inj);
    const c = client({ maxRetries: 2, timeout: 120 });
    for (let i = 0; i < 12; i++) {
      const msg = await c.messages.create({ model: MODEL, max_tokens: 16, messages: [user(`request ${i}`)] });
      expect(msg.content).toMatchObject([{ type: 'text', text: 'ok' }]);
    }
    expect(new Set(inj.injected.map((f) => f.kind))).toEqual(new Set(['rate_limit', 'server_error', 'overloaded', 'timeout']));
    expect(fake.requests.length).toBe(12 + inj.injected.length);
    expect(fake.requests.filter((r) => r.outcome === 'client-aborted')).toHaveLength(inj.injected.filter((f) => f.kind === 'timeout').length);
  });

  it('lets a repair loop get through malformed and unknown tool uses', async () => {
    fake.setResponder(faultInjector(minimalResponder(), { rate: 1, seed: 3, kinds: ['malformed_tool_input', 'unknown_tool'], maxConsecutive: 2 }));
    const c = client();
    const tools = [WEATHER_TOOL];
    const messages: Anthropic.MessageParam[] = [user('Weather in Paris?')];
    for (let turn = 0; ; turn++) {
      expect(turn).toBeLessThanOrEqual(2);
      const msg = await c.messages.create({ model: MODEL, max_tokens: 64, tools, tool_choice: { type: 'any' }, messages });
      const use = msg.content.find((b): b is Anthropic.ToolUseBlock => b.type === 'tool_use')!;
      const tool = tools.find((t) => t.name === use.name);
      const problems = tool ? validateInstance(tool.input_schema as JsonSchema, use.input) : [`no tool named ${use.name}`];
      if (problems.length === 0) break;
      messages.push({ role: 'assistant', content: msg.content as Anthropic.ContentBlockParam[] });
      messages.push({ role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, is_error: true, content: problems.join('; ') }] });
    }
    expect(fake.requests).toHaveLength(3);
  });
});

describe('helpers and lifecycle', () => {
  it('builds invalid instances that really are invalid', () => {
    for (const schema of [WEATHER_TOOL.input_schema, RICH_SCHEMA, { type: 'object' }, { type: 'object', properties: {}, additionalProperties: false }]) {
      expect(validateInstance(schema as JsonSchema, minimalInstance(schema as JsonSchema))).toEqual([]);
      expect(validateInstance(schema as JsonSchema, invalidInstance(schema as JsonSchema)).length).toBeGreaterThan(0);
    }
    // No object violates a bare object schema, so a malformed tool use skips such a tool.
    expect(invalidObjectInstance({ type: 'object' })).toBeUndefined();
    const body = { model: MODEL, max_tokens: 1, messages: [], tools: [{ name: 'free', input_schema: { type: 'object' } }, WEATHER_TOOL] };
    expect(malformedTarget(body as any)).toEqual({ name: 'get_weather', input: {} }); // required city dropped
  });

  it('replays sequences and fails loudly (without retries) when a strict test runs out of script', async () => {
    const strict = await startFakeAnthropic({ responder: sequence([{ text: 'one' }], failUnscripted()) });
    try {
      const c = new Anthropic({ apiKey: 'test', baseURL: strict.url, maxRetries: 3 });
      expect((await c.messages.create({ model: MODEL, max_tokens: 8, messages: [user('x')] })).content).toMatchObject([{ text: 'one' }]);
      const err = await c.messages.create({ model: MODEL, max_tokens: 8, messages: [user('x')] }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Anthropic.InternalServerError);
      expect((err as Error).message).toContain('no reply scripted for request #1');
      expect(strict.requests).toHaveLength(2);
    } finally {
      await strict.close();
    }
  });

  it('closes promptly with a reply still pending and leaves no server handle behind', async () => {
    const settle = () => new Promise((r) => setTimeout(r, 20)); // handles of closed servers go away a tick later
    const servers = () => process.getActiveResourcesInfo().filter((r) => r === 'TCPServerWrap').length;
    await settle();
    const before = servers();
    const extra = await startFakeAnthropic({ script: [{ delayMs: 60_000 }] });
    expect(servers()).toBe(before + 1);
    const c = new Anthropic({ apiKey: 'test', baseURL: extra.url, maxRetries: 0, timeout: 30_000 });
    const pending = c.messages.create({ model: MODEL, max_tokens: 8, messages: [user('x')] }).catch((e: unknown) => e);
    while (extra.requests.length === 0) await new Promise((r) => setTimeout(r, 5));
    const started = performance.now();
    await extra.close();
    await extra.close(); // idempotent
    expect(await pending).toBeInstanceOf(Anthropic.APIConnectionError);
    expect(performance.now() - started).toBeLessThan(1_000);
    await settle();
    expect(servers()).toBe(before);
    const refused = await fetch(`${extra.url}/v1/messages`, { method: 'POST' }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(TypeError); // fetch failed: ECONNREFUSED
  });
});
