// The PBAsm listing: agent → playbook → step, one instruction per line, driven by the
// opcode table so every opcode and operand kind renders the same way everywhere.
import { OPCODES, type Op, type OperandKind } from '../vm/pbasm/opcodes.js';
import { NATIVES } from '../vm/pbasm/natives-table.js';
import type { CodeObject, Program, Value } from '../vm/pbasm/program.js';

const MAX_TEXT = 72;

function clip(s: string, max = MAX_TEXT): string {
  const one = s.replace(/\s*\n\s*/g, ' ⏎ ');
  return one.length > max ? `${one.slice(0, max - 1)}…` : one;
}

function show(v: Value): string {
  if (typeof v === 'string') return JSON.stringify(clip(v));
  return clip(JSON.stringify(v));
}

function operand(kind: OperandKind, v: number, co: CodeObject): string {
  switch (kind) {
    case 'const':
      return show(co.consts[v]!);
    case 'name':
      return `$${String(co.consts[v])}`;
    case 'key':
      return `.${String(co.consts[v])}`;
    case 'local':
      return co.locals[v] ?? `?${v}`;
    case 'target':
      return `-> ${String(v).padStart(4, '0')}`;
    case 'count':
      return String(v);
    case 'native':
      return NATIVES[v]?.name ?? `?${v}`;
    case 'step':
      return co.steps[v]?.id ?? `?${v}`;
    case 'plan':
      return co.plan?.steps[v] ? JSON.stringify(co.plan.steps[v]!.id) : `?${v}`;
    case 'call': {
      const c = co.calls[v]!;
      const callee = c.kind === 'playbook' && (c.crossAgent || c.agent !== co.agent) ? `${c.agent}.${c.name}` : c.name;
      const kw = c.kwnames.length ? ` kw=${c.kwnames.join(',')}` : '';
      return `${callee}/${c.argc}${kw} [${c.kind}]`;
    }
    case 'nl': {
      const n = co.nl[v]!;
      return `${n.kind}${n.target ? ` ->${n.target}` : ''} ${JSON.stringify(clip(n.text))}`;
    }
  }
}

export function disassembleCode(co: CodeObject, indent = '', files: Program['files'] = []): string[] {
  const out: string[] = [];
  let lastStep = -2;
  let pc = 0;
  while (pc < co.code.length) {
    const op = co.code[pc] as Op;
    const info = OPCODES[op];
    const stepIndex = co.stepOf[pc] ?? -1;
    const step = co.steps[stepIndex];
    if (stepIndex !== lastStep && step) {
      const where = step.file === co.file || !files[step.file] ? `line ${step.line}` : `${files[step.file]!.path}:${step.line}`;
      out.push(`${indent}; ${step.id} ${step.kind} (${where}): ${clip(step.text)}`);
      lastStep = stepIndex;
    }
    const ops = info.operands.map((k, i) => operand(k, co.code[pc + 1 + i]!, co));
    const id = (step?.id ?? '--').padEnd(8);
    out.push(`${indent}${id} ${String(pc).padStart(4, '0')}  ${info.name.padEnd(13)} ${ops.join('  ')}`.trimEnd());
    pc += 1 + info.operands.length;
  }
  return out;
}

function signature(co: CodeObject): string {
  const params = co.params.map((p) => (p.hasDefault ? `${p.name} = ${JSON.stringify(p.default)}` : p.name)).join(', ');
  return `${co.name}(${params})`;
}

export function disassemble(program: Program): string {
  const out: string[] = [`; PBAsm listing (compiler ${program.compiler})`];
  for (const f of program.files) out.push(`; source ${f.path} sha256:${f.sha256.slice(0, 16)}`);
  if (Object.keys(program.frontMatter).length) out.push(`; front matter ${JSON.stringify(program.frontMatter)}`);
  for (const agent of program.agents) {
    out.push('', `agent ${agent.name}${agent.title !== agent.name ? `  ; "${agent.title}"` : ''}`);
    if (agent.kind) out.push(`  ; kind ${agent.kind}`);
    if (agent.description) out.push(`  ; description: ${clip(agent.description)}`);
    if (Object.keys(agent.metadata).length) out.push(`  ; metadata ${clip(JSON.stringify(agent.metadata), 200)}`);
    for (const b of agent.blocks) out.push(`  ; ${b.lang} block (line ${b.line}) exports ${b.exports.join(', ') || 'nothing'}`);
    for (const co of agent.playbooks) {
      const flags = [co.kind, co.public ? 'public' : ''].filter(Boolean).join(', ');
      out.push('', `  playbook ${signature(co)}  ; ${flags}${co.title !== co.name ? `; "${co.title}"` : ''} (line ${co.line})`);
      if (co.description) out.push(`    ; description: ${clip(co.description)}`);
      if (Object.keys(co.metadata).length) out.push(`    ; metadata ${clip(JSON.stringify(co.metadata), 200)}`);
      for (const note of co.notes) out.push(`    ; note: ${clip(note)}`);
      if (co.locals.length > co.params.length) out.push(`    ; locals ${co.locals.slice(co.params.length).join(', ')}`);
      for (const t of co.triggers) {
        out.push(`    trigger ${t.id} ${t.kind}: ${clip(t.text)}`);
        if (t.cond) out.push(...disassembleCode(t.cond, '      ', program.files));
      }
      if (co.plan) out.push(...planListing(co));
      out.push(...disassembleCode(co, '    ', program.files));
    }
  }
  return `${out.join('\n')}\n`;
}

/** An enforced procedure's plan: its rules, then each step's contract and predicate code. */
function planListing(co: CodeObject): string[] {
  const p = co.plan!;
  const out = [`    plan strict_sequence=${p.strictSequence} allow_extra_tools=${p.allowExtraTools} max_iterations=${p.maxIterations}`];
  for (const s of p.steps) {
    const parts = [`expected_tools=[${s.expectedTools.join(', ')}]`, s.required ? 'required' : 'optional'];
    if (s.maxToolCalls !== null) parts.push(`max_tool_calls=${s.maxToolCalls}`);
    if (s.timeoutSeconds !== null) parts.push(`timeout_seconds=${s.timeoutSeconds}`);
    if (s.minToolCalls) parts.push(`min_tool_calls=${s.minToolCalls}`);
    if (s.requiredResultKeywords.length) parts.push(`required_result_keywords=[${s.requiredResultKeywords.join(', ')}]`);
    if (Object.keys(s.metadata).length) parts.push(`metadata=${clip(JSON.stringify(s.metadata))}`);
    out.push(`    plan step ${JSON.stringify(s.id)} (step ${co.steps[s.step]?.id ?? '?'}): ${parts.join(' ')}`);
    for (const h of s.hints) out.push(`      ; hint: ${clip(h)}`);
    if (s.predicate) {
      out.push(`      predicate: ${clip(s.predicateText ?? '')}`);
      out.push(...disassembleCode(s.predicate, '        '));
    }
  }
  return out;
}
