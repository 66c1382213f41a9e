// The program's output lines and the messages its agents delivered, on their way to the
// journal and stdout. Lines are buffered briefly (a flush per batch); a durable run journals
// each line before writing it, and each delivery, so a resume prints nothing twice.
import type { Machine } from './machine.js';
import type { Value } from './pbasm/program.js';
import type { JournalRecord } from './durable/journal.js';
import type { ReplayLog } from './durable/replay-log.js';
import type { RunnerOptions } from './host.js';

export class OutputLines {
  private readonly out: Array<[number, string]> = [];
  private since = 0;

  constructor(
    private readonly machine: Machine,
    private readonly options: RunnerOptions,
    private readonly replay: ReplayLog,
    private readonly journal: (...records: JournalRecord[]) => void,
  ) {}

  /** A line said by effect `seq`; lines a resumed run printed before are dropped. */
  add(seq: number, text: string): void {
    if (seq <= this.replay.outputDoneUpto || this.options.replayOnly) return;
    // One Say is one line: a value with newlines is still one logical line of output.
    if (this.out.length === 0) this.since = performance.now();
    this.out.push([seq, text]);
    if (this.out.length >= (this.options.flushLines ?? 256) || performance.now() - this.since >= (this.options.flushMs ?? 20)) this.flush();
  }

  /** At a pause of a long effect-free stretch: lines waiting too long go out, and a long backlog of deliveries. */
  due(): void {
    if (this.machine.deliveries.length > 1000) this.journalDeliveries();
    if (this.out.length > 0 && performance.now() - this.since >= (this.options.flushMs ?? 20)) this.flush();
  }

  /**
   * Journal each line, then write it. A resume treats journaled lines as printed, so no line
   * is ever printed twice; a kill between a line's record and its write loses that one line,
   * never more. So a durable run pays a record per line (one journal write before each
   * output write: see the journal figures of `npm run bench`); a run without a journal
   * writes the batch at once. (Writing first would print a line twice after a kill between
   * the two, and a write to a pipe wakes the reader, which can preempt us right there.)
   */
  flush(): void {
    if (this.machine.deliveries.length) this.journalDeliveries();
    if (this.out.length === 0) return;
    const lines = this.out.splice(0, this.out.length);
    if (!this.options.durable) {
      this.options.io.writeLines(lines.map(([, text]) => text));
      return;
    }
    for (const line of lines) {
      this.journal({ t: 'out', lines: [line] });
      this.options.io.writeLines([line[1]]);
    }
  }

  /** The messages delivered since the last flush (a resume re-delivers the same ones; they are not journaled twice). */
  private journalDeliveries(): void {
    const d = this.machine.deliveries.splice(0, this.machine.deliveries.length);
    const fresh = d.filter((x) => x.n > this.replay.messages);
    if (fresh.length) this.journal(...fresh.map((x) => ({ t: 'msg' as const, n: x.n, to: x.to, message: x.message as unknown as Value })));
  }
}
