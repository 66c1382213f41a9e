// The part of `pb run --help` and `pb resume --help` that says what the process does with its
// environment and what its exit code means.
import { EXIT } from './exit-codes.js';

const PROGRAMS = `Programs: a .pb playbook, a compiled .pbasm container, or a Locus playbook
(.yaml, .yml or .json).`;

const COMMON = `
Exit codes:
  ${EXIT.ok}   the program finished (or ended with End program)
  ${EXIT.compile}   the program has compile errors (printed on stderr)
  ${EXIT.usage}   usage error (bad option, missing or unknown --arg)
  ${EXIT.runtime}   runtime error (a resumable one says how to continue with pb resume)
  ${EXIT.io}   a file or state directory cannot be read or written (missing, read-only,
      full disk), is corrupt, or is in use; or stdout was closed by its reader
  ${EXIT.interrupted} a durable run stopped by SIGINT (${EXIT.terminated} by SIGTERM); pb resume continues it

Environment:
  ANTHROPIC_API_KEY     run natural-language steps on Claude (without it and
                        without --replay, a natural-language step stops the run)
  ANTHROPIC_BASE_URL    another Messages API endpoint (read by @anthropic-ai/sdk)
  PB_MODEL              model id when --model is not given
  PB_MODEL_TIMEOUT_MS   timeout of one model request, in ms
  PB_MODEL_RETRIES      retries of a failed model request
  PB_TOOL_TIMEOUT_MS    limit of a host tool call, in ms, when --tool-timeout is
                        not given (default 120000; 0: no limit)
  PB_SNAPSHOT_EVERY_SAFE_POINT=1
                        snapshot at every safe point (a test mode)
  A bad value of any of these PB_* variables is a usage error.
  NO_COLOR, TERM=dumb   no live status line on stderr (there is none either when
                        stderr is not a terminal)
`;

export const RUN_HELP_AFTER = `\n${PROGRAMS}\n${COMMON}`;

export const RESUME_HELP_AFTER = `\nThe run continues with the program kept in its state directory.\n${COMMON}`;
