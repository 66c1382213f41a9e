// Step tool contracts: the `key: value` lines indented under a top-level step of an enforced
// procedure (Locus's PlaybookStep fields) and the playbook-level rules in its metadata
// (strict_sequence, allow_extra_tools, max_iterations). Reads and checks them; the lowerer
// turns them into the code object's PlanSpec and the VM enforces it (vm/plan.ts).
import type { ContractLine } from '../grammar/doc-tokens.js';
import type { StepContract, Value } from '../vm/pbasm/program.js';
import type { ContractDecl, Expr, Pos } from './ast.js';

export type { ContractDecl } from './ast.js';
import type { Reporter } from './declarations.js';
import { ExprError, namesRead, toExpr } from './expr-ast.js';
import { nativeIndex } from '../vm/pbasm/natives-table.js';

/** A step's contract as read from its lines: the contract, plus its id and predicate before compiling. */

export interface PlanRules {
  strictSequence: boolean;
  allowExtraTools: boolean;
  maxIterations: number;
}

/** Locus's defaults: strict order, no tools outside a step's contract. */
export const DEFAULT_RULES: PlanRules = { strictSequence: true, allowExtraTools: false, maxIterations: 25 };

export const PLAN_KEYS = ['strict_sequence', 'allow_extra_tools', 'max_iterations'] as const;

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;
const STEP_ID = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

/** Reads a step's contract lines; every problem is reported at the line it concerns. */
export function parseContract(lines: ContractLine[], report: Reporter, stepPos: Pos): ContractDecl {
  const c: ContractDecl = { expectedTools: [], hints: [], required: true, maxToolCalls: null, timeoutSeconds: null, minToolCalls: 0, requiredResultKeywords: [], metadata: {}, pos: stepPos };
  const seen = new Set<string>();
  for (const l of lines) {
    const at: Pos = { line: l.line, col: l.valueCol, length: Math.max(1, l.value.length) };
    const keyAt: Pos = { line: l.line, col: l.col, length: l.key.length };
    const bad = (why: string) => report.error('contract', `${l.key}: ${why}`, at);
    if (l.key !== 'hints' && seen.has(l.key)) {
      report.error('contract', `'${l.key}' is given twice for this step`, keyAt);
      continue;
    }
    seen.add(l.key);
    switch (l.key) {
      case 'id':
        if (!STEP_ID.test(l.value)) bad(`a step id is letters, digits, '_', '-' and '.', got ${JSON.stringify(l.value)}`);
        else c.id = l.value;
        break;
      case 'expected_tools': {
        const names = listOf(l.value);
        for (const wrong of names.filter((n) => !IDENT.test(n))) bad(`${JSON.stringify(wrong)} is not a tool name`);
        // The valid names still count, so one typo does not cascade into call errors.
        c.expectedTools = [...new Set(names.filter((n) => IDENT.test(n)))];
        break;
      }
      case 'hints':
        if (l.value) c.hints.push(unquote(l.value));
        else bad('give the hint text after the colon');
        break;
      case 'required': {
        const v = truth(l.value);
        if (v === undefined) bad(`expected true or false, got ${JSON.stringify(l.value)}`);
        else c.required = v;
        break;
      }
      case 'max_tool_calls':
      case 'min_tool_calls': {
        const n = /^\d+$/.test(l.value) ? Number(l.value) : NaN;
        if (!Number.isSafeInteger(n)) bad(`expected a whole number of calls, got ${JSON.stringify(l.value)}`);
        else if (l.key === 'max_tool_calls') c.maxToolCalls = n;
        else c.minToolCalls = n;
        break;
      }
      case 'timeout_seconds': {
        const n = /^\d+(\.\d+)?$/.test(l.value) ? Number(l.value) : NaN;
        if (!(n > 0)) bad(`expected a number of seconds above 0, got ${JSON.stringify(l.value)}`);
        else c.timeoutSeconds = n;
        break;
      }
      case 'required_result_keywords':
        c.requiredResultKeywords = listOf(l.value).filter((k) => k.length > 0);
        if (c.requiredResultKeywords.length === 0) bad('give at least one keyword');
        break;
      case 'predicate':
        c.predicate = parsePredicate(l, report);
        break;
      case 'metadata': {
        let v: unknown;
        try {
          v = JSON.parse(l.value);
        } catch {
          v = undefined;
        }
        if (!v || typeof v !== 'object' || Array.isArray(v)) bad('expected a JSON object, e.g. {"owner": "billing"}');
        else c.metadata = v as Record<string, Value>;
        break;
      }
    }
  }
  if (c.maxToolCalls !== null && c.minToolCalls > c.maxToolCalls) {
    report.error('contract', `min_tool_calls (${c.minToolCalls}) is above max_tool_calls (${c.maxToolCalls})`, stepPos);
  }
  if (c.maxToolCalls !== null && c.expectedTools.length > c.maxToolCalls) {
    report.error('contract', `the step expects ${c.expectedTools.length} tools but allows only ${c.maxToolCalls} calls (max_tool_calls)`, stepPos);
  }
  return c;
}

/** A predicate reads `result` (the step's result), $state and builtins; nothing else. */
function parsePredicate(l: ContractLine, report: Reporter): ContractDecl['predicate'] {
  const mapper = (o: number, len: number): Pos => ({ line: l.line, col: l.valueCol + o, length: Math.max(1, len) });
  let expr: Expr;
  try {
    expr = toExpr(l.value, mapper);
  } catch (err) {
    if (!(err instanceof ExprError)) throw err;
    report.error('contract', `predicate: ${err.message}`, mapper(err.offset, 1));
    return undefined;
  }
  const names = { bare: [] as Array<{ name: string; pos: Pos }>, state: [] as Array<{ name: string; pos: Pos }> };
  namesRead(expr, names);
  // Only pure builtin functions may be called: a predicate has no side effects.
  const call = impureCall(expr);
  if (call) {
    report.error('contract', `predicate: '${call.name}' cannot be called here; a predicate may call only builtin functions such as len() (it must have no side effects)`, call.pos);
    return undefined;
  }
  const unknown = names.bare.find((n) => n.name !== 'result');
  if (unknown) {
    report.error('contract', `predicate: '${unknown.name}' is not known here; a predicate reads \`result\` (the step's result) and $state`, unknown.pos);
    return undefined;
  }
  return { expr, text: l.value, pos: { line: l.line, col: l.valueCol, length: Math.max(1, l.value.length) } };
}

/** The playbook-level rules from its metadata, checked; Locus's defaults for what is not given. */
export function planRules(metadata: Record<string, Value>, report: Reporter, pos: Pos): PlanRules {
  const rules = { ...DEFAULT_RULES };
  const flag = (key: string): boolean | undefined => {
    const v = metadata[key];
    if (v === undefined) return undefined;
    if (typeof v === 'boolean') return v;
    report.error('contract', `${key}: expected true or false, got ${JSON.stringify(v)}`, pos);
    return undefined;
  };
  rules.strictSequence = flag('strict_sequence') ?? rules.strictSequence;
  rules.allowExtraTools = flag('allow_extra_tools') ?? rules.allowExtraTools;
  const n = metadata.max_iterations;
  if (n !== undefined) {
    if (typeof n === 'number' && Number.isSafeInteger(n) && n >= 1) rules.maxIterations = n;
    else report.error('contract', `max_iterations: expected a whole number of at least 1, got ${JSON.stringify(n)}`, pos);
  }
  return rules;
}

/** `A, B`, `[A, B]` or `"A", 'B'` → ['A', 'B']. */
function listOf(text: string): string[] {
  const inner = text.trim().replace(/^\[(.*)\]$/s, '$1');
  return inner
    .split(',')
    .map((x) => unquote(x.trim()))
    .filter((x) => x.length > 0);
}

function unquote(s: string): string {
  return s.length >= 2 && (s[0] === '"' || s[0] === "'") && s[s.length - 1] === s[0] ? s.slice(1, -1) : s;
}

function truth(s: string): boolean | undefined {
  const v = s.trim().toLowerCase();
  if (v === 'true' || v === 'yes') return true;
  if (v === 'false' || v === 'no') return false;
  return undefined;
}

/** The first call in an expression that is not a pure builtin function (a tool, a playbook, a builtin playbook). */
function impureCall(e: Expr): { name: string; pos: Pos } | undefined {
  switch (e.k) {
    case 'call': {
      const c = e.callee;
      if (c.k !== 'var' || c.state || nativeIndex(c.name) === undefined) return { name: c.k === 'var' ? c.name : '?', pos: e.pos };
      for (const a of [...e.args, ...e.kwargs.map((k) => k.value)]) {
        const inner = impureCall(a);
        if (inner) return inner;
      }
      return undefined;
    }
    case 'fstr':
      for (const p of e.parts) if (typeof p !== 'string') {
        const inner = impureCall(p);
        if (inner) return inner;
      }
      return undefined;
    case 'list':
      for (const i of e.items) {
        const inner = impureCall(i);
        if (inner) return inner;
      }
      return undefined;
    case 'obj':
      for (const [k, v] of e.entries) {
        const inner = impureCall(k) ?? impureCall(v);
        if (inner) return inner;
      }
      return undefined;
    case 'index':
      return impureCall(e.obj) ?? impureCall(e.index);
    case 'attr':
      return impureCall(e.obj);
    case 'bin':
    case 'logic':
      return impureCall(e.left) ?? impureCall(e.right);
    case 'un':
      return impureCall(e.expr);
    default:
      return undefined;
  }
}
