// $startup_message, as Playbooks AI's CLI sets it: a program that reads the variable gets the
// text given with `pb run --message TEXT`, or else everything piped to stdin, or else None.
import { instructionWidth, Op } from '../vm/pbasm/opcodes.js';
import type { Program, Value } from '../vm/pbasm/program.js';

export const STARTUP_MESSAGE = 'startup_message';

/** True when some playbook reads $startup_message: in code, or in the text of a natural-language step. */
export function readsStartupMessage(program: Program): boolean {
  for (const agent of program.agents) {
    for (const pb of agent.playbooks) {
      if (pb.nl.some((n) => n.mentions.includes(`$${STARTUP_MESSAGE}`))) return true;
      for (let pc = 0; pc < pb.code.length; pc += instructionWidth(pb.code[pc] as Op)) {
        if (pb.code[pc] === Op.LOAD_STATE && pb.consts[pb.code[pc + 1]!] === STARTUP_MESSAGE) return true;
      }
    }
  }
  return false;
}

/** Reads all of a piped stdin (not a terminal); undefined for a terminal. */
async function pipedInput(stdin: NodeJS.ReadStream): Promise<string | undefined> {
  if (stdin.isTTY) return undefined;
  let text = '';
  stdin.setEncoding('utf8');
  for await (const chunk of stdin) text += chunk as string;
  return text;
}

/**
 * The initial state for a run: { startup_message } when the program reads it. `--message` wins
 * (stdin then stays free for Ask); without it, piped stdin is the message, so Ask steps get end
 * of input. A trailing line break is not part of the message.
 */
export async function startupState(program: Program, message: string | undefined, stdin: NodeJS.ReadStream = process.stdin): Promise<Record<string, Value> | undefined> {
  if (!readsStartupMessage(program)) return undefined;
  if (message !== undefined) return { [STARTUP_MESSAGE]: message };
  const piped = await pipedInput(stdin);
  const text = piped?.replace(/\r?\n$/, '');
  return { [STARTUP_MESSAGE]: text ? text : null };
}
