// Exit codes are part of the CLI's contract.
export const EXIT = {
  ok: 0,
  /** Compile errors (diagnostics were printed). */
  compile: 1,
  /** Bad command line. */
  usage: 2,
  /** The program failed at run time. */
  runtime: 3,
  /** A file could not be read or written, or a state/.pbasm file is corrupt. */
  io: 4,
  /** SIGINT (Ctrl-C) stopped a durable run; `pb resume` continues it. */
  interrupted: 130,
  /** SIGTERM stopped a durable run; `pb resume` continues it. */
  terminated: 143,
  /** A bug in pbvm itself. */
  internal: 70,
} as const;

/** One of the exit codes above. */
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];
