// A call frame and the faults the dispatch loop raises. Plain data, so a snapshot can
// capture a frame exactly; every module that walks the call stack shares these types.
import { Op } from './pbasm/opcodes.js';
import type { CodeObject } from './pbasm/program.js';
import type { RuntimeErrorCode } from './errors.js';
import type { RuntimeValue } from './values.js';

/** Effects that leave a value on the stack when resumed. */
export type Pending = 'none' | 'value' | 'bool' | 'text' | 'triggers';

export interface Frame {
  code: CodeObject;
  pc: number;
  /** undefined marks a local that has not been assigned. */
  locals: (RuntimeValue | undefined)[];
  /** Operand stack height when the frame was entered. */
  base: number;
  /** Result is dropped on return (trigger playbooks). */
  discard: boolean;
  /** The agent instance whose $state this frame reads and writes (its id, and the state itself). */
  self: string;
  vars: Record<string, RuntimeValue>;
  /** Set for a frame started by a trigger: "agent.playbook.T1" (a state trigger) or "nl:…". */
  trigger?: string;
  /** Started by the host (a playbook the model called): its return goes back to the host. */
  hostReturn?: boolean;
  /** The effect the host was performing when it started this frame; restored when it ends. */
  hostResume?: { pending: Pending; effectPc: number };
  /** Arguments a generated playbook was called with, so a regenerated version can be rerun with them. */
  args?: RuntimeValue[];
  /** For an enforced procedure: index of this call's plan in Machine.plans. */
  plan?: number;
  /** The meeting this frame runs (a meeting playbook); the host's return ends it. */
  meeting?: { id: string; host: boolean };
  /** A playbook started by a message: its result is sent back to this sender. */
  replyTo?: string;
  /** Model context: this frame's recent history (see vm/model/context.ts). */
  log?: string[];
  /** Log entries folded away by compaction, and a one-line summary of them. */
  folded?: number;
  summary?: string;
}

/** A runtime failure raised inside the dispatch loop; converted to PbRuntimeError (with the
 * call stack at the failing instruction) by the loop's catch. Not an Error: no stack capture. */
export class VMFault {
  constructor(
    readonly code: RuntimeErrorCode,
    readonly message: string,
  ) {}
}

/** A frame placeholder under a code playbook started as the entry point. */
export const ENTRY_SHIM: CodeObject = {
  name: '<entry>',
  title: '<entry>',
  agent: '',
  kind: 'markdown',
  description: '',
  notes: [],
  metadata: {},
  public: false,
  params: [],
  locals: [],
  code: [Op.CALL, 0, Op.RETURN],
  consts: [],
  calls: [{ agent: '', name: '<entry>', kind: 'value', argc: 0, kwnames: [], crossAgent: false }],
  nl: [],
  steps: [],
  stepOf: [-1, -1, -1],
  triggers: [],
  file: 0,
  line: 1,
};
