// The compiler pipeline: load (imports) → lex → parse (CST) → declarations → statements
// and checks → lowering → Program. It never throws on bad input: every problem becomes a
// diagnostic, and an unexpected internal failure becomes an "internal-error" diagnostic.
import { lexDocument } from '../grammar/doc-lexer.js';
import { parseDocument } from '../grammar/doc-parser.js';
import { sha256 } from '../vm/pbasm/envelope.js';
import type { AgentInfo, CodeObject, Program, Value } from '../vm/pbasm/program.js';
import type { Pos, Stmt } from './ast.js';
import { buildDeclarations, BEGIN_TRIGGER, identifierFor, type AgentDraft, type PlaybookDraft, type Reporter } from './declarations.js';
import { countErrors, sortDiagnostics, type Diagnostic, type SourceLookup } from './diagnostics.js';
import { loadSource, type SourceHost } from './loader.js';
import { Lowerer } from './lower.js';
import { wellFormed } from './text.js';
import { StepBuilder, type ProgramFacts } from './steps.js';
import { Symbols, type SymbolOptions } from './symbols.js';
import { reportPythonNeeds } from './python-needs.js';
import { checkAttendees } from './meetings.js';

export const COMPILER_VERSION = '0.1.0';

export interface CompileOptions extends SymbolOptions {
  /** Reads imported files; without it, `!import` is an error. */
  host?: SourceHost;
  /**
   * The profile for playbooks a model wrote at run time: no code fences, no imports, a size
   * limit, and calls only to the names the caller may use (generated code never widens
   * permissions).
   */
  restricted?: { maxBytes: number; callable: ReadonlySet<string>; checkCalls?: boolean };
  /**
   * The text was written from another file (a Locus YAML/JSON playbook, compiler/locus.ts):
   * diagnostics, steps and the stored source refer to that file. `lineMap[i]` gives, for line
   * i + 1 of the text, the original's line and the column shift to apply.
   */
  translated?: { original: string; lineMap: Array<[line: number, colShift: number]> };
}

export interface CompileResult {
  /** Present when there are no errors. */
  program?: Program;
  diagnostics: Diagnostic[];
  errorCount: number;
  sources: SourceLookup;
}

export function compileSource(text: string, path: string, options: CompileOptions = {}): CompileResult {
  // Lone UTF-16 surrogates (possible through the API, never from a UTF-8 file) cannot be
  // serialized; make the text well-formed first so what is compiled is what is stored.
  text = wellFormed(text);
  const r = options.restricted;
  if (r && Buffer.byteLength(text) > r.maxBytes) {
    const d: Diagnostic = { severity: 'error', code: 'restricted-size', message: `playbook source is ${Buffer.byteLength(text)} bytes; generated playbooks may have at most ${r.maxBytes}`, file: path, line: 1, col: 1, length: 1 };
    return { diagnostics: [d], errorCount: 1, sources: { lineText: () => undefined } };
  }
  if (r) {
    const check = r.checkCalls !== false;
    options = { ...options, host: undefined, tools: check ? r.callable : undefined, strictCalls: check, noCrossAgent: true };
  }
  const tr = options.translated;
  const loaded = tr ? { text, files: [{ path, text: tr.original }], diagnostics: [], lineMap: tr.lineMap.map(([line]) => [0, line] as [number, number]) } : loadSource(path, text, options.host);
  const diagnostics: Diagnostic[] = [...loaded.diagnostics];
  const lineCache = new Map<string, string[]>();
  const sources: SourceLookup = {
    lineText(file, line) {
      let lines = lineCache.get(file);
      if (!lines) {
        const f = loaded.files.find((x) => x.path === file);
        if (!f) return undefined;
        lines = f.text.split(/\r\n|\r|\n/);
        lineCache.set(file, lines);
      }
      return lines[line - 1];
    },
  };
  const map = loaded.lineMap;
  const locate = (pos: Pos): { file: number; line: number; col?: number } => {
    if (!map) return { file: 0, line: pos.line };
    const entry = map[pos.line - 1] ?? map[map.length - 1] ?? [0, 1];
    const shift = tr?.lineMap[pos.line - 1]?.[1];
    return shift === undefined ? { file: entry[0], line: entry[1] } : { file: entry[0], line: entry[1], col: Math.max(1, pos.col + shift) };
  };
  const add = (severity: 'error' | 'warning', code: string, message: string, pos: Pos) => {
    const at = locate(pos);
    diagnostics.push({ severity, code, message, file: loaded.files[at.file]!.path, line: at.line, col: Math.max(1, at.col ?? pos.col), length: Math.max(1, pos.length) });
  };
  const report: Reporter = {
    error: (code, message, pos) => add('error', code, message, pos),
    warning: (code, message, pos) => add('warning', code, message, pos),
  };

  let program: Program | undefined;
  try {
    program = compileLoaded(loaded.text, path, report, options, locate);
    if (program) {
      program.files = loaded.files.map((f) => ({ path: f.path, sha256: sha256(f.text).toString('hex') }));
      program.sources = loaded.files.map((f) => f.text);
    }
  } catch (err) {
    diagnostics.push({
      severity: 'error',
      code: 'internal-error',
      message: `internal compiler error: ${(err as Error)?.stack ?? String(err)}`,
      file: path,
      line: 1,
      col: 1,
      length: 1,
    });
  }
  sortDiagnostics(diagnostics);
  const errorCount = countErrors(diagnostics);
  return { program: errorCount === 0 ? program : undefined, diagnostics, errorCount, sources };
}

function compileLoaded(
  text: string,
  path: string,
  report: Reporter,
  options: CompileOptions,
  locate: (pos: Pos) => { file: number; line: number; col?: number },
): Program | undefined {
  const lexed = lexDocument(text);
  for (const p of lexed.problems) {
    const pos = { line: p.line, col: p.col, length: p.length };
    if (p.severity === 'error') report.error(p.code ?? 'syntax', p.message, pos);
    else report.warning(p.code ?? 'syntax', p.message, pos);
  }
  const parsed = parseDocument(lexed.tokens);
  for (const e of parsed.errors) {
    report.error('syntax', e.message, { line: e.token.startLine ?? 1, col: e.token.startColumn ?? 1, length: Math.max(1, e.token.image.length) });
  }
  const base = path.replace(/^.*[\\/]/, '').replace(/\.[^.]*$/, '') || 'Program';
  const decl = buildDeclarations(parsed.cst, report, identifierFor(base));
  if (options.restricted) {
    for (const a of decl.agents) for (const b of a.blocks) report.error('restricted-code', `generated playbooks may not contain ${b.lang} code blocks`, b.pos);
    // One implicit or explicit agent only: a second "# Agent" could shadow a real one.
    for (const a of decl.agents.slice(1)) report.error('restricted-agents', `generated playbooks may not define agents ('# ${a.title}'); write only "## Playbook" sections`, a.pos);
  }
  addCodePlaybooks(decl.agents);
  checkDuplicates(decl.agents, report, (pos) => locate(pos).line);
  checkHumanAgents(decl.agents, report);
  checkAttendees(decl.agents, report);

  const symbols = new Symbols(decl.agents, options);
  const facts: ProgramFacts = { stateWrites: new Set(), stateReads: [] };
  for (const a of decl.agents) for (const p of a.playbooks) for (const param of p.params) facts.stateWrites.add(param.name);
  // `pb run` sets $startup_message for a program that reads it (--message or piped stdin).
  facts.stateWrites.add('startup_message');
  for (const a of decl.agents) {
    for (const b of a.blocks) for (const m of b.source.matchAll(/state\.([A-Za-z_]\w*)/g)) facts.stateWrites.add(m[1]!);
  }
  const statements = new Map<PlaybookDraft, Stmt[] | undefined>();
  for (const a of decl.agents) {
    for (const p of a.playbooks) {
      if (p.kind !== 'markdown') continue;
      const builder = new StepBuilder(p, a.name, symbols, report, facts);
      statements.set(p, p.hasSteps ? builder.build(p.rawSteps ?? []) : undefined);
      if (p.hasSteps && (p.rawSteps ?? []).length === 0) report.warning('empty-steps', `playbook '${p.name}' has an empty ### Steps section`, p.pos);
    }
  }
  const warned = new Set<string>();
  for (const r of facts.stateReads) {
    if (!facts.stateWrites.has(r.name) && !warned.has(r.name)) {
      warned.add(r.name);
      report.warning('never-assigned', `'$${r.name}' is read but never assigned anywhere in the program`, r.pos);
    }
  }
  // A generated playbook is called by reference; it needs no entry point of its own.
  if (!options.restricted) {
    checkEntryPoint(decl.agents, report);
    reportPythonNeeds(decl.agents, entryPlaybooks(decl.agents), statements, symbols, report, (pos) => locate(pos).line);
  }

  const agents: AgentInfo[] = decl.agents.map((a) => ({
    name: a.name,
    title: a.title,
    ...(a.kind ? { kind: a.kind } : {}),
    description: a.description,
    metadata: a.metadata,
    blocks: a.blocks.map((b) => {
      const at = locate(b.pos);
      return { lang: b.lang, source: b.source, exports: b.exports.map((x) => x.name), file: at.file, line: at.line };
    }),
    playbooks: a.playbooks.map((p): CodeObject => new Lowerer(a, p, symbols, report, locate).lowerPlaybook(statements.get(p))),
  }));
  return { compiler: COMPILER_VERSION, frontMatter: decl.frontMatter as Record<string, Value>, files: [], sources: [], agents };
}

/** Exported functions of ```ts/```js blocks and @playbook functions of ```python blocks. */
function addCodePlaybooks(agents: AgentDraft[]): void {
  for (const a of agents) {
    a.blocks.forEach((b, index) => {
      for (const x of b.exports) {
        const triggers = x.triggers.map((t, i) => ({
          id: `T${i + 1}`,
          kind: BEGIN_TRIGGER.test(t) ? ('begin' as const) : ('nl' as const),
          text: t,
          pos: b.pos,
        }));
        a.playbooks.push({
          name: x.name,
          title: x.name,
          pos: b.pos,
          params: x.params.map((name) => ({ name, hasDefault: false, pos: b.pos })),
          description: '',
          notes: [],
          metadata: x.public ? { public: true } : {},
          triggers,
          kind: b.lang === 'python' ? 'foreign' : 'code',
          block: index,
          hasSteps: false,
        });
      }
    });
  }
}

function checkDuplicates(agents: AgentDraft[], report: Reporter, lineOf: (pos: Pos) => number): void {
  const agentSeen = new Map<string, AgentDraft>();
  for (const a of agents) {
    if (agentSeen.has(a.name)) report.error('duplicate-agent', `duplicate agent '${a.name}'`, a.pos);
    else agentSeen.set(a.name, a);
    const seen = new Map<string, PlaybookDraft>();
    for (const p of a.playbooks) {
      const prev = seen.get(p.name);
      if (!prev) {
        seen.set(p.name, p);
        continue;
      }
      // Code playbooks are collected after markdown ones; report at whichever comes later in the source.
      const [first, second] = prev.pos.line <= p.pos.line ? [prev, p] : [p, prev];
      report.error('duplicate-playbook', `duplicate playbook '${p.name}' in agent '${a.name}' (first defined at line ${lineOf(first.pos)})`, second.pos);
    }
  }
}

/** A person takes a human agent's turns: it has no playbooks to run. */
function checkHumanAgents(agents: AgentDraft[], report: Reporter): void {
  for (const a of agents) {
    if (a.kind !== 'human') continue;
    for (const p of a.playbooks) {
      report.error('human-playbook', `agent '${a.name}' is a human agent ('# ${a.title}'); a human agent cannot have playbooks: move '${p.title}' to an AI agent`, p.pos);
    }
  }
}

/** Agents whose playbooks can run: a human agent's turns are taken by a person. */
const runnable = (agents: AgentDraft[]) => agents.filter((a) => a.kind !== 'human');

/** The playbooks a run starts with, chosen as the VM does (vm/machine.ts start()). */
function entryPlaybooks(agents: AgentDraft[]): PlaybookDraft[] {
  const all = runnable(agents).flatMap((a) => a.playbooks);
  const begins = all.filter((p) => p.triggers.some((t) => t.kind === 'begin'));
  if (begins.length > 0) return begins;
  const main = all.find((p) => p.name === 'Main');
  if (main) return [main];
  const markdown = all.filter((p) => p.kind === 'markdown');
  return markdown.length === 1 ? markdown : [];
}

function checkEntryPoint(agents: AgentDraft[], report: Reporter): void {
  agents = runnable(agents);
  const all = agents.flatMap((a) => a.playbooks);
  if (all.some((p) => p.triggers.some((t) => t.kind === 'begin'))) return;
  const markdown = all.filter((p) => p.kind === 'markdown');
  if (all.length === 0) {
    report.error('no-playbooks', 'program defines no playbooks: add a "## Name" section with "### Steps"', { line: 1, col: 1, length: 1 });
    return;
  }
  if (markdown.length === 1 || all.some((p) => p.name === 'Main')) return;
  // A standby agent waits to be called; it needs no entry point of its own.
  if (agents.some((a) => a.metadata.startup_mode === 'standby')) return;
  report.error(
    'no-entry-point',
    'program has no entry point: give one playbook the trigger "At the beginning" (or name it Main)',
    markdown[0]?.pos ?? { line: 1, col: 1, length: 1 },
  );
}
