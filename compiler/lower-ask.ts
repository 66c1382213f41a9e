// Lowering of Ask steps. One question is asked per step: its answer fills every variable it
// gives (parse_answer, stdlib/answers.ts); each variable it leaves unfilled is then asked for
// on its own, and a variable that takes only a number is asked again until the answer is one.
import { Op } from '../vm/pbasm/opcodes.js';
import type { AnswerKind, Stmt, Target } from './ast.js';
import type { Emitter } from './emitter.js';
import { nativeIndex } from '../vm/pbasm/natives-table.js';

type AskStmt = Extract<Stmt, { kind: 'ask' }>;

const PARSE_ANSWER = nativeIndex('parse_answer')!;

function spoken(name: string): string {
  return name.replace(/_/g, ' ');
}

function listed(names: string[]): string {
  return names.length <= 1 ? (names[0] ?? '') : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
}

const spec = (t: Target, kind: AnswerKind) => (kind === 'text' ? t.name : `${t.name}:${kind}`);

/**
 * Emits the code of an Ask step (after its STEP). `store` pops into a target. The instruction
 * right after an ASK that fills one variable is the store into it, so the machine can tell the
 * model which variable the question is for.
 */
export function lowerAsk(e: Emitter, s: AskStmt, store: (t: Target) => void, load: (t: Target) => void): void {
  if (s.targets.length === 1) {
    const prompt = `Please provide ${s.prompt ?? spoken(s.targets[0]!.name)}:`;
    askOne(e, s.targets[0]!, s.answers[0] ?? 'text', prompt, store, load);
    return;
  }
  const prompt = `Please provide ${s.prompt ?? listed(s.targets.map((t) => spoken(t.name)))}:`;
  const answer = e.hiddenLocal('answer');
  e.emit(Op.ASK, e.constant(prompt));
  e.emit(Op.CONST, e.constant(s.targets.map((t, i) => spec(t, s.answers[i] ?? 'text'))));
  e.emit(Op.CALL_NATIVE, PARSE_ANSWER, 2);
  e.emit(Op.STORE_LOCAL, answer);
  s.targets.forEach((t, i) => {
    e.emit(Op.CONST, e.constant(t.name));
    e.emit(Op.LOAD_LOCAL, answer);
    e.emit(Op.IN);
    const missing = e.jump(Op.JUMP_IF_FALSE);
    e.emit(Op.LOAD_LOCAL, answer);
    e.emit(Op.GET_ATTR, e.constant(t.name));
    store(t);
    const next = e.jump(Op.JUMP);
    e.patch(missing);
    askOne(e, t, s.answers[i] ?? 'text', `Please provide ${spoken(t.name)}:`, store, load);
    e.patch(next);
  });
}

/** One variable: the answer as text, or (for a number) asked again until it is a number. */
function askOne(e: Emitter, t: Target, kind: AnswerKind, prompt: string, store: (t: Target) => void, load: (t: Target) => void): void {
  e.emit(Op.ASK, e.constant(prompt));
  store(t);
  if (kind === 'text') return;
  const answer = e.hiddenLocal('answer');
  const check = e.pc;
  load(t);
  e.emit(Op.CONST, e.constant([spec(t, kind)]));
  e.emit(Op.CALL_NATIVE, PARSE_ANSWER, 2);
  e.emit(Op.STORE_LOCAL, answer);
  e.emit(Op.CONST, e.constant(t.name));
  e.emit(Op.LOAD_LOCAL, answer);
  e.emit(Op.IN);
  const again = e.jump(Op.JUMP_IF_FALSE);
  e.emit(Op.LOAD_LOCAL, answer);
  e.emit(Op.GET_ATTR, e.constant(t.name));
  store(t);
  const done = e.jump(Op.JUMP);
  e.patch(again);
  e.emit(Op.ASK, e.constant(`Please answer with ${kind === 'int' ? 'a whole number' : 'a number'}. ${prompt}`));
  store(t);
  e.emit(Op.JUMP, check);
  e.patch(done);
}
