// Where a replay-only run (pb inspect, pb audit) stops: at the first effect the journal has
// no result for, or as soon as the last journaled effect has been replayed. Past that point
// only the live process knows where the run is; re-executing further could take as long as
// the run itself did, or forever (`While True`).
import type { Effect } from './effects.js';
import type { JournalRecord } from './durable/journal.js';
import type { Value } from './pbasm/program.js';

/** Thrown in replay-only mode at the first effect the journal has no record of. */
export class ReplayEnd extends Error {
  constructor(readonly effect: Effect) {
    super('end of recorded history');
  }
}

/** Thrown in replay-only mode once every journaled effect has been replayed: this is where the run stands. */
export class ReplayCaughtUp extends Error {
  constructor(readonly last: Effect | undefined) {
    super('replayed the whole journal');
  }
}

/** The highest effect number a record stands for (a generation's model calls count up to seqAfter). */
export function journaledSeq(rec: JournalRecord): number {
  if (rec.t === 'out') return rec.lines.reduce((m, [seq]) => Math.max(m, seq), 0);
  if (rec.t === 'generate') {
    const after = rec.result && typeof rec.result === 'object' && !Array.isArray(rec.result) ? (rec.result as Record<string, Value>).seqAfter : undefined;
    return Math.max(rec.seq, typeof after === 'number' ? after : 0);
  }
  return 'seq' in rec && typeof rec.seq === 'number' ? rec.seq : 0;
}
