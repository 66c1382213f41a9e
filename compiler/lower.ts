// Statements and expressions → PBAsm code objects.
import { Op } from '../vm/pbasm/opcodes.js';
import type { CodeObject, NLInfo, NLKind, PlanSpec, PlanStepSpec, StepKind, TriggerInfo } from '../vm/pbasm/program.js';
import { PLAN_KEYS, planRules } from './contracts.js';
import type { BinOp, Expr, Operand, Pos, StepBase, Stmt, Target } from './ast.js';
import type { AgentDraft, PlaybookDraft, Reporter } from './declarations.js';
import { Emitter } from './emitter.js';
import { lowerAsk } from './lower-ask.js';
import { implicitLocals } from './meetings.js';
import { isPublic, type Symbols } from './symbols.js';

const BIN: Record<BinOp, Op> = {
  '+': Op.ADD,
  '-': Op.SUB,
  '*': Op.MUL,
  '/': Op.DIV,
  '//': Op.IDIV,
  '%': Op.MOD,
  '**': Op.POW,
  '==': Op.EQ,
  '!=': Op.NE,
  '<': Op.LT,
  '<=': Op.LE,
  '>': Op.GT,
  '>=': Op.GE,
  in: Op.IN,
  'not in': Op.NOT_IN,
};

interface Loop {
  continueTarget: number;
  breaks: number[];
}

/** Maps a position in the expanded source to the program's file index and real line. */
export type LineMapper = (pos: Pos) => { file: number; line: number; col?: number };

export class Lowerer {
  private readonly e: Emitter;
  private readonly params: Set<string>;
  private readonly loops: Loop[] = [];
  /** The enforced procedure's plan, if any, and the plan step being lowered (-1: none). */
  private plan: PlanSpec | undefined;
  private planStep = -1;
  /** Contracted steps lowered so far (the index of the next one). */
  private planNext = 0;

  constructor(
    private readonly agent: AgentDraft,
    private readonly pb: PlaybookDraft,
    private readonly symbols: Symbols,
    private readonly report: Reporter,
    private readonly where: LineMapper,
  ) {
    // A meeting playbook's implicit locals read like parameters ($topic and topic alike).
    const slots = [...pb.params.map((p) => p.name), ...implicitLocals(pb)];
    this.params = new Set(slots);
    this.e = new Emitter(slots);
  }

  lowerPlaybook(steps: Stmt[] | undefined): CodeObject {
    const e = this.e;
    let kind: CodeObject['kind'] = this.pb.kind;
    if (this.pb.kind === 'markdown' && steps === undefined) {
      // No ### Steps: the whole description is one open-ended step the model carries out
      // (ReAct), or a single completion when execution_mode is raw.
      const raw = this.pb.metadata.execution_mode === 'raw';
      kind = raw ? 'raw' : 'react';
      const text = this.pb.description || this.pb.title;
      this.beginStep({ id: '01', text, pos: this.pb.pos }, 'react');
      e.emit(Op.NL_VALUE, e.nlEntry({ kind: raw ? 'return' : 'task', text, mentions: this.mentions(text) }));
      e.emit(Op.RETURN);
    } else if (steps) {
      this.plan = this.planSpec(steps);
      if (this.plan) this.planBlock(steps);
      else this.block(steps);
      e.endSteps();
      e.emit(Op.CONST, e.constant(null));
      if (this.plan) e.emit(Op.PLAN_CHECK);
      e.emit(Op.RETURN);
    }
    const at = this.where(this.pb.pos);
    return e.finish({
      name: this.pb.name,
      title: this.pb.title,
      agent: this.agent.name,
      kind,
      description: this.pb.description,
      notes: this.pb.notes,
      metadata: this.pb.metadata,
      public: isPublic(this.pb),
      params: this.pb.params.map((p) => (p.hasDefault ? { name: p.name, default: p.default!, hasDefault: true } : { name: p.name, hasDefault: false })),
      triggers: this.triggers(),
      file: at.file,
      line: at.line,
      ...(this.pb.block !== undefined ? { block: this.pb.block } : {}),
      ...(this.plan ? { plan: this.plan } : {}),
    });
  }

  /**
   * The playbook's PlanSpec when it is an enforced procedure: one of its top-level steps has a
   * tool contract, or its metadata sets strict_sequence, allow_extra_tools or max_iterations.
   * Predicates are compiled here; step indexes are filled in while lowering (planBlock).
   */
  private planSpec(steps: Stmt[]): PlanSpec | undefined {
    const md = this.pb.metadata;
    const contracted = steps.filter((s) => s.contract);
    if (contracted.length === 0 && !PLAN_KEYS.some((k) => k in md)) return undefined;
    const rules = planRules(md, this.report, this.pb.pos);
    const ids = new Set<string>();
    const specs: PlanStepSpec[] = contracted.map((s) => {
      const c = s.contract!;
      const id = c.id ?? s.id;
      for (const t of c.expectedTools) {
        const pb = this.agent.playbooks.find((p) => p.name === t);
        if (pb && pb.kind === 'markdown') this.report.error('contract', `expected_tools: '${t}' is a playbook of this agent, not a tool; list the tools it calls (calls inside it count for this step)`, c.pos);
      }
      if (ids.has(id)) this.report.error('contract', `step id '${id}' is used by two steps of this playbook`, c.pos);
      ids.add(id);
      const { id: _id, predicate: _predicate, pos: _pos, ...contract } = c;
      const spec: PlanStepSpec = { id, step: -1, description: s.text.split('\n')[0]!, ...contract };
      if (c.predicate) {
        spec.predicate = this.predicate(id, c.predicate.expr, c.predicate.pos);
        spec.predicateText = c.predicate.text;
      }
      return spec;
    });
    return { ...rules, steps: specs };
  }

  /** A predicate as a code object: one parameter, `result`; returns the expression's value. */
  private predicate(id: string, expr: Expr, pos: Pos): CodeObject {
    return this.expressionCode(`${this.pb.name}.${id}.predicate`, { id, text: `predicate of step ${id}`, pos }, 'predicate', expr, ['result']);
  }

  /** A one-step code object that returns an expression (a state trigger's condition, a predicate). */
  private expressionCode(name: string, step: StepBase, kind: StepKind, expr: Expr, params: string[]): CodeObject {
    const at = this.where(step.pos);
    const sub = new Lowerer(this.agent, { ...this.pb, metadata: {}, params: params.map((p) => ({ name: p, hasDefault: false, pos: step.pos })) }, this.symbols, this.report, this.where);
    sub.beginStep(step, kind);
    sub.expr(expr);
    sub.e.emit(Op.RETURN);
    return sub.e.finish({
      name,
      title: step.text,
      agent: this.agent.name,
      kind: 'markdown',
      description: '',
      notes: [],
      metadata: {},
      public: false,
      params: params.map((p) => ({ name: p, hasDefault: false })),
      triggers: [],
      file: at.file,
      line: at.line,
    });
  }

  /** Top-level steps of an enforced procedure: each contracted one between PLAN_BEGIN and PLAN_END. */
  private planBlock(steps: Stmt[]): void {
    const e = this.e;
    let k = 0;
    for (const s of steps) {
      if (!s.contract) {
        this.planStep = -1;
        this.stmt(s);
        continue;
      }
      const index = k++;
      this.planStep = index;
      this.planNext = k;
      const firstStep = e.steps.length;
      const begin = e.emit(Op.PLAN_BEGIN, index, -1);
      this.stmt(s);
      const end = e.emit(Op.PLAN_END, index);
      e.patch(begin + 2);
      // Both belong to the step they wrap (errors there point at it).
      for (let pc = begin; pc < begin + 3; pc++) e.stepOf[pc] = firstStep;
      e.stepOf[end] = firstStep;
      e.stepOf[end + 1] = firstStep;
      this.plan!.steps[index]!.step = firstStep;
    }
    this.planStep = -1;
  }

  /** A deterministic tool call the contract provably forbids is a compile error. */
  private checkToolCall(name: string, pos: Pos): void {
    const plan = this.plan;
    if (!plan) return;
    const current = this.planStep >= 0 ? plan.steps[this.planStep] : undefined;
    if (current?.expectedTools.includes(name)) return;
    const owner = plan.steps.findIndex((p) => p.expectedTools.includes(name));
    const ownerText = owner >= 0 ? `; it belongs to step '${plan.steps[owner]!.id}'` : '';
    // Steps not started yet: after the current one, or from the next contracted one on.
    const ahead = owner >= 0 && (current ? owner > this.planStep : owner >= this.planNext);
    if (ahead && plan.strictSequence) {
      this.report.error('contract', `call to '${name}' skips ahead${current ? ` from step '${current.id}'` : ''}${ownerText}, and strict_sequence is on`, pos);
      return;
    }
    // Without strict_sequence a call counts for whichever step expects it.
    if (plan.allowExtraTools || (owner >= 0 && !plan.strictSequence)) return;
    const where = current ? `the tool contract of step '${current.id}' (expected tools: ${current.expectedTools.join(', ') || 'none'})` : "every step's tool contract";
    this.report.error('contract', `call to '${name}' is outside ${where}${ownerText}; allow_extra_tools is false`, pos);
  }


  private triggers(): TriggerInfo[] {
    return this.pb.triggers.map((t) => {
      const at = this.where(t.pos);
      const info: TriggerInfo = { id: t.id, kind: t.kind, text: t.text, line: at.line, file: at.file };
      if (t.kind === 'state' && t.expr) info.cond = this.expressionCode(`${this.pb.name}.${t.id}`, { id: t.id, text: t.text, pos: t.pos }, 'trigger', t.expr, []);
      return info;
    });
  }

  private beginStep(s: StepBase, kind: StepKind): void {
    const at = this.where(s.pos);
    this.e.step({ id: s.id, kind, file: at.file, line: at.line, col: at.col ?? s.pos.col, text: s.text });
  }

  private block(stmts: Stmt[]): void {
    for (const s of stmts) this.stmt(s);
  }

  private stmt(s: Stmt): void {
    const e = this.e;
    switch (s.kind) {
      case 'assign':
        this.beginStep(s, 'assign');
        this.value(s.value, 'value', s.target.name);
        this.store(s.target);
        return;
      case 'call':
        this.beginStep(s, 'call');
        this.expr(s.call);
        e.emit(Op.POP);
        return;
      case 'say':
        this.beginStep(s, 'say');
        this.value(s.message, 'say');
        e.emit(Op.SAY);
        return;
      case 'ask':
        this.beginStep(s, 'ask');
        lowerAsk(e, s, (t) => this.store(t), (t) => this.expr({ k: 'var', name: t.name, state: t.state, pos: t.pos }));
        return;
      case 'return':
        this.beginStep(s, 'return');
        if (s.value) this.value(s.value, 'return');
        else e.emit(Op.CONST, e.constant(null));
        if (this.plan) e.emit(Op.PLAN_CHECK);
        e.emit(Op.RETURN);
        return;
      case 'end':
        this.beginStep(s, 'end');
        e.emit(Op.HALT);
        return;
      case 'break':
      case 'continue': {
        this.beginStep(s, s.kind);
        const loop = this.loops[this.loops.length - 1];
        if (!loop) {
          this.report.error('outside-loop', `'${s.kind}' outside of a loop`, s.pos);
          return;
        }
        if (s.kind === 'break') loop.breaks.push(e.jump(Op.JUMP));
        else e.emit(Op.JUMP, loop.continueTarget);
        return;
      }
      case 'nl': {
        this.beginStep(s, 'nl');
        const text = s.text;
        if (s.body.length === 0) {
          e.emit(Op.NL_STEP, e.nlEntry({ kind: s.nlKind, text, mentions: this.mentions(text) }));
          return;
        }
        e.emit(Op.NL_COND, e.nlEntry({ kind: 'block', text, mentions: this.mentions(text) }));
        const skip = e.jump(Op.JUMP_IF_FALSE);
        this.block(s.body);
        e.patch(skip);
        return;
      }
      case 'if': {
        const ends: number[] = [];
        s.branches.forEach((b, i) => {
          this.beginStep(b.step, i === 0 ? 'if' : 'elif');
          this.cond(b.cond);
          const next = e.jump(Op.JUMP_IF_FALSE);
          this.block(b.body);
          if (i < s.branches.length - 1 || s.orelse) ends.push(e.jump(Op.JUMP));
          e.patch(next);
        });
        if (s.orelse) {
          this.beginStep(s.orelse.step, 'else');
          this.block(s.orelse.body);
        }
        for (const j of ends) e.patch(j);
        return;
      }
      case 'while':
      case 'until': {
        const top = e.pc;
        this.beginStep(s, s.kind);
        this.cond(s.cond);
        const exit = e.jump(s.kind === 'while' ? Op.JUMP_IF_FALSE : Op.JUMP_IF_TRUE);
        this.loop(top, s.body);
        e.emit(Op.JUMP, top);
        e.patch(exit);
        this.closeLoop();
        return;
      }
      case 'foreach': {
        this.beginStep(s, 'foreach');
        this.value(s.iterable, 'list');
        const it = e.hiddenLocal('iter');
        e.emit(Op.ITER, it);
        const top = e.pc;
        e.emit(Op.FOR_NEXT, it, -1);
        const exit = e.code.length - 1;
        this.store(s.variable);
        this.loop(top, s.body);
        e.emit(Op.JUMP, top);
        e.patch(exit);
        this.closeLoop();
        return;
      }
    }
  }

  private loop(continueTarget: number, body: Stmt[]): void {
    this.loops.push({ continueTarget, breaks: [] });
    this.block(body);
  }

  private closeLoop(): void {
    const loop = this.loops.pop()!;
    for (const b of loop.breaks) this.e.patch(b);
  }

  private store(t: Target): void {
    if (t.state && !this.params.has(t.name)) this.e.emit(Op.STORE_STATE, this.e.constant(t.name));
    else this.e.emit(Op.STORE_LOCAL, this.e.local(t.name));
  }

  private cond(c: Operand): void {
    if (c.k === 'expr') this.expr(c.expr);
    else this.e.emit(Op.NL_COND, this.e.nlEntry({ kind: 'cond', text: c.text, mentions: this.mentions(c.text) }));
  }

  private value(v: Operand, kind: NLKind, target?: string): void {
    if (v.k === 'expr') this.expr(v.expr);
    else {
      const entry: Omit<NLInfo, 'step'> = { kind, text: v.text, mentions: this.mentions(v.text) };
      if (target !== undefined) entry.target = target;
      this.e.emit(Op.NL_VALUE, this.e.nlEntry(entry));
    }
  }

  /** $state names and known locals that a natural-language text refers to. */
  private mentions(text: string): string[] {
    const out: string[] = [];
    if (text.indexOf('$') >= 0) {
      for (const m of text.matchAll(/\$[A-Za-z_][A-Za-z0-9_]*/g)) if (!out.includes(m[0])) out.push(m[0]);
    }
    const locals = this.e.locals;
    for (let i = 0; i < locals.length; i++) {
      const name = locals[i]!;
      if (name.charCodeAt(0) === 37 /* % hidden */) continue;
      let at = text.indexOf(name);
      while (at >= 0) {
        const before = at > 0 ? text.charCodeAt(at - 1) : 32;
        const after = at + name.length < text.length ? text.charCodeAt(at + name.length) : 32;
        if (!isWordChar(before) && before !== 36 && !isWordChar(after)) {
          out.push(name);
          break;
        }
        at = text.indexOf(name, at + 1);
      }
    }
    return out;
  }

  expr(x: Expr): void {
    const e = this.e;
    switch (x.k) {
      case 'lit':
        e.emit(Op.CONST, e.constant(x.value));
        return;
      case 'fstr': {
        if (x.parts.length === 0) {
          e.emit(Op.CONST, e.constant(''));
          return;
        }
        for (const p of x.parts) {
          if (typeof p === 'string') e.emit(Op.CONST, e.constant(p));
          else this.expr(p);
        }
        e.emit(Op.FORMAT, x.parts.length);
        return;
      }
      case 'var':
        if (x.state && !this.params.has(x.name)) e.emit(Op.LOAD_STATE, e.constant(x.name));
        else e.emit(Op.LOAD_LOCAL, e.local(x.name));
        return;
      case 'list':
        for (const i of x.items) this.expr(i);
        e.emit(Op.BUILD_LIST, x.items.length);
        return;
      case 'obj':
        for (const [k, v] of x.entries) {
          this.expr(k);
          this.expr(v);
        }
        e.emit(Op.BUILD_OBJECT, x.entries.length);
        return;
      case 'index':
        this.expr(x.obj);
        this.expr(x.index);
        e.emit(Op.INDEX);
        return;
      case 'attr':
        this.expr(x.obj);
        e.emit(Op.GET_ATTR, e.constant(x.name));
        return;
      case 'bin':
        this.expr(x.left);
        this.expr(x.right);
        e.emit(BIN[x.op]);
        return;
      case 'un':
        this.expr(x.expr);
        if (x.op === '-') e.emit(Op.NEG);
        else if (x.op === 'not') e.emit(Op.NOT);
        return;
      case 'logic': {
        this.expr(x.left);
        const j = e.jump(x.op === 'and' ? Op.AND_JUMP : Op.OR_JUMP);
        this.expr(x.right);
        e.patch(j);
        return;
      }
      case 'call':
        this.call(x);
        return;
    }
  }

  private call(x: Extract<Expr, { k: 'call' }>): void {
    const e = this.e;
    const locals = new Set(e.locals);
    const r = this.symbols.resolve(x, this.agent.name, locals);
    const kwnames = x.kwargs.map((k) => k.name);
    const argc = x.args.length + x.kwargs.length;
    const pushArgs = () => {
      for (const a of x.args) this.expr(a);
      for (const k of x.kwargs) this.expr(k.value);
    };
    switch (r.kind) {
      case 'native':
        pushArgs();
        e.emit(Op.CALL_NATIVE, r.index, x.args.length);
        return;
      case 'builtin':
        pushArgs();
        e.emit(Op.CALL, e.call({ agent: '', name: r.spec.name, kind: 'builtin', argc, kwnames, crossAgent: false }));
        return;
      case 'playbook':
        // A code playbook (```ts block) runs like a host tool, and is one for contracts.
        if (r.playbook.kind === 'code') this.checkToolCall(r.playbook.name, x.pos);
        pushArgs();
        e.emit(Op.CALL, e.call({ agent: r.agent.name, name: r.playbook.name, kind: 'playbook', argc, kwnames, crossAgent: r.crossAgent }));
        return;
      case 'dynamic': {
        const c = x.callee;
        if (c.k === 'var' && (c.state || locals.has(c.name))) {
          this.expr(c);
          pushArgs();
          e.emit(Op.CALL, e.call({ agent: '', name: c.state ? `$${c.name}` : c.name, kind: 'value', argc, kwnames, crossAgent: false }));
        } else {
          if (c.k === 'var') this.checkToolCall(c.name, x.pos);
          pushArgs();
          e.emit(Op.CALL, e.call({ agent: '', name: c.k === 'var' ? c.name : '?', kind: 'tool', argc, kwnames, crossAgent: false }));
        }
        return;
      }
      case 'invalid':
        // Already reported by the checker; keep the stack shape valid.
        pushArgs();
        for (let i = 0; i < argc; i++) e.emit(Op.POP);
        e.emit(Op.CONST, e.constant(null));
        return;
    }
  }
}

function isWordChar(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
}
