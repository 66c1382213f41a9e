// Structural verification of a decoded Program. The VM, the disassembler and the CLI trust
// verified data: every table entry has the fields and types they read, every opcode exists,
// every operand indexes an existing pool entry, and every jump lands on an instruction.
import { Op, OPCODES, type OperandKind } from './opcodes.js';
import type { CodeObject } from './program.js';
import { NATIVE_COUNT } from './natives-table.js';

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isStr = (v: unknown): v is string => typeof v === 'string';
const isInt = (v: unknown): v is number => Number.isInteger(v);
const isStrArr = (v: unknown): v is string[] => Array.isArray(v) && v.every(isStr);

const PLAYBOOK_KINDS = new Set(['markdown', 'react', 'raw', 'code', 'foreign']);
const CALLEE_KINDS = new Set(['playbook', 'builtin', 'tool', 'value']);
const NL_KINDS = new Set(['step', 'say', 'ask', 'value', 'list', 'cond', 'return', 'block', 'task']);
const TRIGGER_KINDS = new Set(['begin', 'state', 'nl']);
const LANGS = new Set(['ts', 'js', 'python']);

/** Returns a description of the first problem found, or undefined when the program is sound. */
export function verifyProgram(p: unknown): string | undefined {
  if (!isObj(p)) return 'top level is not an object';
  if (!isStr(p.compiler)) return 'missing compiler version';
  if (!Array.isArray(p.files) || !Array.isArray(p.sources) || !Array.isArray(p.agents)) return 'missing files, sources or agents';
  if (p.sources.length !== p.files.length) return 'sources and files differ in length';
  if (!p.sources.every(isStr)) return 'a source text is not a string';
  if (!p.files.every((f) => isObj(f) && isStr(f.path) && isStr(f.sha256))) return 'malformed file entry';
  if (!isObj(p.frontMatter)) return 'missing front matter';
  const names = new Set<string>();
  for (const a of p.agents) {
    if (!isObj(a) || !isStr(a.name) || !isStr(a.title) || !isStr(a.description) || !isObj(a.metadata)) return 'malformed agent';
    if (names.has(a.name)) return `duplicate agent '${a.name}'`;
    names.add(a.name);
    if (!Array.isArray(a.playbooks) || !Array.isArray(a.blocks)) return `agent ${a.name}: missing playbooks or blocks`;
    for (const b of a.blocks) {
      if (!isObj(b) || !isStr(b.lang) || !LANGS.has(b.lang) || !isStr(b.source) || !isStrArr(b.exports) || !isInt(b.line) || !isInt(b.file)) {
        return `agent ${a.name}: malformed code block`;
      }
    }
    for (const pb of a.playbooks) {
      const problem = verifyCode(pb, p.files.length);
      if (problem) return `${a.name}.${isObj(pb) && isStr(pb.name) ? pb.name : '?'}: ${problem}`;
      const co = pb as CodeObject;
      if (co.agent !== a.name) return `${a.name}.${co.name}: belongs to agent '${co.agent}'`;
      if (co.block !== undefined && (!isInt(co.block) || co.block < 0 || co.block >= a.blocks.length)) return `${a.name}.${co.name}: code block index out of range`;
    }
  }
  return undefined;
}

function verifyTables(co: Record<string, unknown>, fileCount: number): string | undefined {
  for (const key of ['code', 'consts', 'calls', 'nl', 'steps', 'stepOf', 'locals', 'params', 'triggers', 'notes'] as const) {
    if (!Array.isArray(co[key])) return `missing ${key}`;
  }
  if (!isStr(co.name) || !isStr(co.title) || !isStr(co.agent) || !isStr(co.kind) || !PLAYBOOK_KINDS.has(co.kind)) return 'missing or invalid name, agent or kind';
  if (!isStr(co.description) || !isObj(co.metadata) || typeof co.public !== 'boolean' || !isInt(co.file) || !isInt(co.line)) return 'malformed header fields';
  if (co.file < 0 || co.file >= Math.max(1, fileCount)) return 'file index out of range';
  if (!(co.code as unknown[]).every(isInt)) return 'code holds a non-integer';
  if (!isStrArr(co.locals) || !isStrArr(co.notes)) return 'malformed locals or notes';
  const params = co.params as unknown[];
  if (!params.every((p) => isObj(p) && isStr(p.name) && typeof p.hasDefault === 'boolean')) return 'malformed parameter';
  const paramNames = params.map((p) => (p as { name: string }).name);
  if (new Set(paramNames).size !== paramNames.length) return 'duplicate parameter';
  if (params.length > (co.locals as string[]).length) return 'more parameters than locals';
  for (const c of co.calls as unknown[]) {
    if (!isObj(c) || !isStr(c.agent) || !isStr(c.name) || !isStr(c.kind) || !CALLEE_KINDS.has(c.kind) || !isInt(c.argc) || c.argc < 0 || !isStrArr(c.kwnames) || typeof c.crossAgent !== 'boolean') {
      return 'malformed call site';
    }
    if (c.kwnames.length > c.argc) return 'call site has more keyword names than arguments';
  }
  const steps = co.steps as unknown[];
  for (const s of steps) {
    if (!isObj(s) || !isStr(s.id) || !isStr(s.kind) || !isStr(s.text) || !isInt(s.file) || !isInt(s.line) || !isInt(s.col)) return 'malformed step';
    if (s.file < 0 || s.file >= Math.max(1, fileCount)) return 'step file index out of range';
  }
  for (const n of co.nl as unknown[]) {
    if (!isObj(n) || !isStr(n.kind) || !NL_KINDS.has(n.kind) || !isStr(n.text) || !isStrArr(n.mentions) || !isInt(n.step)) return 'malformed natural-language entry';
    if (n.step < -1 || n.step >= steps.length) return 'natural-language entry refers to a missing step';
    if (n.target !== undefined && !isStr(n.target)) return 'malformed natural-language target';
  }
  if (co.plan !== undefined) {
    const problem = verifyPlan(co.plan, steps.length, fileCount);
    if (problem) return `plan: ${problem}`;
  }
  for (const t of co.triggers as unknown[]) {
    if (!isObj(t) || !isStr(t.id) || !isStr(t.kind) || !TRIGGER_KINDS.has(t.kind) || !isStr(t.text) || !isInt(t.line) || !isInt(t.file)) return 'malformed trigger';
    if (t.cond !== undefined) {
      const problem = verifyCode(t.cond, fileCount);
      if (problem) return `trigger ${t.id}: ${problem}`;
    }
  }
  return undefined;
}

export function verifyCode(c: unknown, fileCount: number): string | undefined {
  if (!isObj(c)) return 'code object is not an object';
  const tables = verifyTables(c, fileCount);
  if (tables) return tables;
  const co = c as unknown as CodeObject;
  if (co.stepOf.length !== co.code.length) return 'step map does not match code length';
  if (co.code.length === 0 && (co.kind === 'markdown' || co.kind === 'react' || co.kind === 'raw')) return 'playbook has no code';
  const starts = new Set<number>();
  const jumps: number[] = [];
  let pc = 0;
  while (pc < co.code.length) {
    starts.add(pc);
    const op = co.code[pc] as Op;
    const info = OPCODES[op];
    if (!info) return `unknown opcode ${String(op)} at ${pc}`;
    if (pc + info.operands.length >= co.code.length) return `truncated instruction at ${pc}`;
    for (let i = 0; i < info.operands.length; i++) {
      const v = co.code[pc + 1 + i];
      const problem = checkOperand(info.operands[i]!, v, co);
      if (problem) return `${info.name} at ${pc}: ${problem}`;
      if (info.operands[i] === 'target') jumps.push(v!);
    }
    pc += 1 + info.operands.length;
  }
  if (co.code.length > 0) {
    // Execution must not run off the end: the last instruction has to leave the code object.
    let last = 0;
    for (const s of starts) if (s > last) last = s;
    const end = co.code[last] as Op;
    if (end !== Op.RETURN && end !== Op.HALT && end !== Op.JUMP) return 'code does not end with RETURN, HALT or JUMP';
  }
  for (const t of jumps) if (!starts.has(t)) return `jump to ${t} is not an instruction boundary`;
  for (const s of co.stepOf) if (!isInt(s) || s < -1 || s >= co.steps.length) return 'step map entry out of range';
  return undefined;
}

function checkOperand(kind: OperandKind, v: number | undefined, co: CodeObject): string | undefined {
  if (v === undefined || !Number.isInteger(v) || v < 0) return `bad ${kind} operand`;
  const limit: Record<OperandKind, number> = {
    const: co.consts.length,
    name: co.consts.length,
    key: co.consts.length,
    local: co.locals.length,
    target: co.code.length,
    count: 1 << 20,
    call: co.calls.length,
    native: NATIVE_COUNT,
    nl: co.nl.length,
    step: co.steps.length,
    plan: co.plan?.steps.length ?? 0,
  };
  if (v >= limit[kind]) return `${kind} operand ${v} out of range`;
  if ((kind === 'name' || kind === 'key') && typeof co.consts[v] !== 'string') return `${kind} operand ${v} is not a string constant`;
  return undefined;
}

function verifyPlan(plan: unknown, stepCount: number, fileCount: number): string | undefined {
  if (!isObj(plan) || typeof plan.strictSequence !== 'boolean' || typeof plan.allowExtraTools !== 'boolean' || !isInt(plan.maxIterations) || plan.maxIterations < 0 || !Array.isArray(plan.steps)) {
    return 'malformed plan';
  }
  const ids = new Set<string>();
  for (const s of plan.steps as unknown[]) {
    if (!isObj(s) || !isStr(s.id) || !isInt(s.step) || s.step < 0 || s.step >= stepCount || !isStr(s.description)) return 'malformed plan step';
    if (!isStrArr(s.expectedTools) || !isStrArr(s.hints) || typeof s.required !== 'boolean' || !isStrArr(s.requiredResultKeywords) || !isObj(s.metadata)) return `plan step ${s.id}: malformed contract`;
    if (!(s.maxToolCalls === null || (isInt(s.maxToolCalls) && s.maxToolCalls >= 0))) return `plan step ${s.id}: bad max_tool_calls`;
    if (!(s.timeoutSeconds === null || (typeof s.timeoutSeconds === 'number' && s.timeoutSeconds > 0))) return `plan step ${s.id}: bad timeout_seconds`;
    if (!isInt(s.minToolCalls) || s.minToolCalls < 0) return `plan step ${s.id}: bad min_tool_calls`;
    if (ids.has(s.id)) return `duplicate plan step id '${s.id}'`;
    ids.add(s.id);
    if (s.predicate !== undefined) {
      const problem = verifyCode(s.predicate, fileCount);
      if (problem) return `plan step ${s.id} predicate: ${problem}`;
      if ((s.predicate as CodeObject).params.length !== 1) return `plan step ${s.id} predicate: must take one parameter`;
    }
  }
  return undefined;
}
