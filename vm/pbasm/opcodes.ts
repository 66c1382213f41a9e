// The PBAsm instruction set: the one table that the encoder (compiler/emitter), the
// disassembler (compiler/disasm) and the VM's dispatch switch are all derived from.
//
// `Op` gives each opcode its number. It is a const enum so that tsc inlines the numbers
// and the VM's `switch` compiles to a jump table. `OPCODES` is keyed by `Op` and typed as
// a complete Record, so the compiler refuses an opcode without operand and stack metadata.

export const enum Op {
  NOP = 0,
  CONST,
  POP,
  DUP,
  LOAD_LOCAL,
  STORE_LOCAL,
  LOAD_STATE,
  STORE_STATE,
  ADD,
  SUB,
  MUL,
  DIV,
  IDIV,
  MOD,
  POW,
  EQ,
  NE,
  LT,
  LE,
  GT,
  GE,
  IN,
  NOT_IN,
  NEG,
  NOT,
  BUILD_LIST,
  BUILD_OBJECT,
  INDEX,
  GET_ATTR,
  FORMAT,
  JUMP,
  JUMP_IF_FALSE,
  JUMP_IF_TRUE,
  AND_JUMP,
  OR_JUMP,
  ITER,
  FOR_NEXT,
  CALL,
  CALL_NATIVE,
  RETURN,
  HALT,
  STEP,
  SAY,
  ASK,
  NL_STEP,
  NL_VALUE,
  NL_COND,
  PLAN_BEGIN,
  PLAN_END,
  PLAN_CHECK,
}

/** What an operand means; drives both the encoder's checks and the disassembler's rendering. */
export type OperandKind =
  | 'const' // index into the code object's constant pool
  | 'local' // frame slot; rendered with the local's name
  | 'name' // constant-pool index of a string naming agent state
  | 'key' // constant-pool index of a string naming an object key (a.key)
  | 'target' // absolute instruction offset
  | 'count' // a small integer
  | 'call' // index into the code object's call-site table
  | 'native' // index into the native-function table (stdlib/natives)
  | 'nl' // index into the code object's natural-language table
  | 'step' // index into the code object's step table
  | 'plan'; // index into the code object's plan steps

export interface OpInfo {
  readonly name: string;
  readonly operands: readonly OperandKind[];
  /** Values popped; -1 when it depends on an operand (see the VM). */
  readonly pops: number;
  /** Values pushed. */
  readonly pushes: number;
  readonly doc: string;
}

const info = (name: string, operands: OperandKind[], pops: number, pushes: number, doc: string): OpInfo =>
  Object.freeze({ name, operands: Object.freeze(operands), pops, pushes, doc });

export const OPCODES: Readonly<Record<Op, OpInfo>> = Object.freeze({
  [Op.NOP]: info('NOP', [], 0, 0, 'do nothing'),
  [Op.CONST]: info('CONST', ['const'], 0, 1, 'push a constant'),
  [Op.POP]: info('POP', [], 1, 0, 'discard the top of stack'),
  [Op.DUP]: info('DUP', [], 1, 2, 'duplicate the top of stack'),
  [Op.LOAD_LOCAL]: info('LOAD', ['local'], 0, 1, 'push a frame-local variable'),
  [Op.STORE_LOCAL]: info('STORE', ['local'], 1, 0, 'pop into a frame-local variable'),
  [Op.LOAD_STATE]: info('LOAD_STATE', ['name'], 0, 1, 'push an agent-state variable ($x)'),
  [Op.STORE_STATE]: info('STORE_STATE', ['name'], 1, 0, 'pop into an agent-state variable ($x)'),
  [Op.ADD]: info('ADD', [], 2, 1, 'a + b (numbers, strings, lists)'),
  [Op.SUB]: info('SUB', [], 2, 1, 'a - b'),
  [Op.MUL]: info('MUL', [], 2, 1, 'a * b'),
  [Op.DIV]: info('DIV', [], 2, 1, 'a / b (true division)'),
  [Op.IDIV]: info('IDIV', [], 2, 1, 'a // b (floor division)'),
  [Op.MOD]: info('MOD', [], 2, 1, 'a % b (Python modulo)'),
  [Op.POW]: info('POW', [], 2, 1, 'a ** b'),
  [Op.EQ]: info('EQ', [], 2, 1, 'a == b (structural)'),
  [Op.NE]: info('NE', [], 2, 1, 'a != b'),
  [Op.LT]: info('LT', [], 2, 1, 'a < b'),
  [Op.LE]: info('LE', [], 2, 1, 'a <= b'),
  [Op.GT]: info('GT', [], 2, 1, 'a > b'),
  [Op.GE]: info('GE', [], 2, 1, 'a >= b'),
  [Op.IN]: info('IN', [], 2, 1, 'a in b'),
  [Op.NOT_IN]: info('NOT_IN', [], 2, 1, 'a not in b'),
  [Op.NEG]: info('NEG', [], 1, 1, '-a'),
  [Op.NOT]: info('NOT', [], 1, 1, 'not a (Python truthiness)'),
  [Op.BUILD_LIST]: info('BUILD_LIST', ['count'], -1, 1, 'pop n values into a list'),
  [Op.BUILD_OBJECT]: info('BUILD_OBJECT', ['count'], -1, 1, 'pop n key/value pairs into an object'),
  [Op.INDEX]: info('INDEX', [], 2, 1, 'a[b]'),
  [Op.GET_ATTR]: info('GET_ATTR', ['key'], 1, 1, 'a.key'),
  [Op.FORMAT]: info('FORMAT', ['count'], -1, 1, 'pop n values and join them as text (f-strings)'),
  [Op.JUMP]: info('JUMP', ['target'], 0, 0, 'jump'),
  [Op.JUMP_IF_FALSE]: info('JUMP_IF_FALSE', ['target'], 1, 0, 'pop; jump when falsy'),
  [Op.JUMP_IF_TRUE]: info('JUMP_IF_TRUE', ['target'], 1, 0, 'pop; jump when truthy'),
  [Op.AND_JUMP]: info('AND_JUMP', ['target'], 1, 1, 'jump keeping the value when falsy, else pop (and)'),
  [Op.OR_JUMP]: info('OR_JUMP', ['target'], 1, 1, 'jump keeping the value when truthy, else pop (or)'),
  [Op.ITER]: info('ITER', ['local'], 1, 0, 'pop a list/object/string; store an iterator in a hidden slot'),
  [Op.FOR_NEXT]: info('FOR_NEXT', ['local', 'target'], 0, 1, 'push the next item, or jump when exhausted (pushes nothing then)'),
  [Op.CALL]: info('CALL', ['call'], -1, 1, 'call a playbook, code playbook or tool; push its result'),
  [Op.CALL_NATIVE]: info('CALL_NATIVE', ['native', 'count'], -1, 1, 'call a pure builtin such as len()'),
  [Op.RETURN]: info('RETURN', [], 1, 0, 'return the top of stack to the caller'),
  [Op.HALT]: info('HALT', [], 0, 0, 'end the program'),
  [Op.STEP]: info('STEP', ['step'], 0, 0, 'enter a step: budget check, safe point, trigger point'),
  [Op.SAY]: info('SAY', [], 1, 0, 'write the top of stack to the user as one line'),
  [Op.ASK]: info('ASK', ['const'], 0, 1, 'ask the user (prompt constant); push the answer line'),
  [Op.NL_STEP]: info('NL_STEP', ['nl'], 0, 0, 'have the model perform a natural-language step'),
  [Op.NL_VALUE]: info('NL_VALUE', ['nl'], 0, 1, 'have the model compute a value'),
  [Op.NL_COND]: info('NL_COND', ['nl'], 0, 1, 'have the model decide a condition (boolean)'),
  [Op.PLAN_BEGIN]: info('PLAN_BEGIN', ['plan', 'target'], 0, 0, 'start a plan step (sequence check); jump past it when it already completed'),
  [Op.PLAN_END]: info('PLAN_END', ['plan'], 0, 0, 'close a plan step: completed, skipped or failed (validation)'),
  [Op.PLAN_CHECK]: info('PLAN_CHECK', [], 0, 0, 'before a return: every required plan step must have completed'),
});

export const OPCODE_COUNT = Object.keys(OPCODES).length;

/** Instruction width in code units: the opcode plus its operands. */
export function instructionWidth(op: Op): number {
  return 1 + OPCODES[op].operands.length;
}

const BY_NAME = new Map<string, Op>(
  (Object.keys(OPCODES) as unknown as string[]).map((k) => [OPCODES[Number(k) as Op].name, Number(k) as Op]),
);

export function opcodeByName(name: string): Op | undefined {
  return BY_NAME.get(name);
}
