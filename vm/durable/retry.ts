// Retrying a failed conversation afresh. Some model failures are decided by the replies
// themselves: a step the model did not finish within its turns, a trigger check with no
// valid answer, a playbook whose every attempt was rejected. Those replies are journaled,
// so a plain resume would replay them and fail the same way with no new model call.
//
// Instead, when such a failure ends a durable run, the runner journals a 'retry' record
// {fromSeq: S, toSeq: N}: S is the first effect number of the failed conversation (or
// generation), N the first one it did not use. A resume replays everything before S as
// usual; when the machine is about to number an effect S it jumps to N, so the conversation
// starts over with new effect numbers. The old effects are neither replayed nor repeated:
// lines it printed stay printed, tool calls it made are not undone (the new conversation is
// told what they were), and its variable changes are gone with its replies.
import { PbRuntimeError, type RuntimeErrorCode, type StackEntry } from '../errors.js';
import type { JournalRecord } from './journal.js';

/** What a failed attempt did that stands (one line each), and why it failed. */
export interface FailedAttempt {
  /** First effect number of the attempt. */
  fromSeq: number;
  /** Actions with effects outside the conversation: lines said, questions asked, calls made. */
  did: string[];
}

/** A failure of one conversation, decided by its (journaled) replies: a resume starts it afresh. */
export class ConversationFailed extends PbRuntimeError {
  constructor(
    code: RuntimeErrorCode,
    message: string,
    stack: StackEntry[],
    readonly attempt: FailedAttempt,
  ) {
    super(code, message, stack);
  }

  static from(err: PbRuntimeError, attempt: FailedAttempt): ConversationFailed {
    return err instanceof ConversationFailed ? err : new ConversationFailed(err.code, err.message, err.stack_, attempt);
  }
}

export type RetryRecord = Extract<JournalRecord, { t: 'retry' }>;

/** An attempt a resume skips: where it ends, and what to tell its fresh start. */
export interface Retry {
  toSeq: number;
  reason: string;
  did: string[];
}

/** At most this many actions of failed attempts are kept and told (the most recent ones). */
const MAX_DID = 30;

function clipText(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** The journal record for a failure that ended the run, or undefined when a resume needs none. */
export function retryRecord(err: PbRuntimeError, nextSeq: number): RetryRecord | undefined {
  if (!(err instanceof ConversationFailed) || nextSeq <= err.attempt.fromSeq) return undefined;
  const did = err.attempt.did.slice(-MAX_DID).map((d) => clipText(d, 200));
  return { t: 'retry', fromSeq: err.attempt.fromSeq, toSeq: nextSeq, reason: clipText(err.message, 300), did, at: new Date().toISOString() };
}

/** Adds a journaled retry record to the replay's retries (a malformed one is ignored: it cannot skip backwards). */
export function addRetry(retries: Map<number, Retry>, rec: RetryRecord): void {
  const ok = Number.isSafeInteger(rec.fromSeq) && Number.isSafeInteger(rec.toSeq) && rec.fromSeq > 0 && rec.toSeq > rec.fromSeq;
  if (!ok) return;
  const did = Array.isArray(rec.did) ? rec.did.filter((d): d is string => typeof d === 'string') : [];
  retries.set(rec.fromSeq, { toSeq: rec.toSeq, reason: typeof rec.reason === 'string' ? rec.reason : '', did });
}

/** Effect number skips for the machine (Machine.seqSkips): from → to, each strictly forward. */
export function seqSkips(retries: ReadonlyMap<number, Retry>): Map<number, number> {
  return new Map([...retries].map(([from, r]) => [from, r.toSeq]));
}

/** The failed attempts a conversation starting at effect `seq` replaces, oldest first. */
export function attemptsAt(retries: ReadonlyMap<number, Retry>, seq: number): Retry[] {
  const out: Retry[] = [];
  for (let r = retries.get(seq); r !== undefined && r.toSeq > seq; r = retries.get(seq)) {
    out.push(r);
    seq = r.toSeq;
  }
  return out;
}

/** What a fresh conversation is told about the attempts before it (empty when there were none). */
export function describeAttempts(attempts: Retry[]): string {
  if (attempts.length === 0) return '';
  const all = attempts.flatMap((a) => a.did);
  const did = all.length > MAX_DID ? [`${all.length - MAX_DID} earlier actions`, ...all.slice(-MAX_DID)] : all;
  const last = attempts[attempts.length - 1]!;
  const times = attempts.length === 1 ? 'An earlier attempt' : `${attempts.length} earlier attempts`;
  const done = did.length ? ` What ${attempts.length === 1 ? 'it' : 'they'} did stands (it is not undone): ${did.join('; ')}. Do not repeat these unless the step needs them again.` : '';
  return `\n\nNote: ${times} at this step stopped without finishing (${last.reason}). This is a fresh start.${done}`;
}
