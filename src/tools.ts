// Host tools: functions exported by a TS/JS module (`--tools`), and the exported functions
// of the program's own ```ts / ```js blocks. Each call gets a stable call id (the same one
// again when an interrupted call is re-issued on resume), readable as `this.callId` or
// through toolCall() for deduplication. Each call has a time limit: the tool's own
// (`Name.timeoutMs = ms`, or an exported `timeouts` object), else the run's.
import { AsyncLocalStorage } from 'node:async_hooks';
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createHash } from 'node:crypto';
import type { Program } from '../vm/pbasm/program.js';
import { ToolNotFound, type ToolEffect, type ToolHost } from '../vm/runner.js';
import { callWithin } from '../vm/tool-timeout.js';
import { writeFileAtomic } from './atomic-write.js';

/** The time limit of a tool call unless the tool or the run sets another (ms). */
export const DEFAULT_TOOL_TIMEOUT_MS = 120_000;
/** The longest limit a timer can wait for (about 24.8 days); 0 means no limit. */
export const MAX_TOOL_TIMEOUT_MS = 2 ** 31 - 1;

export interface ToolCallContext {
  callId: string;
  runId: string;
  seq: number;
  name: string;
}

const current = new AsyncLocalStorage<ToolCallContext>();

/** The call being served, for tools that prefer not to use `this`. */
export function toolCall(): ToolCallContext | undefined {
  return current.getStore();
}

type ToolFn = (this: ToolCallContext, ...args: unknown[]) => unknown;

export class ToolLoadError extends Error {}

async function importModule(path: string): Promise<Record<string, unknown>> {
  const url = pathToFileURL(resolve(path)).href;
  if (/\.(c|m)?tsx?$/.test(path)) {
    const { tsImport } = await import('tsx/esm/api');
    return (await tsImport(url, import.meta.url)) as Record<string, unknown>;
  }
  return (await import(url)) as Record<string, unknown>;
}

/** The tools of a module: its exported functions, and the time limits they declare. */
export interface ToolSet {
  fns: Map<string, ToolFn>;
  /** Per-tool limits in ms (0: none), from `Name.timeoutMs` or the module's `timeouts` export. */
  timeouts: Map<string, number>;
}

function toolSet(mod: Record<string, unknown>, where: string): ToolSet {
  const fns = new Map<string, ToolFn>();
  for (const [name, v] of Object.entries(mod)) if (typeof v === 'function' && name !== 'default') fns.set(name, v as ToolFn);
  const d = mod.default;
  if (d && typeof d === 'object') for (const [name, v] of Object.entries(d)) if (typeof v === 'function' && !fns.has(name)) fns.set(name, v as ToolFn);
  const timeouts = new Map<string, number>();
  const table = mod.timeouts ?? (d && typeof d === 'object' ? (d as Record<string, unknown>).timeouts : undefined);
  if (table !== undefined) {
    if (!table || typeof table !== 'object' || Array.isArray(table)) throw new ToolLoadError(`${where}: error: the 'timeouts' export must be an object of tool name → milliseconds`);
    for (const [name, ms] of Object.entries(table)) {
      if (!fns.has(name)) throw new ToolLoadError(`${where}: error: timeouts names '${name}', which is not an exported function`);
      timeouts.set(name, limit(ms, `timeouts.${name}`, where));
    }
  }
  for (const [name, fn] of fns) {
    const own = (fn as { timeoutMs?: unknown }).timeoutMs;
    if (own !== undefined) timeouts.set(name, limit(own, `${name}.timeoutMs`, where));
  }
  return { fns, timeouts };
}

function limit(ms: unknown, what: string, where: string): number {
  if (typeof ms !== 'number' || !Number.isInteger(ms) || ms < 0 || ms > MAX_TOOL_TIMEOUT_MS) {
    throw new ToolLoadError(`${where}: error: ${what} must be a whole number of milliseconds from 0 (no limit) to ${MAX_TOOL_TIMEOUT_MS}, got ${JSON.stringify(ms) ?? String(ms)}`);
  }
  return ms;
}

export async function loadToolModule(path: string): Promise<ToolSet> {
  if (!existsSync(path)) throw new ToolLoadError(`${path}: error: tools module not found`);
  let mod: Record<string, unknown>;
  try {
    mod = await importModule(path);
  } catch (err) {
    throw new ToolLoadError(`${path}: error: cannot load tools module: ${(err as Error).message}`);
  }
  return toolSet(mod, path);
}

export interface ToolHostOptions {
  /** Limit of a call whose tool sets none (ms; 0: no limit). Default DEFAULT_TOOL_TIMEOUT_MS. */
  timeoutMs?: number;
}

let privateCodeDir: string | undefined;

/**
 * A directory only this user can write, for the program's code blocks: a per-user one under
 * the temp dir when it is safely ours (a directory, not a link, owned by us, mode 0700), else
 * a fresh one for this process. A shared directory would let anyone plant a file to run.
 */
function codeDir(): string {
  if (privateCodeDir) return privateCodeDir;
  const uid = process.getuid?.();
  const dir = join(tmpdir(), `pbvm-code-${uid ?? 'user'}`);
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const st = lstatSync(dir);
  if (st.isDirectory() && !st.isSymbolicLink() && (uid === undefined || st.uid === uid)) {
    if ((st.mode & 0o077) !== 0) chmodSync(dir, 0o700);
    privateCodeDir = dir;
  } else {
    const own = mkdtempSync(join(tmpdir(), 'pbvm-code-'));
    process.once('exit', () => rmSync(own, { recursive: true, force: true }));
    privateCodeDir = own;
  }
  return privateCodeDir;
}

/** The file holding a block's source, (re)written unless its content already matches its hash. */
function blockFile(source: string, lang: string): string {
  const sha = createHash('sha256').update(source).digest('hex');
  const file = join(codeDir(), `${sha}.${lang === 'ts' ? 'ts' : 'mjs'}`);
  let current: Buffer | undefined;
  try {
    current = readFileSync(file);
  } catch {
    // Not written yet.
  }
  if (!current || createHash('sha256').update(current).digest('hex') !== sha) writeFileAtomic(file, source, false);
  return file;
}

export class ModuleToolHost implements ToolHost {
  private readonly blocks = new Map<string, Promise<ToolSet>>();
  private readonly tools: ToolSet;
  private readonly timeoutMs: number;

  constructor(
    tools: ToolSet | Map<string, ToolFn>,
    private readonly program: Program,
    private readonly runId: string,
    options: ToolHostOptions = {},
  ) {
    this.tools = tools instanceof Map ? { fns: tools, timeouts: new Map() } : tools;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TOOL_TIMEOUT_MS;
  }

  /** Imports a program's ```ts/```js block once, from a content-addressed file in a private directory. */
  private block(agent: string, index: number): Promise<ToolSet> {
    const key = `${agent}#${index}`;
    let loaded = this.blocks.get(key);
    if (!loaded) {
      const block = this.program.agents.find((a) => a.name === agent)?.blocks[index];
      if (!block) throw new ToolNotFound(`code block ${index} of agent '${agent}' is missing`);
      loaded = importModule(blockFile(block.source, block.lang)).then((mod) => toolSet(mod, `code block ${index + 1} of agent '${agent}'`));
      this.blocks.set(key, loaded);
    }
    return loaded;
  }

  names(): string[] {
    return [...this.tools.fns.keys()];
  }

  /** `Name(param, other)` for each tool, for the model's listing. */
  signatures(): string[] {
    return [...this.tools.fns].map(([name, fn]) => `${name}(${(parameterNames(fn) ?? ['...']).join(', ')})`);
  }

  async call(effect: ToolEffect): Promise<unknown> {
    const set = effect.block ? await this.block(effect.block.agent, effect.block.index) : this.tools;
    const fn = set.fns.get(effect.name);
    if (!fn) throw new ToolNotFound(`'${effect.name}' is not a playbook of this program or a loaded host tool`);
    const ctx: ToolCallContext = { callId: effect.callId, runId: this.runId, seq: effect.seq, name: effect.name };
    const limitMs = set.timeouts.get(effect.name) ?? this.timeoutMs;
    return callWithin(() => current.run(ctx, () => fn.apply(ctx, toolArguments(fn, effect.args, effect.kwargs))), limitMs);
  }
}

/**
 * Keyword arguments (the model always calls with them) go to the parameters of the same
 * names, in order; when a key names no parameter, they are passed as one trailing object.
 */
export function toolArguments(fn: ToolFn, args: readonly unknown[], kwargs: Record<string, unknown>): unknown[] {
  const keys = Object.keys(kwargs);
  if (keys.length === 0) return [...args];
  const names = parameterNames(fn);
  if (!names || !keys.every((k) => names.indexOf(k) >= args.length)) return [...args, kwargs];
  const out: unknown[] = [...args];
  const last = Math.max(...keys.map((k) => names.indexOf(k)));
  for (let i = args.length; i <= last; i++) out.push(kwargs[names[i]!]);
  return out;
}

/** A function's parameter names from its source text; undefined when they cannot be read (destructuring, natives). */
export function parameterNames(fn: ToolFn): string[] | undefined {
  const text = Function.prototype.toString.call(fn);
  const open = text.indexOf('(');
  const arrow = /^(?:async\s+)?([A-Za-z_$][\w$]*)\s*=>/.exec(text);
  if (arrow) return [arrow[1]!];
  if (open < 0) return undefined;
  let depth = 0;
  let end = -1;
  for (let i = open; i < text.length; i++) {
    const c = text[i];
    if (c === '(' || c === '[' || c === '{') depth++;
    else if (c === ')' || c === ']' || c === '}') {
      depth--;
      if (depth === 0) {
        end = i;
        break;
      }
    }
  }
  if (end < 0) return undefined;
  const inner = text.slice(open + 1, end).trim();
  if (!inner) return [];
  const parts: string[] = [];
  let cur = '';
  depth = 0;
  for (const c of inner) {
    if (c === '(' || c === '[' || c === '{') depth++;
    if (c === ')' || c === ']' || c === '}') depth--;
    if (c === ',' && depth === 0) {
      parts.push(cur);
      cur = '';
    } else cur += c;
  }
  parts.push(cur);
  const names = parts.map((p) => p.replace(/\/\*.*?\*\//g, '').split('=')[0]!.trim().replace(/^\.\.\./, ''));
  return names.every((n) => /^[A-Za-z_$][\w$]*$/.test(n)) ? names : undefined;
}
