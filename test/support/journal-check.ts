// Checks of what a durable run journaled against what its process printed, shared by the
// kill -9 tests (test/durability.test.ts, test/multi-agent-durability.test.ts).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeJournal, type JournalRecord } from '../../vm/durable/journal.js';

export const lines = (text: string): string[] => (text === '' ? [] : text.replace(/\n$/, '').split('\n'));

/** The text of every line in the 'out' records, in journal order. */
export function outTexts(records: JournalRecord[]): string[] {
  return records.flatMap((r) => (r.t === 'out' ? r.lines.map(([, text]) => text) : []));
}

export interface JournalState {
  exists: boolean;
  records: JournalRecord[];
  torn: boolean;
  /** Set when journal.pbj exists but does not decode: a crash must never cause that. */
  error?: string;
}

/** The journal of a state directory as a crash may have left it. */
export function journalOf(state: string): JournalState {
  const file = join(state, 'journal.pbj');
  if (!existsSync(file)) return { exists: false, records: [], torn: false };
  try {
    const j = decodeJournal(readFileSync(file));
    return { exists: true, records: j.records, torn: j.tornTail };
  } catch (err) {
    return { exists: true, records: [], torn: false, error: (err as Error).message };
  }
}

/**
 * What one process printed, checked against the 'out' records it journaled. A journaled line
 * counts as printed (a resume never prints it again), and flush() appends each line's record
 * just before it writes that line: so a process prints exactly what it journals, except that
 * one killed between those two system calls loses the line of its last 'out' record. That is
 * allowed only if the record is the very last thing in the journal (no later record, not even
 * a torn one, was begun), and only for one line. Returns the line lost that way.
 */
export function checkPrinted(added: JournalRecord[], torn: boolean, killed: boolean, stdout: string): { lost: string[]; problem?: string } {
  const journaled = outTexts(added);
  const printed = lines(stdout);
  if (JSON.stringify(printed) === JSON.stringify(journaled)) return { lost: [] };
  const last = added[added.length - 1];
  if (killed && !torn && last?.t === 'out' && last.lines.length === 1) {
    const tail = last.lines.map(([, text]) => text);
    if (JSON.stringify(printed) === JSON.stringify(journaled.slice(0, journaled.length - tail.length))) return { lost: tail };
  }
  return { lost: [], problem: `the process printed ${JSON.stringify(printed)} but journaled ${JSON.stringify(journaled)}${killed ? ' (killed)' : ''}` };
}
