// What the machine asks of the outside world. The dispatch loop is synchronous; it stops
// at an instruction that needs one of these, and the runner performs it (journaled when
// the run is durable) and hands the result back.
import type { NLInfo, Value } from './pbasm/program.js';
import type { Frame } from './frame.js';

export interface EffectContext {
  agent: string;
  playbook: string;
  step: string;
  line: number;
  file: string;
}

export type Effect =
  | { kind: 'say'; seq: number; text: string; recipient: string; at: EffectContext }
  | { kind: 'ask'; seq: number; prompt: string; variable: string; at: EffectContext }
  | {
      kind: 'tool';
      seq: number;
      callId: string;
      name: string;
      args: Value[];
      kwargs: Record<string, Value>;
      /** For code playbooks from the program's own ```ts/```js blocks. */
      block?: { agent: string; index: number };
      at: EffectContext;
    }
  /** `fused` holds further natural-language steps that directly follow and run in the same model call. */
  | { kind: 'nl'; seq: number; mode: 'step' | 'value' | 'cond'; info: NLInfo; fused: NLInfo[]; vars: Record<string, Value>; at: EffectContext }
  /** Natural-language triggers to judge at an event point (after input or a state change). */
  /** `frame`: the context to judge them in, when no frame of the instance is running (messages for an idle instance). */
  | { kind: 'triggers'; seq: number; candidates: Array<{ key: string; text: string; playbook: string }>; frame?: Frame; at: EffectContext }
  /** Nothing else can run and `instance` waits for a message a human may send: read a line (Machine.hear). */
  | { kind: 'listen'; seq: number; instance: string; source: string; at: EffectContext }
  /** The machine stopped at a step boundary because the host asked (pauseAtStep); run() goes on from there. */
  | { kind: 'pause' }
  /** A playbook the host started (callFromHost) has returned. */
  | { kind: 'host-return'; value: Value }
  | { kind: 'generate'; seq: number; goal: string; name: string | null; at: EffectContext }
  | { kind: 'end'; status: 'finished' | 'halted'; value: Value };

export type EffectKind = Effect['kind'];

export type ToolEffect = Extract<Effect, { kind: 'tool' }>;
export type NLEffect = Extract<Effect, { kind: 'nl' }>;
export type GenerateEffect = Extract<Effect, { kind: 'generate' }>;
