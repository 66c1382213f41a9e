// Document CST → declarations: agents, playbooks (headers, metadata, triggers, notes),
// code blocks, and each playbook's raw step tree. Step text is interpreted later
// (steps.ts), once every playbook name in the program is known.
import type { CstNode, IToken } from 'chevrotain';
import type { BulletPayload, ContractLine, FencePayload, FrontMatterPayload, HeadingPayload, TextPayload } from '../grammar/doc-tokens.js';
import type { AgentDecl, CodeBlockDecl, ParamDecl, PlaybookDecl, Pos, TriggerDecl } from './ast.js';
import { META_LINE, metaValueOffset, parseScalar, parseYamlBlock, RESERVED_KEYS, type ScalarProblem } from './metadata.js';
import { ExprError, toExpr } from './expr-ast.js';
import { wellFormed } from './text.js';
import { codeBlock, splitTopLevel } from './code-blocks.js';
import { agentHeading } from './agent-heading.js';
import type { Value } from '../vm/pbasm/program.js';

export interface RawStep {
  text: string;
  line: number;
  col: number;
  children: RawStep[];
  /** Tool contract lines under the step (enforced procedures). */
  contract?: ContractLine[];
}

export interface PlaybookDraft extends PlaybookDecl {
  rawSteps?: RawStep[];
  /** True when the playbook had a ### Steps section (even an empty one). */
  hasSteps: boolean;
  /** Where each metadata value is written: the inline value, or each item of a bullet list. */
  metaAt?: Record<string, Array<{ text: string; pos: Pos }>>;
}

export interface AgentDraft extends AgentDecl {
  playbooks: PlaybookDraft[];
}

export interface Reporter {
  error(code: string, message: string, pos: Pos): void;
  warning(code: string, message: string, pos: Pos): void;
}

type Children = Record<string, Array<CstNode | IToken>>;
const kids = (n: CstNode, name: string) => ((n.children as Children)[name] ?? []) as CstNode[];
const toks = (n: CstNode, name: string) => ((n.children as Children)[name] ?? []) as IToken[];

/**
 * Begin triggers, as Playbooks AI's compiler read them: "At the beginning", "When the program
 * starts", "When program begins", "When system starts", "When programs starts" (sic), ...
 */
export const BEGIN_TRIGGER =
  /^(?:at\s+(?:the\s+)?(?:very\s+)?(?:beginning|start)\b|when\s+(?:the\s+)?(?:programs?|agents?|system|conversation|session|app|application)\s+(?:starts?|begins?|is\s+(?:started|launched)|launch(?:es)?|starts\s+running)\b|on\s+(?:program\s+)?start(?:up)?\b|at\s+(?:program\s+)?start(?:up)?\b)/i;

/** "Validate order id" → ValidateOrderId; an identifier stays as written. */
export function identifierFor(title: string): string {
  const t = title.trim();
  if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(t)) return t;
  const words = t.split(/[^A-Za-z0-9_]+/).filter(Boolean);
  let name = words.map((w) => w[0]!.toUpperCase() + w.slice(1)).join('');
  if (!name) name = 'Unnamed';
  if (/^[0-9]/.test(name)) name = `_${name}`;
  return name;
}

const tokPos = (t: IToken, col = t.startColumn ?? 1, length = t.image.length): Pos => ({ line: t.startLine ?? 1, col, length: Math.max(1, length) });

export function buildDeclarations(cst: CstNode, report: Reporter, defaultAgentName: string): { frontMatter: Record<string, Value>; agents: AgentDraft[] } {
  let frontMatter: Record<string, Value> = {};
  const fm = toks(cst, 'FrontMatter')[0];
  if (fm) {
    const payload = fm.payload as FrontMatterPayload;
    frontMatter = parseYamlBlock(payload.body, (p, line) => report.error('metadata-too-deep', p.message, { line: payload.bodyLine + line, col: p.offset + 1, length: p.length }));
  }

  const agents: AgentDraft[] = [];
  const orphanPlaybooks = kids(cst, 'section2');
  const orphanSections = kids(cst, 'section3');
  if (orphanPlaybooks.length > 0 || orphanSections.length > 0) {
    // Playbooks before any "# Agent" heading belong to an implicit agent named after the program.
    const title = typeof frontMatter.title === 'string' ? frontMatter.title : defaultAgentName;
    const agent = newAgent(title, { line: 1, col: 1, length: 1 });
    collectBlocks(kids(cst, 'block'), agent, undefined, report, true);
    for (const s3 of orphanSections) misplacedSection(s3, agent, report);
    for (const s2 of orphanPlaybooks) agent.playbooks.push(buildPlaybook(s2, agent, report));
    agents.push(agent);
  }
  const preamble = kids(cst, 'block');
  const preambleFences = agents.length === 0 ? preamble.filter((b) => toks(b, 'Fence').length > 0) : [];
  for (const s1 of kids(cst, 'section1')) {
    const h = toks(s1, 'Heading1')[0]!;
    const hp = h.payload as HeadingPayload;
    const headingPos = tokPos(h, hp.textCol, hp.text.length);
    const heading = agentHeading(hp.text, headingPos, (code, message, pos) => report.error(code, message, pos));
    const agent = newAgent(hp.text, headingPos, heading.base);
    if (heading.kind) agent.kind = heading.kind;
    // Code blocks above the first "# Agent" belong to it (prose there is a file comment).
    if (agents.length === 0 && preambleFences.length) collectBlocks(preambleFences, agent, undefined, report, false);
    collectBlocks(kids(s1, 'block'), agent, undefined, report, true);
    for (const s3 of kids(s1, 'section3')) misplacedSection(s3, agent, report);
    for (const s2 of kids(s1, 'section2')) agent.playbooks.push(buildPlaybook(s2, agent, report));
    agents.push(agent);
  }
  return { frontMatter, agents };
}

function newAgent(title: string, pos: Pos, base = title): AgentDraft {
  return { name: identifierFor(base || 'Agent'), title, pos, description: '', metadata: {}, playbooks: [], blocks: [] };
}

function misplacedSection(s3: CstNode, agent: AgentDraft, report: Reporter): void {
  const h = toks(s3, 'Heading3')[0]!;
  report.warning('section-outside-playbook', `section '### ${(h.payload as HeadingPayload).text}' is not inside a '## playbook'; its text is treated as agent description`, tokPos(h));
  collectBlocks(kids(s3, 'block'), agent, undefined, report, true);
}

/**
 * Walks description blocks: text lines become description or metadata, fences become
 * code blocks, and bullet lists under a bare `key:` become metadata lists.
 */
function collectBlocks(blocks: CstNode[], agent: AgentDraft, playbook: PlaybookDraft | undefined, report: Reporter, describe: boolean): void {
  const target = playbook ?? agent;
  const desc: string[] = target.description ? [target.description] : [];
  let openKey: { key: string; indent: number } | undefined;
  /** Until the first line of prose, any `Key: value` line is metadata; after it, only lowercase keys are. */
  let leading = !target.description;
  /** A metadata value of a text line; problems are reported at their column. */
  const metaValue = (text: IToken, m: RegExpExecArray) => {
    const tp = text.payload as TextPayload;
    const col = (text.startColumn ?? 1) + metaValueOffset(tp.text, m);
    return parseScalar(m[2] ?? '', (p: ScalarProblem) => report.error('metadata-too-deep', p.message, { line: text.startLine ?? 1, col: col + p.offset, length: p.length }));
  };
  for (const b of blocks) {
    const text = toks(b, 'Text')[0];
    const fence = toks(b, 'Fence')[0];
    const list = kids(b, 'list')[0];
    if (text) {
      const tp = text.payload as TextPayload;
      let meta = describe ? META_LINE.exec(tp.text) : null;
      if (meta && RESERVED_KEYS.has(meta[1]!)) {
        report.warning('reserved-key', `metadata key '${meta[1]}' is reserved and ignored`, tokPos(text));
        meta = null;
        continue;
      }
      if (openKey && tp.indent > openKey.indent && meta) {
        const cur = target.metadata[openKey.key];
        const obj = cur && typeof cur === 'object' && !Array.isArray(cur) ? cur : {};
        obj[meta[1]!] = metaValue(text, meta);
        target.metadata[openKey.key] = obj;
        continue;
      }
      if (meta && tp.indent === 0 && (leading || /^[a-z][a-z0-9_-]*$/.test(meta[1]!))) {
        target.metadata[meta[1]!] = metaValue(text, meta);
        if (playbook) {
          const col = (text.startColumn ?? 1) + metaValueOffset(tp.text, meta);
          (playbook.metaAt ??= {})[meta[1]!] = [{ text: meta[2] ?? '', pos: { line: text.startLine ?? 1, col: meta[2] ? col : text.startColumn ?? 1, length: Math.max(1, (meta[2] ?? meta[1]!).length) } }];
        }
        openKey = meta[2] ? undefined : { key: meta[1]!, indent: tp.indent };
        continue;
      }
      openKey = undefined;
      leading = false;
      if (describe) desc.push(tp.text);
    } else if (fence) {
      openKey = undefined;
      const block = codeBlock(fence, report);
      if (block) agent.blocks.push(block);
      else if (describe) desc.push(fence.image, (fence.payload as FencePayload).body, '```');
    } else if (list) {
      if (openKey && target.metadata[openKey.key] === null) {
        const items = flattenList(list);
        target.metadata[openKey.key] = items.map((s) => parseScalar(s.text, (p) => report.error('metadata-too-deep', p.message, { line: s.line, col: s.col + p.offset, length: p.length })));
        if (playbook) (playbook.metaAt ??= {})[openKey.key] = items.map((s) => ({ text: s.text, pos: { line: s.line, col: s.col, length: Math.max(1, s.text.length) } }));
        openKey = undefined;
        continue;
      }
      openKey = undefined;
      if (describe) desc.push(...renderList(flattenRaw(list), 0));
    }
  }
  target.description = desc.join('\n').trim();
}

/** Rebuilds the step tree of a list from its Bullet/Indent/Dedent tokens (in source order). */
export function flattenRaw(list: CstNode): RawStep[] {
  const root: RawStep[] = [];
  const levels: RawStep[][] = [root];
  let last: RawStep | undefined;
  for (const t of toks(list, 'ListToken')) {
    const name = t.tokenType.name;
    if (name === 'Bullet') {
      const bp = t.payload as BulletPayload;
      last = { text: bp.text, line: t.startLine ?? 1, col: bp.textCol, children: [], ...(bp.contract ? { contract: bp.contract } : {}) };
      levels[levels.length - 1]!.push(last);
    } else if (name === 'Indent') {
      if (last) levels.push(last.children);
    } else if (levels.length > 1) {
      levels.pop();
      const parent = levels[levels.length - 1]!;
      last = parent[parent.length - 1];
    }
  }
  return root;
}

function flattenList(list: CstNode): RawStep[] {
  const out: RawStep[] = [];
  const walk = (xs: RawStep[]) => {
    for (const x of xs) {
      out.push(x);
      walk(x.children);
    }
  };
  walk(flattenRaw(list));
  return out;
}

export function renderList(steps: RawStep[], depth: number): string[] {
  const out: string[] = [];
  for (const s of steps) {
    out.push(`${'  '.repeat(depth)}- ${s.text}`);
    out.push(...renderList(s.children, depth + 1));
  }
  return out;
}

const HEADER = /^(.*?)[ \t]*(?:\((.*)\))?[ \t]*(?:->[ \t]*(.*))?$/s;

function buildPlaybook(s2: CstNode, agent: AgentDraft, report: Reporter): PlaybookDraft {
  const h = toks(s2, 'Heading2')[0]!;
  const hp = h.payload as HeadingPayload;
  const headerPos = tokPos(h, hp.textCol, hp.text.length);
  const m = HEADER.exec(hp.text)!;
  const title = m[1]!.trim() || hp.text.trim();
  const pb: PlaybookDraft = {
    name: identifierFor(title),
    title,
    pos: headerPos,
    params: [],
    description: '',
    notes: [],
    metadata: {},
    triggers: [],
    kind: 'markdown',
    hasSteps: false,
  };
  if (!/^[A-Za-z_]/.test(title.trim())) {
    report.error('bad-playbook-name', `playbook name must start with a letter: '${title}'`, headerPos);
  }
  if (m[2] !== undefined) {
    const paramsCol = hp.textCol + hp.text.indexOf('(') + 1;
    pb.params = parseParams(m[2], { line: headerPos.line, col: paramsCol, length: m[2].length }, report);
  }
  collectBlocks(kids(s2, 'block'), agent, pb, report, true);
  let triggerCount = 0;
  for (const s3 of kids(s2, 'section3')) {
    const h3 = toks(s3, 'Heading3')[0]!;
    const h3p = h3.payload as HeadingPayload;
    const name = h3p.text.trim().toLowerCase().replace(/:$/, '').trimEnd();
    if (h3p.writtenLevel) {
      const section = h3p.text.trim().replace(/:$/, '').trimEnd();
      report.warning(
        'section-level',
        `'${'#'.repeat(h3p.writtenLevel)} ${section}' under playbook '${pb.name}' is read as its '### ${section}' section, not as a new playbook; write it as '### ${section}'`,
        tokPos(h3),
      );
    }
    const blocks = kids(s3, 'block');
    const items = blocks.flatMap((b) => kids(b, 'list').flatMap((l) => flattenRaw(l)));
    if (name === 'steps' || name === 'step') {
      if (pb.hasSteps) report.error('duplicate-section', `playbook '${pb.name}' has more than one ### Steps section`, tokPos(h3));
      pb.hasSteps = true;
      pb.rawSteps = [...(pb.rawSteps ?? []), ...items];
      for (const b of blocks) {
        const t = toks(b, 'Text')[0];
        if (t) report.warning('text-in-steps', 'text in ### Steps that is not a bullet is ignored; write steps as "- ..." bullets', tokPos(t));
        const f = toks(b, 'Fence')[0];
        if (f) {
          const block = codeBlock(f, report);
          if (block) agent.blocks.push(block);
        }
      }
    } else if (name === 'triggers' || name === 'trigger') {
      for (const item of flattenListItems(items)) {
        triggerCount++;
        pb.triggers.push(buildTrigger(item, `T${triggerCount}`, report));
      }
      // Prose under ### Triggers is not a trigger; keep it as description rather than drop it.
      const prose = blocks.flatMap((b) => toks(b, 'Text')).map((t) => (t.payload as TextPayload).text);
      if (prose.length) pb.description = [pb.description, ...prose].filter(Boolean).join('\n');
    } else if (name === 'notes' || name === 'note') {
      pb.notes.push(...renderList(items, 0));
      for (const b of blocks) {
        const t = toks(b, 'Text')[0];
        if (t) pb.notes.push((t.payload as TextPayload).text);
      }
    } else {
      report.warning('unknown-section', `unknown section '### ${h3p.text}'; its text is kept as notes (known: Steps, Triggers, Notes)`, tokPos(h3));
      pb.notes.push(...renderList(items, 0));
      collectBlocks(blocks, agent, undefined, report, false);
    }
  }
  return pb;
}

function flattenListItems(items: RawStep[]): RawStep[] {
  const out: RawStep[] = [];
  for (const i of items) {
    out.push(i);
    out.push(...flattenListItems(i.children));
  }
  return out;
}

function buildTrigger(item: RawStep, id: string, report: Reporter): TriggerDecl {
  const text = item.text.replace(/^T\d+:[A-Z]{3}\s+/, '');
  const pos: Pos = { line: item.line, col: item.col, length: Math.max(1, text.length) };
  if (BEGIN_TRIGGER.test(text)) return { id, kind: 'begin', text, pos };
  const when = /^(?:when|whenever|if|once|as\s+soon\s+as)\s+(.*?)[.:]?$/i.exec(text);
  if (when && when[1]!.includes('$')) {
    const condText = when[1]!;
    const offset = text.indexOf(condText);
    try {
      const expr = toExpr(condText, (o, l) => ({ line: item.line, col: item.col + offset + o, length: Math.max(1, l) }));
      if (usesOnlyState(expr)) return { id, kind: 'state', text, expr, pos };
    } catch (e) {
      if (!(e instanceof ExprError)) throw e;
    }
  }
  if (text.trim().length === 0) report.warning('empty-trigger', 'empty trigger', pos);
  return { id, kind: 'nl', text, pos };
}

function usesOnlyState(e: import('./ast.js').Expr): boolean {
  let state = 0;
  let bare = 0;
  const walk = (x: import('./ast.js').Expr): void => {
    switch (x.k) {
      case 'var':
        if (x.state) state++;
        else bare++;
        return;
      case 'lit':
        return;
      case 'fstr':
        x.parts.forEach((p) => typeof p !== 'string' && walk(p));
        return;
      case 'list':
        x.items.forEach(walk);
        return;
      case 'obj':
        x.entries.forEach(([a, b]) => (walk(a), walk(b)));
        return;
      case 'index':
        walk(x.obj);
        walk(x.index);
        return;
      case 'attr':
        walk(x.obj);
        return;
      case 'call':
        bare += 1;
        return;
      case 'bin':
      case 'logic':
        walk(x.left);
        walk(x.right);
        return;
      case 'un':
        walk(x.expr);
        return;
    }
  };
  walk(e);
  return state > 0 && bare === 0;
}

const PARAM = /^[ \t]*(\$?)([A-Za-z_][A-Za-z0-9_]*)[ \t]*(?::[ \t]*([A-Za-z_][A-Za-z0-9_.[\], |]*?))?[ \t]*(?:=[ \t]*(.*?))?[ \t]*$/s;

export function parseParams(text: string, at: Pos, report: Reporter): ParamDecl[] {
  const params: ParamDecl[] = [];
  const seen = new Set<string>();
  let sawDefault = false;
  for (const piece of splitTopLevel(text)) {
    const lead = piece.text.length - piece.text.trimStart().length;
    const pos: Pos = { line: at.line, col: at.col + piece.offset + lead, length: Math.max(1, piece.text.trim().length) };
    if (piece.text.trim() === '') {
      report.error('bad-parameter', 'empty parameter', pos);
      continue;
    }
    const m = PARAM.exec(piece.text);
    if (!m) {
      report.error('bad-parameter', `invalid parameter '${piece.text.trim()}'; expected $name, name or name = default`, pos);
      continue;
    }
    const name = m[2]!;
    if (seen.has(name)) {
      report.error('duplicate-parameter', `duplicate parameter '${name}'`, pos);
      continue;
    }
    seen.add(name);
    const param: ParamDecl = { name, hasDefault: false, pos };
    if (m[4] !== undefined) {
      const idx = piece.text.lastIndexOf(m[4]);
      const defaultPos: Pos = { line: pos.line, col: idx >= 0 ? at.col + piece.offset + idx : pos.col, length: Math.max(1, m[4].length) };
      const value = constantValue(m[4], defaultPos, report);
      // A bad default is reported once; callers still see an optional parameter.
      param.default = value ?? null;
      param.hasDefault = true;
      sawDefault = true;
    } else if (sawDefault) {
      report.error('required-after-default', `parameter '${name}' without a default follows one with a default`, pos);
    }
    params.push(param);
  }
  return params;
}

function constantValue(text: string, pos: Pos, report: Reporter): Value | undefined {
  try {
    const e = toExpr(text, () => pos);
    const v = fold(e);
    if (v !== undefined) return storable(v);
    report.error('non-constant-default', `default value '${text.trim()}' must be a constant (number, string, boolean, null, list or object)`, pos);
  } catch (e) {
    if (!(e instanceof ExprError)) throw e;
    report.error('bad-default', `default value '${text.trim()}' is not an expression: ${e.message}`, pos);
  }
  return undefined;
}

/** A value as it will read back from the container: no -0, no lone surrogates. */
function storable(v: Value): Value {
  if (typeof v === 'number') return v === 0 ? 0 : v;
  if (typeof v === 'string') return wellFormed(v);
  if (Array.isArray(v)) return v.map(storable);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [wellFormed(k), storable(x)]));
  return v;
}

function fold(e: import('./ast.js').Expr): Value | undefined {
  switch (e.k) {
    case 'lit':
      return e.value;
    case 'list': {
      const items = e.items.map(fold);
      return items.every((x) => x !== undefined) ? (items as Value[]) : undefined;
    }
    case 'obj': {
      const out: Record<string, Value> = {};
      for (const [k, v] of e.entries) {
        const kv = fold(k);
        const vv = fold(v);
        if (typeof kv !== 'string' || vv === undefined) return undefined;
        out[kv] = vv;
      }
      return out;
    }
    default:
      return undefined;
  }
}
