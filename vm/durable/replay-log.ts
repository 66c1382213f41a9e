// What a resumed run's journal says happened: the effects it recorded, by effect number,
// so the runner hands recorded results back instead of performing the effects again.
import type { Value } from '../pbasm/program.js';
import type { JournalRecord } from './journal.js';
import { addRetry, type Retry } from './retry.js';
import { journaledSeq } from '../replay-end.js';

export interface ReplayLog {
  /** Output with seq <= this was written before. */
  outputDoneUpto: number;
  inputs: Map<number, string>;
  toolsStarted: Set<number>;
  toolsDone: Map<number, Value>;
  /** Tool calls that threw (their error), for a replay-only run's plan. */
  toolsFailed: Map<number, string>;
  models: Map<number, Value>;
  generates: Map<number, Value>;
  /** When recorded effects happened ("tool-done:12" → ISO time), for the machine's clock. */
  times: Map<string, string>;
  /** Failed conversations a resume starts afresh, by their first effect number (vm/durable/retry.ts). */
  retries: Map<number, Retry>;
  /** The highest effect number the journal has a record of. */
  lastSeq: number;
  /** The journal ends with the run's final 'end' record. */
  final: boolean;
  /** Message deliveries journaled (their numbers are 1..messages). */
  messages: number;
}

export function emptyReplay(): ReplayLog {
  return { outputDoneUpto: 0, inputs: new Map(), toolsStarted: new Set(), toolsDone: new Map(), toolsFailed: new Map(), models: new Map(), generates: new Map(), times: new Map(), retries: new Map(), lastSeq: 0, final: false, messages: 0 };
}

export function replayFromJournal(records: JournalRecord[]): ReplayLog {
  const r = emptyReplay();
  for (const rec of records) {
    r.lastSeq = Math.max(r.lastSeq, journaledSeq(rec));
    if ((rec.t === 'input' || rec.t === 'tool-start' || rec.t === 'tool-done' || rec.t === 'model') && typeof rec.at === 'string') r.times.set(`${rec.t}:${rec.seq}`, rec.at);
    switch (rec.t) {
      case 'out':
        for (const [seq] of rec.lines) if (seq > r.outputDoneUpto) r.outputDoneUpto = seq;
        break;
      case 'input':
        r.inputs.set(rec.seq, rec.text);
        break;
      case 'tool-start':
        r.toolsStarted.add(rec.seq);
        break;
      case 'tool-done':
        r.toolsDone.set(rec.seq, rec.result);
        break;
      case 'tool-failed':
        r.toolsFailed.set(rec.seq, rec.error);
        break;
      case 'model':
        r.models.set(rec.seq, rec.reply);
        break;
      case 'generate':
        r.generates.set(rec.seq, rec.result);
        break;
      case 'retry':
        addRetry(r.retries, rec);
        break;
      case 'msg':
        if (rec.n > r.messages) r.messages = rec.n;
        break;
      default:
        break;
    }
  }
  const last = records[records.length - 1];
  r.final = last?.t === 'end' && last.final;
  return r;
}

