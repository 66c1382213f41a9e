// Chooses the model for a run from flags and environment: a replay file (no calls at all),
// else Claude through the SDK when an API key or base URL is configured, else none (a
// natural-language step then stops the run with a clear, resumable error).
import type { ModelHost } from '../vm/runner.js';
import type { Model } from '../vm/model/protocol.js';
import { AnthropicModel, DEFAULT_MODEL } from './providers/anthropic.js';
import { RecordingModel, ReplayModel } from './replay-file.js';
import { RunStats } from './stats.js';
import { DEFAULT_CONTEXT } from '../vm/model/context.js';
import { readEnv } from './env-settings.js';

export interface ModelFlags {
  model?: string;
  record?: string;
  replay?: string;
  maxModelCalls?: number;
  /** Let the model phrase deterministic Ask questions (default false: opt-in). */
  phraseAsks?: boolean;
  /** Token budget of a frame's history before compaction. */
  contextBudget?: number;
}

export interface ConfiguredModel {
  host: ModelHost;
  stats: RunStats;
  /** One line for stderr describing where replies come from. */
  banner: string;
}

/** Throws SettingError (from env-settings.ts) when a PB_* variable holds a bad value. */
export function configureModel(flags: ModelFlags, env: NodeJS.ProcessEnv, progress: (line: string, live: boolean) => void, tty: boolean): ConfiguredModel | undefined {
  // Checked whether or not a model gets configured: a bad value is reported, never ignored.
  const settings = readEnv(env);
  let model: Model;
  let banner: string;
  if (flags.replay) {
    model = new ReplayModel(flags.replay);
    banner = `pb: replaying recorded model replies from ${flags.replay} (no model calls)`;
  } else if (env.ANTHROPIC_API_KEY || env.ANTHROPIC_BASE_URL) {
    model = new AnthropicModel({
      model: flags.model ?? settings.model ?? DEFAULT_MODEL,
      ...(settings.modelTimeoutMs !== undefined ? { timeoutMs: settings.modelTimeoutMs } : {}),
      ...(settings.modelRetries !== undefined ? { maxRetries: settings.modelRetries } : {}),
    });
    banner = `pb: model ${model.id} via the Anthropic API`;
  } else {
    return undefined;
  }
  if (flags.record) {
    model = new RecordingModel(model, flags.record);
    banner += `; recording replies to ${flags.record}`;
  }
  const stats = new RunStats(model.id, progress, tty);
  const host: ModelHost = {
    model,
    ...(flags.maxModelCalls !== undefined ? { maxCalls: flags.maxModelCalls } : {}),
    phraseAsks: flags.phraseAsks === true,
    ...(flags.contextBudget !== undefined ? { driver: { context: { ...DEFAULT_CONTEXT, logBudgetTokens: flags.contextBudget } } } : {}),
    // Replies from a replay file count as replayed, not as model calls.
    onCall: (site, reply, replayed) => stats.record(site, reply, replayed || !!flags.replay),
  };
  return { host, stats, banner };
}
