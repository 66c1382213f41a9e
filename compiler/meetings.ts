// Meeting playbooks (metadata `meeting: true`): the implicit locals the VM binds when an agent
// joins a meeting, and the attendee lists, checked against the program's agents.
import type { Pos } from './ast.js';
import { identifierFor, type AgentDraft, type PlaybookDraft, type Reporter } from './declarations.js';
import { closest } from './symbols.js';
import type { Value } from '../vm/pbasm/program.js';

/** Slots after the parameters of a meeting playbook; the VM finds them by name in code.locals. */
export const MEETING_LOCALS: readonly string[] = Object.freeze(['meeting_id', 'inviter_id', 'topic']);

export const ATTENDEE_KEYS: readonly string[] = Object.freeze(['required_attendees', 'optional_attendees']);

export function isMeeting(pb: { metadata: Record<string, Value> }): boolean {
  return pb.metadata.meeting === true;
}

/** The meeting locals a playbook declares; a parameter of the same name stays the parameter. */
export function implicitLocals(pb: { metadata: Record<string, Value>; params: Array<{ name: string }> }): string[] {
  if (!isMeeting(pb)) return [];
  return MEETING_LOCALS.filter((n) => !pb.params.some((p) => p.name === n));
}

/**
 * `required_attendees: [Alice, Bob]`, `optional_attendees: Alice, Bob` or a bullet list under
 * the key become an array of agent names ("Head Chef" → HeadChef); anything that names no agent
 * of the program is an error at the metadata line.
 */
export function checkAttendees(agents: AgentDraft[], report: Reporter): void {
  const names = agents.map((a) => a.name);
  const find = (x: string) => agents.find((a) => a.name === x || a.title === x || identifierFor(x) === a.name);
  for (const a of agents) {
    for (const pb of a.playbooks) {
      for (const key of ATTENDEE_KEYS) {
        if (!(key in pb.metadata)) continue;
        const at = (item?: string): Pos => attendeePos(pb, key, item);
        const v = pb.metadata[key]!;
        const items = v === null ? [] : typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter(Boolean) : Array.isArray(v) ? v : undefined;
        if (!items) {
          report.error('bad-attendees', `'${key}' must be a list of agent names, such as [${names.slice(0, 2).join(', ') || 'Alice, Bob'}]`, at());
          continue;
        }
        const out: string[] = [];
        for (const item of items) {
          if (typeof item !== 'string' || item.trim() === '') {
            report.error('bad-attendees', `'${key}' must list agent names; ${JSON.stringify(item)} is not one`, at());
            continue;
          }
          const agent = find(item.trim());
          if (!agent) {
            const hint = closest(item, names);
            const tail = hint ? `; did you mean '${hint}'?` : ` (agents: ${names.join(', ')})`;
            report.error('unknown-attendee', `'${key}' names '${item}', which is not an agent of this program${tail}`, at(item));
            continue;
          }
          if (!out.includes(agent.name)) out.push(agent.name);
        }
        pb.metadata[key] = out;
      }
    }
  }
}

/** Where an attendee is written: the item itself when it can be found, else the metadata line. */
function attendeePos(pb: PlaybookDraft, key: string, item: string | undefined): Pos {
  const entries = pb.metaAt?.[key] ?? [];
  if (item !== undefined) {
    for (const e of entries) {
      const i = findWord(e.text, item);
      if (i >= 0) return { line: e.pos.line, col: e.pos.col + i, length: Math.max(1, item.length) };
    }
  }
  return entries[0]?.pos ?? pb.pos;
}

function findWord(text: string, word: string): number {
  let i = text.indexOf(word);
  while (i >= 0) {
    const before = text[i - 1] ?? ' ';
    const after = text[i + word.length] ?? ' ';
    if (!/[A-Za-z0-9_]/.test(before) && !/[A-Za-z0-9_]/.test(after)) return i;
    i = text.indexOf(word, i + 1);
  }
  return -1;
}
