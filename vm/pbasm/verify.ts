// Structural verification of a decoded Program. The VM trusts verified code: every opcode
// exists, every operand indexes an existing pool entry, every jump lands on an instruction.
import { Op, OPCODES, type OperandKind } from './opcodes.js';
import type { CodeObject } from './program.js';
import { NATIVE_COUNT } from './natives-table.js';

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isStr = (v: unknown): v is string => typeof v === 'string';

/** Returns a description of the first problem found, or undefined when the program is sound. */
export function verifyProgram(p: unknown): string | undefined {
  if (!isObj(p)) return 'top level is not an object';
  if (!isStr(p.compiler)) return 'missing compiler version';
  if (!Array.isArray(p.files) || !Array.isArray(p.sources) || !Array.isArray(p.agents)) return 'missing files, sources or agents';
  if (p.sources.length !== p.files.length) return 'sources and files differ in length';
  if (!isObj(p.frontMatter)) return 'missing front matter';
  for (const a of p.agents) {
    if (!isObj(a) || !isStr(a.name) || !Array.isArray(a.playbooks) || !Array.isArray(a.blocks)) return 'malformed agent';
    for (const pb of a.playbooks) {
      const problem = verifyCode(pb, p.files.length);
      if (problem) return `${a.name}.${isObj(pb) && isStr(pb.name) ? pb.name : '?'}: ${problem}`;
    }
  }
  return undefined;
}

export function verifyCode(c: unknown, fileCount: number): string | undefined {
  if (!isObj(c)) return 'code object is not an object';
  const co = c as unknown as CodeObject;
  for (const key of ['code', 'consts', 'calls', 'nl', 'steps', 'stepOf', 'locals', 'params', 'triggers'] as const) {
    if (!Array.isArray(co[key])) return `missing ${key}`;
  }
  if (!isStr(co.name) || !isStr(co.agent) || !isStr(co.kind)) return 'missing name, agent or kind';
  if (co.stepOf.length !== co.code.length) return 'step map does not match code length';
  if (co.params.length > co.locals.length) return 'more parameters than locals';
  const starts = new Set<number>();
  const jumps: number[] = [];
  let pc = 0;
  while (pc < co.code.length) {
    starts.add(pc);
    const op = co.code[pc] as Op;
    const info = OPCODES[op];
    if (!Number.isInteger(op) || !info) return `unknown opcode ${String(op)} at ${pc}`;
    if (pc + info.operands.length >= co.code.length) return `truncated instruction at ${pc}`;
    for (let i = 0; i < info.operands.length; i++) {
      const v = co.code[pc + 1 + i];
      const problem = checkOperand(info.operands[i]!, v, co);
      if (problem) return `${info.name} at ${pc}: ${problem}`;
      if (info.operands[i] === 'target') jumps.push(v!);
    }
    pc += 1 + info.operands.length;
  }
  for (const t of jumps) if (t !== co.code.length && !starts.has(t)) return `jump to ${t} is not an instruction boundary`;
  for (const s of co.stepOf) if (!Number.isInteger(s) || s < -1 || s >= co.steps.length) return 'step map entry out of range';
  for (const s of co.steps) if (!isObj(s) || !isStr(s.id) || !Number.isInteger(s.file) || s.file < 0 || s.file >= fileCount) return 'malformed step';
  for (const t of co.triggers) {
    if (!isObj(t) || !isStr(t.kind)) return 'malformed trigger';
    if (t.cond !== undefined) {
      const problem = verifyCode(t.cond, fileCount);
      if (problem) return `trigger ${String(t.id)}: ${problem}`;
    }
  }
  return undefined;
}

function checkOperand(kind: OperandKind, v: number | undefined, co: CodeObject): string | undefined {
  if (v === undefined || !Number.isInteger(v) || v < 0) return `bad ${kind} operand`;
  const limit: Record<OperandKind, number> = {
    const: co.consts.length,
    name: co.consts.length,
    key: co.consts.length,
    local: co.locals.length,
    target: co.code.length + 1,
    count: 1 << 20,
    call: co.calls.length,
    native: NATIVE_COUNT,
    nl: co.nl.length,
    step: co.steps.length,
  };
  if (v >= limit[kind]) return `${kind} operand ${v} out of range`;
  if ((kind === 'name' || kind === 'key') && typeof co.consts[v] !== 'string') return `${kind} operand ${v} is not a string constant`;
  return undefined;
}
