// Host tools: functions exported by a TS/JS module (`--tools`), and the exported functions
// of the program's own ```ts / ```js blocks. Each call gets a stable call id (the same one
// again when an interrupted call is re-issued on resume), readable as `this.callId` or
// through toolCall() for deduplication.
import { AsyncLocalStorage } from 'node:async_hooks';
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createHash } from 'node:crypto';
import type { Program } from '../vm/pbasm/program.js';
import { ToolNotFound, type ToolEffect, type ToolHost } from '../vm/runner.js';

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

function functionsOf(mod: Record<string, unknown>): Map<string, ToolFn> {
  const out = new Map<string, ToolFn>();
  for (const [name, v] of Object.entries(mod)) if (typeof v === 'function' && name !== 'default') out.set(name, v as ToolFn);
  const d = mod.default;
  if (d && typeof d === 'object') for (const [name, v] of Object.entries(d)) if (typeof v === 'function' && !out.has(name)) out.set(name, v as ToolFn);
  return out;
}

export async function loadToolModule(path: string): Promise<Map<string, ToolFn>> {
  if (!existsSync(path)) throw new ToolLoadError(`${path}: error: tools module not found`);
  try {
    return functionsOf(await importModule(path));
  } catch (err) {
    throw new ToolLoadError(`${path}: error: cannot load tools module: ${(err as Error).message}`);
  }
}

export class ModuleToolHost implements ToolHost {
  private readonly blocks = new Map<string, Promise<Map<string, ToolFn>>>();

  constructor(
    private readonly tools: Map<string, ToolFn>,
    private readonly program: Program,
    private readonly runId: string,
  ) {}

  /** Imports a program's ```ts/```js block once, from a content-addressed temp file. */
  private block(agent: string, index: number): Promise<Map<string, ToolFn>> {
    const key = `${agent}#${index}`;
    let loaded = this.blocks.get(key);
    if (!loaded) {
      const block = this.program.agents.find((a) => a.name === agent)?.blocks[index];
      if (!block) throw new ToolNotFound(`code block ${index} of agent '${agent}' is missing`);
      const dir = join(tmpdir(), 'pbvm-code');
      mkdirSync(dir, { recursive: true });
      const sha = createHash('sha256').update(block.source).digest('hex').slice(0, 24);
      const file = join(dir, `${sha}.${block.lang === 'ts' ? 'ts' : 'mjs'}`);
      if (!existsSync(file)) writeFileSync(file, block.source);
      loaded = importModule(file).then(functionsOf);
      this.blocks.set(key, loaded);
    }
    return loaded;
  }

  names(): string[] {
    return [...this.tools.keys()];
  }

  /** `Name(param, other)` for each tool, for the model's listing. */
  signatures(): string[] {
    return [...this.tools].map(([name, fn]) => `${name}(${(parameterNames(fn) ?? ['...']).join(', ')})`);
  }

  async call(effect: ToolEffect): Promise<unknown> {
    const fns = effect.block ? await this.block(effect.block.agent, effect.block.index) : this.tools;
    const fn = fns.get(effect.name);
    if (!fn) throw new ToolNotFound(`'${effect.name}' is not a playbook of this program or a loaded host tool`);
    const ctx: ToolCallContext = { callId: effect.callId, runId: this.runId, seq: effect.seq, name: effect.name };
    return current.run(ctx, () => fn.apply(ctx, toolArguments(fn, effect.args, effect.kwargs)));
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
