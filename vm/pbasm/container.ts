// The .pbasm binary container: an envelope around a msgpack'd Program, plus a structural
// verifier so that a file that decodes but was tampered with is refused before it runs.
import { decodeEnvelope, encodeEnvelope, FormatError, type EnvelopeKind } from './envelope.js';
import { verifyProgram } from './verify.js';
import type { Program } from './program.js';

export const PBASM_FORMAT: EnvelopeKind = { magic: 'PBAM', label: 'PBAsm', version: 1, minReadable: 1 };

export function encodeProgram(program: Program): Buffer {
  return encodeEnvelope(PBASM_FORMAT, program);
}

export function decodeProgram(bytes: Uint8Array): Program {
  const { value } = decodeEnvelope(PBASM_FORMAT, bytes);
  const problem = verifyProgram(value);
  if (problem) throw new FormatError(`invalid PBAsm program: ${problem}`);
  return value as Program;
}

/** True when the bytes start like a .pbasm container (used to pick a loader by content). */
export function looksLikePbasm(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && Buffer.from(bytes.buffer, bytes.byteOffset, 4).toString('latin1') === PBASM_FORMAT.magic;
}
