// The Anthropic provider: every model call of a run goes through the official SDK. The SDK
// reads ANTHROPIC_API_KEY and ANTHROPIC_BASE_URL itself, and owns timeouts and retries (429,
// 5xx, 529, connection errors), which are configurable here.
import type { CallSite, Model, ModelReply, ModelRequest } from '../../vm/model/protocol.js';
import { ModelError } from '../../vm/model/protocol.js';

export const DEFAULT_MODEL = 'claude-sonnet-5-5';

export interface AnthropicOptions {
  model?: string;
  apiKey?: string;
  baseURL?: string;
  /** Per-request timeout in ms (SDK default otherwise). */
  timeoutMs?: number;
  /** Retries the SDK makes on retryable errors. */
  maxRetries?: number;
}

type Client = {
  messages: { create(body: unknown, options?: unknown): Promise<unknown> };
};

export class AnthropicModel implements Model {
  readonly id: string;
  private client: Promise<Client> | undefined;

  constructor(private readonly options: AnthropicOptions = {}) {
    this.id = options.model ?? DEFAULT_MODEL;
  }

  /** The SDK is loaded on first use: runs that never reach a natural-language step start faster. */
  private sdk(): Promise<Client> {
    this.client ??= import('@anthropic-ai/sdk').then((m) => {
      const Anthropic = m.default;
      return new Anthropic({
        ...(this.options.apiKey !== undefined ? { apiKey: this.options.apiKey } : {}),
        ...(this.options.baseURL !== undefined ? { baseURL: this.options.baseURL } : {}),
        ...(this.options.timeoutMs !== undefined ? { timeout: this.options.timeoutMs } : {}),
        ...(this.options.maxRetries !== undefined ? { maxRetries: this.options.maxRetries } : {}),
      }) as unknown as Client;
    });
    return this.client;
  }

  async complete(request: ModelRequest, _site: CallSite): Promise<ModelReply> {
    const client = await this.sdk();
    try {
      const reply = (await client.messages.create(request)) as ModelReply;
      return { content: reply.content, stop_reason: reply.stop_reason, usage: reply.usage, model: reply.model };
    } catch (err) {
      const e = err as { status?: number; message?: string; name?: string };
      const status = e.status ? ` (HTTP ${e.status})` : '';
      const retryable = e.status === undefined || e.status === 429 || e.status >= 500;
      throw new ModelError(`${e.name ?? 'error'}${status}: ${e.message ?? String(err)}`, retryable);
    }
  }
}

/** Price per million tokens, for the cost estimate printed by --stats. */
export interface Pricing {
  input: number;
  output: number;
  cacheWrite: number;
  cacheRead: number;
}

const SONNET: Pricing = { input: 3, output: 15, cacheWrite: 3.75, cacheRead: 0.3 };
const HAIKU: Pricing = { input: 1, output: 5, cacheWrite: 1.25, cacheRead: 0.1 };
const OPUS: Pricing = { input: 5, output: 25, cacheWrite: 6.25, cacheRead: 0.5 };

export function pricingFor(model: string): Pricing {
  if (/haiku/.test(model)) return HAIKU;
  if (/opus/.test(model)) return OPUS;
  return SONNET;
}
