// The Anthropic provider: every model call of a run goes through the official SDK. The SDK
// reads ANTHROPIC_API_KEY and ANTHROPIC_BASE_URL itself, and owns timeouts and retries (429,
// 5xx, 529, connection errors), which are configurable here. Replies are checked here
// (vm/model/reply.ts) and come out in canonical form.
import type { CallSite, Model, ModelReply, ModelRequest } from '../../vm/model/protocol.js';
import { ModelError } from '../../vm/model/protocol.js';
import { checkReply } from '../../vm/model/reply.js';

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
  messages: { create(body: unknown, options?: unknown): { withResponse(): Promise<{ data: unknown; response: Response }> } };
};

type Sdk = { client: Client; isApiError: (err: unknown) => boolean };

/** The SDK's own default, used when no retry count is configured. */
const SDK_DEFAULT_RETRIES = 2;

export class AnthropicModel implements Model {
  readonly id: string;
  private client: Promise<Sdk> | undefined;

  constructor(private readonly options: AnthropicOptions = {}) {
    this.id = options.model ?? DEFAULT_MODEL;
  }

  /** The SDK is loaded on first use: runs that never reach a natural-language step start faster. */
  private sdk(): Promise<Sdk> {
    this.client ??= import('@anthropic-ai/sdk').then((m) => {
      const Anthropic = m.default;
      const client = new Anthropic({
        ...(this.options.apiKey !== undefined ? { apiKey: this.options.apiKey } : {}),
        ...(this.options.baseURL !== undefined ? { baseURL: this.options.baseURL } : {}),
        ...(this.options.timeoutMs !== undefined ? { timeout: this.options.timeoutMs } : {}),
        ...(this.options.maxRetries !== undefined ? { maxRetries: this.options.maxRetries } : {}),
      }) as unknown as Client;
      return { client, isApiError: (err: unknown) => err instanceof m.APIError };
    });
    return this.client;
  }

  /**
   * One model call. HTTP errors are retried by the SDK. A reply that arrives but is not a
   * Messages reply (an HTML page with status 200, `content: null`, a body that is not JSON)
   * is a transient fault of the API too: it is retried here as often, then reported as a
   * retryable ModelError (the run stops, resumable). It never reaches the VM.
   */
  async complete(request: ModelRequest, _site: CallSite): Promise<ModelReply> {
    const { client, isApiError } = await this.sdk();
    const retries = this.options.maxRetries ?? SDK_DEFAULT_RETRIES;
    let problem = '';
    for (let attempt = 0; attempt <= retries; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, backoffMs(attempt)));
      let data: unknown;
      let response: Response;
      try {
        ({ data, response } = await client.messages.create(request).withResponse());
      } catch (err) {
        // Anything but the SDK's own errors is its failure to read the body of a 200 reply.
        if (!isApiError(err)) {
          problem = `its body could not be read (${(err as Error)?.message ?? String(err)})`;
          continue;
        }
        const e = err as { status?: number; message?: string; name?: string };
        const status = e.status ? ` (HTTP ${e.status})` : '';
        const retryable = e.status === undefined || e.status === 429 || e.status >= 500;
        throw new ModelError(`${e.name ?? 'error'}${status}: ${e.message ?? String(err)}`, retryable);
      }
      const checked = checkReply(data);
      if (checked.ok) return checked.reply;
      problem = `${checked.problem} (HTTP ${response.status}, ${response.headers.get('content-type') ?? 'no content type'})`;
    }
    const times = retries + 1;
    throw new ModelError(`the API sent ${times === 1 ? 'an invalid reply' : `${times} invalid replies in a row`}: ${problem}`, true);
  }
}

/** Like the SDK's backoff: 0.5 s doubling up to 8 s, with up to 25% jitter. */
function backoffMs(attempt: number): number {
  return Math.min(500 * 2 ** (attempt - 1), 8000) * (1 - Math.random() * 0.25);
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
