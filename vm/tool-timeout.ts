// A host tool call with a time limit. A tool whose promise never settles would otherwise
// leave nothing for the event loop to wait on, and Node would exit silently (code 13) in the
// middle of the run. The timer, or with no limit an idle interval, keeps the process alive.

/** The tool did not answer within its time limit; it may still be running. */
export class ToolTimeout extends Error {
  constructor(readonly limitMs: number) {
    super(`no answer within ${limitMs} ms`);
  }
}

/** Runs `call` and waits at most `limitMs` for it (0: no limit, but still keeps the process alive). */
export async function callWithin<T>(call: () => Promise<T> | T, limitMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const pending = Promise.resolve().then(call);
  const expired = new Promise<never>((_, reject) => {
    timer = limitMs > 0 ? setTimeout(() => reject(new ToolTimeout(limitMs)), limitMs) : setInterval(() => undefined, 1 << 30);
  });
  // An abandoned call that fails later must not become an unhandled rejection.
  pending.catch(() => undefined);
  try {
    return await Promise.race([pending, expired]);
  } finally {
    clearTimeout(timer);
    clearInterval(timer);
  }
}
