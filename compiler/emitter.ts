// Builds one code object. Every emit is checked against the opcode table, so the
// encoder cannot drift from the disassembler or the VM.
import { Op, OPCODES } from '../vm/pbasm/opcodes.js';
import { wellFormed } from './text.js';
import type { CallSite, CodeObject, NLInfo, StepInfo, Value } from '../vm/pbasm/program.js';

export class Emitter {
  readonly code: number[] = [];
  readonly stepOf: number[] = [];
  readonly consts: Value[] = [];
  readonly locals: string[] = [];
  readonly calls: CallSite[] = [];
  readonly nl: NLInfo[] = [];
  readonly steps: StepInfo[] = [];
  private readonly constIndex = new Map<string | number, number>();
  private readonly localIndex = new Map<string, number>();
  private currentStep = -1;
  private hidden = 0;

  constructor(params: string[]) {
    for (const p of params) this.local(p);
  }

  emit(op: Op, a?: number, b?: number): number {
    const want = OPCODES[op].operands.length;
    const given = a === undefined ? 0 : b === undefined ? 1 : 2;
    if (given !== want) throw new Error(`internal: ${OPCODES[op].name} takes ${want} operands, got ${given}`);
    const pc = this.code.length;
    const step = this.currentStep;
    this.code.push(op);
    this.stepOf.push(step);
    if (a !== undefined) {
      this.code.push(a);
      this.stepOf.push(step);
      if (b !== undefined) {
        this.code.push(b);
        this.stepOf.push(step);
      }
    }
    return pc;
  }

  /** Emits a jump with a placeholder target; returns the operand slot to patch. */
  jump(op: Op.JUMP | Op.JUMP_IF_FALSE | Op.JUMP_IF_TRUE | Op.AND_JUMP | Op.OR_JUMP): number {
    this.emit(op, -1);
    return this.code.length - 1;
  }

  patch(slot: number, target = this.code.length): void {
    this.code[slot] = target;
  }

  get pc(): number {
    return this.code.length;
  }

  constant(v: Value): number {
    if (v === 0) v = 0; // -0 becomes 0 (msgpack and JSON have no negative zero)
    else if (typeof v === 'string') v = wellFormed(v); // "\uD800" escapes cannot be stored
    // Numbers by value (JSON would spell Infinity, from `1e999`, as null and merge the two).
    const key = typeof v === 'string' ? `s${v}` : typeof v === 'number' ? v : `j${JSON.stringify(v)}`;
    let i = this.constIndex.get(key);
    if (i === undefined) {
      i = this.consts.length;
      this.consts.push(v);
      this.constIndex.set(key, i);
    }
    return i;
  }

  local(name: string): number {
    let i = this.localIndex.get(name);
    if (i === undefined) {
      i = this.locals.length;
      this.locals.push(name);
      this.localIndex.set(name, i);
    }
    return i;
  }

  hasLocal(name: string): boolean {
    return this.localIndex.has(name);
  }

  hiddenLocal(what: string): number {
    return this.local(`%${what}${this.hidden++}`);
  }

  call(site: CallSite): number {
    this.calls.push(site);
    return this.calls.length - 1;
  }

  nlEntry(info: Omit<NLInfo, 'step'>): number {
    const entry: NLInfo = { kind: info.kind, text: info.text, mentions: info.mentions, step: this.currentStep };
    if (info.target !== undefined) entry.target = info.target;
    this.nl.push(entry);
    return this.nl.length - 1;
  }

  /** Starts a step: records it and emits its STEP marker. */
  step(info: StepInfo): number {
    this.steps.push(info);
    this.currentStep = this.steps.length - 1;
    this.emit(Op.STEP, this.currentStep);
    return this.currentStep;
  }

  /** Code emitted after this belongs to no step (the implicit return at the end). */
  endSteps(): void {
    this.currentStep = -1;
  }

  finish(base: Omit<CodeObject, 'code' | 'consts' | 'locals' | 'calls' | 'nl' | 'steps' | 'stepOf'>): CodeObject {
    // Spelled out (no object spread): one fixed shape for every code object, and faster to build.
    const co: CodeObject = {
      name: base.name,
      title: base.title,
      agent: base.agent,
      kind: base.kind,
      description: base.description,
      notes: base.notes,
      metadata: base.metadata,
      public: base.public,
      params: base.params,
      locals: this.locals,
      code: this.code,
      consts: this.consts,
      calls: this.calls,
      nl: this.nl,
      steps: this.steps,
      stepOf: this.stepOf,
      triggers: base.triggers,
      file: base.file,
      line: base.line,
    };
    if (base.block !== undefined) co.block = base.block;
    if (base.plan !== undefined) co.plan = base.plan;
    return co;
  }
}
