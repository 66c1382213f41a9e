// Recording and replaying model replies. `pb run --record FILE` keeps every reply; `pb run
// --replay FILE` answers from the file and makes no model call at all. Replies are keyed by
// where they were asked (agent, playbook, step, purpose) and how many times that place asked
// before, so a replay does not depend on prompt bytes; a miss fails loudly and names the step.
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { writeFileAtomic } from './atomic-write.js';
import type { CallSite, Model, ModelReply, ModelRequest } from '../vm/model/protocol.js';
import { ModelError } from '../vm/model/protocol.js';

export const REPLAY_FORMAT = { name: 'pbvm-replay', version: 1, minCompatible: 1 };

interface Entry {
  key: string;
  site: CallSite;
  reply: ModelReply;
}

interface ReplayFile {
  format: string;
  version: number;
  minCompatible: number;
  model: string;
  created: string;
  /** sha256 of JSON.stringify(entries). */
  checksum: string;
  entries: Entry[];
}

export class ReplayFileError extends Error {}

class Keys {
  private readonly seen = new Map<string, number>();
  next(site: CallSite): string {
    const base = `${site.agent}.${site.playbook}:${site.step}:${site.purpose}`;
    const n = this.seen.get(base) ?? 0;
    this.seen.set(base, n + 1);
    return `${base}#${n}`;
  }
}

const digest = (entries: Entry[]) => createHash('sha256').update(JSON.stringify(entries)).digest('hex');

export class RecordingModel implements Model {
  readonly id: string;
  private readonly entries: Entry[] = [];
  private readonly keys = new Keys();

  constructor(
    private readonly inner: Model,
    private readonly path: string,
  ) {
    this.id = inner.id;
  }

  async complete(request: ModelRequest, site: CallSite): Promise<ModelReply> {
    const key = this.keys.next(site);
    const reply = await this.inner.complete(request, site);
    this.entries.push({ key, site, reply });
    // Written after every reply, so a crash keeps what was recorded so far.
    this.save();
    return reply;
  }

  save(): void {
    const file: ReplayFile = {
      format: REPLAY_FORMAT.name,
      version: REPLAY_FORMAT.version,
      minCompatible: REPLAY_FORMAT.minCompatible,
      model: this.id,
      created: new Date().toISOString(),
      checksum: digest(this.entries),
      entries: this.entries,
    };
    writeFileAtomic(this.path, `${JSON.stringify(file, null, 1)}\n`, false);
  }
}

export class ReplayModel implements Model {
  readonly id: string;
  private readonly byKey = new Map<string, ModelReply>();
  private readonly keys = new Keys();

  constructor(readonly path: string) {
    let file: ReplayFile;
    try {
      file = JSON.parse(readFileSync(path, 'utf8')) as ReplayFile;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new ReplayFileError(`${path}: error: ${code ? `cannot read replay file: ${code}` : `not a replay file (invalid JSON)`}`);
    }
    if (!file || file.format !== REPLAY_FORMAT.name) throw new ReplayFileError(`${path}: error: not a pbvm replay file`);
    if (file.minCompatible > REPLAY_FORMAT.version) {
      throw new ReplayFileError(`${path}: error: replay file is too new (needs reader version ${file.minCompatible}, this build reads ${REPLAY_FORMAT.version})`);
    }
    if (!Array.isArray(file.entries) || digest(file.entries) !== file.checksum) throw new ReplayFileError(`${path}: error: corrupted replay file: checksum mismatch`);
    for (const e of file.entries) this.byKey.set(e.key, e.reply);
    this.id = file.model;
  }

  async complete(_request: ModelRequest, site: CallSite): Promise<ModelReply> {
    const key = this.keys.next(site);
    const reply = this.byKey.get(key);
    if (!reply) {
      throw new ModelError(
        `replay miss: ${this.path} has no recorded reply for ${site.agent}.${site.playbook} step ${site.step} (${site.purpose}, ${site.file}:${site.line}), call ${key.slice(key.lastIndexOf('#') + 1)} at that step`,
        false,
      );
    }
    return reply;
  }
}
