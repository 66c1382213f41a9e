// Per-run accounting of model use, a live status line on a terminal, and the --stats report.
// Replies replayed from a journal or a replay file cost nothing now, so they are counted apart
// and never priced.
import type { CallSite, ModelReply } from '../vm/model/protocol.js';
import { pricingFor } from './providers/anthropic.js';

export interface TokenCounts {
  input: number;
  output: number;
  cacheRead: number;
  cacheWrite: number;
}

const zero = (): TokenCounts => ({ input: 0, output: 0, cacheRead: 0, cacheWrite: 0 });

export class RunStats {
  /** Model calls made by this process. */
  calls = 0;
  /** Replies answered from the journal or a replay file. */
  replayed = 0;
  /** Tokens of the calls made (billed). */
  readonly live: TokenCounts = zero();
  /** Tokens the replayed replies carried when they were recorded (not billed by this run). */
  readonly replayedTokens: TokenCounts = zero();
  private readonly started = performance.now();

  constructor(
    private readonly model: string,
    private readonly progress: (line: string, live: boolean) => void,
    private readonly tty: boolean,
  ) {}

  record(site: CallSite, reply: ModelReply, replayed: boolean): void {
    if (replayed) this.replayed++;
    else this.calls++;
    const u = reply.usage ?? { input_tokens: 0, output_tokens: 0 };
    const t = replayed ? this.replayedTokens : this.live;
    t.input += u.input_tokens ?? 0;
    t.output += u.output_tokens ?? 0;
    t.cacheRead += u.cache_read_input_tokens ?? 0;
    t.cacheWrite += u.cache_creation_input_tokens ?? 0;
    const where = `${site.agent}.${site.playbook} step ${site.step}`;
    if (this.tty) {
      const tokens = this.calls ? ` | ${this.live.input + this.live.cacheRead + this.live.cacheWrite} in / ${this.live.output} out tokens` : '';
      this.progress(`${where} | ${this.calls} calls${this.replayed ? ` (+${this.replayed} replayed)` : ''}${tokens} | ${this.elapsed()}`, true);
    } else {
      this.progress(`pb: model ${replayed ? 'reply replayed' : 'call'} for ${where} (${site.purpose}): ${u.input_tokens} in, ${u.cache_read_input_tokens ?? 0} cached, ${u.output_tokens} out`, false);
    }
  }

  private elapsed(): string {
    return `${((performance.now() - this.started) / 1000).toFixed(1)} s`;
  }

  /** Estimated cost in dollars of the calls made (input, cache writes, cache reads and output priced separately). */
  cost(): number {
    const p = pricingFor(this.model);
    const t = this.live;
    return (t.input * p.input + t.output * p.output + t.cacheWrite * p.cacheWrite + t.cacheRead * p.cacheRead) / 1e6;
  }

  report(): string {
    const tokens = (t: TokenCounts) => `${t.input} input, ${t.output} output, ${t.cacheRead} cache read, ${t.cacheWrite} cache write`;
    const lines = [`model ${this.model}: ${this.calls} call${this.calls === 1 ? '' : 's'}${this.replayed ? `, ${this.replayed} replies replayed (journal or replay file)` : ''}`];
    if (this.calls) lines.push(`tokens: ${tokens(this.live)}`, `estimated cost: $${this.cost().toFixed(4)}`);
    if (this.replayed) lines.push(`replayed replies (no cost now; tokens when recorded): ${tokens(this.replayedTokens)}`);
    return lines.join('\n');
  }
}
