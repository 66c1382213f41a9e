// Per-run accounting of model use, a live status line on a terminal, and the --stats report.
import type { CallSite, ModelReply } from '../vm/model/protocol.js';
import { pricingFor } from './providers/anthropic.js';

export class RunStats {
  calls = 0;
  replayed = 0;
  input = 0;
  output = 0;
  cacheRead = 0;
  cacheWrite = 0;
  private readonly started = performance.now();
  private lastSite: CallSite | undefined;

  constructor(
    private readonly model: string,
    private readonly progress: (line: string, live: boolean) => void,
    private readonly tty: boolean,
  ) {}

  record(site: CallSite, reply: ModelReply, replayed: boolean): void {
    if (replayed) this.replayed++;
    else this.calls++;
    const u = reply.usage ?? { input_tokens: 0, output_tokens: 0 };
    this.input += u.input_tokens ?? 0;
    this.output += u.output_tokens ?? 0;
    this.cacheRead += u.cache_read_input_tokens ?? 0;
    this.cacheWrite += u.cache_creation_input_tokens ?? 0;
    this.lastSite = site;
    const where = `${site.agent}.${site.playbook} step ${site.step}`;
    const line = `${where} | ${this.calls} calls${this.replayed ? ` (+${this.replayed} replayed)` : ''} | ${this.input + this.cacheRead + this.cacheWrite} in / ${this.output} out tokens | ${this.elapsed()}`;
    this.progress(this.tty ? line : `pb: model ${replayed ? 'reply replayed' : 'call'} for ${where} (${site.purpose}): ${u.input_tokens} in, ${u.cache_read_input_tokens ?? 0} cached, ${u.output_tokens} out`, this.tty);
  }

  private elapsed(): string {
    return `${((performance.now() - this.started) / 1000).toFixed(1)} s`;
  }

  /** Estimated cost in dollars (input, cache writes, cache reads and output priced separately). */
  cost(): number {
    const p = pricingFor(this.model);
    return (this.input * p.input + this.output * p.output + this.cacheWrite * p.cacheWrite + this.cacheRead * p.cacheRead) / 1e6;
  }

  report(): string {
    return [
      `model ${this.model}: ${this.calls} calls${this.replayed ? `, ${this.replayed} replies replayed (journal or replay file)` : ''}`,
      `tokens: ${this.input} input, ${this.output} output, ${this.cacheRead} cache read, ${this.cacheWrite} cache write`,
      `estimated cost: $${this.cost().toFixed(4)}${this.lastSite ? '' : ''}`,
    ].join('\n');
  }
}
