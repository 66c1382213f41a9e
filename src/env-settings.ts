// The PB_* environment variables pbvm reads, checked: a value that does not parse is an
// error (exit 2), never silently ignored. An empty value counts as unset.

/** A bad setting (environment variable or flag value): a usage error. */
export class SettingError extends Error {}

export interface EnvSettings {
  /** PB_MODEL: model id. */
  model?: string;
  /** PB_MODEL_TIMEOUT_MS: the SDK's timeout per model request. */
  modelTimeoutMs?: number;
  /** PB_MODEL_RETRIES: the SDK's retries per model request. */
  modelRetries?: number;
  /** PB_TOOL_TIMEOUT_MS: default limit of a host tool call (0: none). */
  toolTimeoutMs?: number;
}

/** The largest delay a timer accepts (ms). */
const MAX_DELAY_MS = 2 ** 31 - 1;

/** A whole decimal number within [min, max]: digits only (no sign, exponent, hex or spaces). */
export function parseWhole(text: string, min: number, max: number): number | undefined {
  if (!/^[0-9]+$/.test(text)) return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) && n >= min && n <= max ? n : undefined;
}

function whole(env: NodeJS.ProcessEnv, name: string, min: number, max: number, unit: string, note = ''): number | undefined {
  const text = env[name];
  if (text === undefined || text === '') return undefined;
  const n = parseWhole(text, min, max);
  if (n === undefined) throw new SettingError(`error: ${name}=${JSON.stringify(text)}: expected a whole number of ${unit} from ${min} to ${max}${note}`);
  return n;
}

/** Reads and checks every PB_* variable pbvm uses; throws SettingError naming the bad one. */
export function readEnv(env: NodeJS.ProcessEnv): EnvSettings {
  const out: EnvSettings = {};
  const model = env.PB_MODEL?.trim();
  if (env.PB_MODEL !== undefined && env.PB_MODEL !== '' && (!model || /\s/.test(model))) {
    throw new SettingError(`error: PB_MODEL=${JSON.stringify(env.PB_MODEL)}: expected a model id (no spaces)`);
  }
  if (model) out.model = model;
  const modelTimeoutMs = whole(env, 'PB_MODEL_TIMEOUT_MS', 1, MAX_DELAY_MS, 'milliseconds');
  if (modelTimeoutMs !== undefined) out.modelTimeoutMs = modelTimeoutMs;
  const modelRetries = whole(env, 'PB_MODEL_RETRIES', 0, 100, 'retries');
  if (modelRetries !== undefined) out.modelRetries = modelRetries;
  const toolTimeoutMs = whole(env, 'PB_TOOL_TIMEOUT_MS', 0, MAX_DELAY_MS, 'milliseconds', ' (0: no limit)');
  if (toolTimeoutMs !== undefined) out.toolTimeoutMs = toolTimeoutMs;
  return out;
}
