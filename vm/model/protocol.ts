// The one interface every model call goes through. Shapes follow the Anthropic Messages
// API (which the default provider speaks natively); another provider adapts to them.

export interface CacheControl {
  type: 'ephemeral';
}

export interface TextBlock {
  type: 'text';
  text: string;
  cache_control?: CacheControl;
}

export interface ToolUseBlock {
  type: 'tool_use';
  id: string;
  name: string;
  input: unknown;
}

export interface ToolResultBlock {
  type: 'tool_result';
  tool_use_id: string;
  content: string;
  is_error?: boolean;
  cache_control?: CacheControl;
}

export type ContentBlock = TextBlock | ToolUseBlock | ToolResultBlock;

export interface ModelMessage {
  role: 'user' | 'assistant';
  content: ContentBlock[];
}

export interface ModelTool {
  name: string;
  description: string;
  input_schema: Record<string, unknown>;
  cache_control?: CacheControl;
}

export type ToolChoice = { type: 'auto' } | { type: 'any' } | { type: 'tool'; name: string };

export interface ModelRequest {
  model: string;
  max_tokens: number;
  system: TextBlock[];
  tools: ModelTool[];
  tool_choice?: ToolChoice;
  messages: ModelMessage[];
}

export interface Usage {
  input_tokens: number;
  output_tokens: number;
  cache_read_input_tokens?: number | null;
  cache_creation_input_tokens?: number | null;
}

export interface ModelReply {
  content: Array<TextBlock | ToolUseBlock>;
  stop_reason: string | null;
  usage: Usage;
  model: string;
}

/** Where the request comes from, for logs, replay keys and error messages. */
export interface CallSite {
  agent: string;
  playbook: string;
  step: string;
  line: number;
  file: string;
  /** What the call is for: step, cond, value, list, say, ask-phrase, triggers, generate ... */
  purpose: string;
}

export interface Model {
  /** Model id as sent to the API. */
  readonly id: string;
  complete(request: ModelRequest, site: CallSite): Promise<ModelReply>;
}

/** A model call failed for good (retries exhausted, auth, ...). The run stays resumable. */
export class ModelError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
    this.name = 'ModelError';
  }
}

/** Rough token estimate used for budgets and benchmarks: 4 characters per token. */
export function estimateTokens(value: unknown): number {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return Math.ceil(text.length / 4);
}
