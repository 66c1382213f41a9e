// Stopping a run on request (SIGINT under `pb run --state`). The dispatch loop is
// synchronous, so a signal handler only runs when the runner lets the event loop turn: the
// runner yields every few milliseconds while it is interruptible, and the machine pauses at
// a step boundary every so many steps so that even a loop without effects can be stopped.

/** The host asked the run to stop; the journal stays as it is, so the run can be resumed. */
export class Interrupted extends Error {
  constructor() {
    super('interrupted');
  }
}

/** Steps the machine runs between two chances to notice an interruption. */
export const PAUSE_STEPS = 100_000;
const YIELD_MS = 20;

export class InterruptPoint {
  private lastYield = performance.now();

  constructor(readonly signal: AbortSignal) {}

  /** Settles with `work`, or rejects with Interrupted as soon as the signal is raised. */
  race<T>(work: Promise<T>): Promise<T> {
    if (this.signal.aborted) return Promise.reject(new Interrupted());
    let onAbort: () => void = () => undefined;
    const stop = new Promise<never>((_, reject) => {
      onAbort = () => reject(new Interrupted());
      this.signal.addEventListener('abort', onAbort, { once: true });
    });
    return Promise.race([work, stop]).finally(() => this.signal.removeEventListener('abort', onAbort));
  }

  /** Throws Interrupted when the signal was raised; now and then returns a promise that lets the event loop turn first. */
  check(): Promise<void> | undefined {
    if (this.signal.aborted) throw new Interrupted();
    if (performance.now() - this.lastYield < YIELD_MS) return undefined;
    return new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
      this.lastYield = performance.now();
      if (this.signal.aborted) throw new Interrupted();
    });
  }
}
