// The run journal: an append-only log of every external effect, written before the effect
// is acted on. Layout: a 16-byte header (magic, version, min-compatible version, header
// CRC), then records of [u32 length][u32 crc32 of the length][u32 crc32 of the payload]
// [msgpack payload]. The length has its own checksum so that a damaged length is reported
// as corruption, not mistaken for a write cut short. A record cut short at the very end is
// a write interrupted by a crash and is dropped; so is a tail of zero bytes (a power loss
// can leave the file longer than the data that reached the disk, the rest reading as
// zeros). Any other damage, zeros followed by data included, is an error.
import { crc32 } from 'node:zlib';
import { FormatError, packValue, unpackValue, type EnvelopeKind } from '../pbasm/envelope.js';
import type { Value } from '../pbasm/program.js';
import { StateWriteError } from '../errors.js';

// Version 3 adds the 'retry' record. Readers of version 2 still read version 3 journals
// (minReadable 2: they skip record types they do not know); such a reader replays a failed
// conversation instead of starting it afresh, so it fails the same way, and repeats nothing.
// Version 4 adds the 'msg' record (a message delivered between agents): it records what the
// run did and is re-derived on replay, so a reader that skips it loses nothing.
export const JOURNAL_FORMAT: EnvelopeKind = { magic: 'PBJN', label: 'journal', version: 4, minReadable: 2 };
const RECORD_HEADER = 12;
export const JOURNAL_HEADER_SIZE = 16;

export type JournalRecord =
  /** First record: the run's identity and the host settings `pb resume` reuses. */
  | { t: 'start'; runId: string; programSha: string; at: string; host: Record<string, Value> }
  | { t: 'resume'; at: string; fromSeq: number }
  /** Output lines, journaled just before they are written: [seq, text] pairs. */
  | { t: 'out'; lines: Array<[number, string]> }
  // `at` (ISO 8601, when the effect happened) sets the machine's clock again on replay.
  | { t: 'input'; seq: number; text: string; at?: string }
  | { t: 'tool-start'; seq: number; callId: string; name: string; args: Value[]; kwargs: Record<string, Value>; at?: string }
  | { t: 'tool-done'; seq: number; result: Value; at?: string }
  /** A tool call that threw (tool-error): `pb resume` calls it again; an audit shows the failure. */
  | { t: 'tool-failed'; seq: number; error: string; at?: string }
  | { t: 'model'; seq: number; reply: Value; at?: string }
  | { t: 'generate'; seq: number; result: Value }
  /** Message number n (counted from the run's start) delivered to instance `to`. */
  | { t: 'msg'; n: number; to: string; message: Value }
  /** A failed conversation (effects fromSeq..toSeq-1) that a resume starts afresh at toSeq (vm/durable/retry.ts). */
  | { t: 'retry'; fromSeq: number; toSeq: number; reason: string; did: string[]; at: string }
  | { t: 'end'; status: 'finished' | 'halted' | 'failed'; final: boolean; message?: string; at: string };

export function journalHeader(): Buffer {
  const h = Buffer.alloc(JOURNAL_HEADER_SIZE);
  h.write(JOURNAL_FORMAT.magic, 0, 4, 'latin1');
  h.writeUInt16BE(JOURNAL_FORMAT.version, 4);
  h.writeUInt16BE(JOURNAL_FORMAT.minReadable, 6);
  h.writeUInt32BE(0, 8);
  h.writeUInt32BE(crc32(h.subarray(0, 12)), 12);
  return h;
}

/** The largest payload a record's 32-bit length can describe. */
const MAX_RECORD = 0xffff_ffff;

/**
 * One record, framed. Throws StateWriteError when the record cannot be encoded (too big for its
 * length field, or refused by the encoder); callers encode every record before writing any, so
 * a record that fails is never half-written.
 */
export function encodeRecord(r: JournalRecord): Buffer {
  let payload: Uint8Array;
  try {
    payload = packValue(r);
  } catch (err) {
    throw new StateWriteError(`cannot journal a '${r.t}' record: ${(err as Error)?.message ?? String(err)}`);
  }
  if (payload.length > MAX_RECORD) throw new StateWriteError(`cannot journal a '${r.t}' record of ${payload.length} bytes (at most ${MAX_RECORD})`);
  const out = Buffer.allocUnsafe(RECORD_HEADER + payload.length);
  out.writeUInt32BE(payload.length, 0);
  out.writeUInt32BE(crc32(out.subarray(0, 4)), 4);
  out.writeUInt32BE(crc32(payload), 8);
  out.set(payload, RECORD_HEADER);
  return out;
}

export interface DecodedJournal {
  records: JournalRecord[];
  /** Bytes of valid data; a torn tail beyond it can be cut off. */
  validLength: number;
  tornTail: boolean;
  /** When the torn tail is explained by trailing zeros: its size in bytes (else 0). */
  zeroTail: number;
}

/** Disks write whole sectors: data lost to a power cut begins at a sector boundary. */
const SECTOR = 512;

/**
 * Whether the damaged record at `off` (ending at `end`, or unknown when its length is
 * damaged) is explained by a zero-filled tail: all bytes from a point inside it to the end
 * of the file are zero, and that point is the record's start or a sector boundary.
 */
function zeroFilledFrom(buf: Buffer, off: number, end: number): boolean {
  let z = buf.length;
  while (z > off && buf[z - 1] === 0) z--;
  if (z === off) return true;
  const sector = Math.ceil(z / SECTOR) * SECTOR;
  return sector < Math.min(end, buf.length);
}

export function decodeJournal(bytes: Uint8Array): DecodedJournal {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < 4 || buf.toString('latin1', 0, 4) !== JOURNAL_FORMAT.magic) throw new FormatError('not a journal file (bad magic number)');
  if (buf.length < JOURNAL_HEADER_SIZE) throw new FormatError('truncated journal: header is incomplete');
  if (buf.readUInt32BE(12) !== crc32(buf.subarray(0, 12))) throw new FormatError('corrupted journal: header checksum mismatch');
  const minCompatible = buf.readUInt16BE(6);
  if (minCompatible > JOURNAL_FORMAT.version) {
    throw new FormatError(`journal is too new: it needs a reader of format version ${minCompatible}, this build reads version ${JOURNAL_FORMAT.version}`);
  }
  const version = buf.readUInt16BE(4);
  if (version < JOURNAL_FORMAT.minReadable) {
    throw new FormatError(`journal is too old: format version ${version}, this build reads versions ${JOURNAL_FORMAT.minReadable} to ${JOURNAL_FORMAT.version}`);
  }
  const records: JournalRecord[] = [];
  let off = JOURNAL_HEADER_SIZE;
  // A damaged record at `off`: a zero-filled tail, dropped like a torn one, or corruption.
  const damaged = (end: number, what: string): DecodedJournal => {
    if (zeroFilledFrom(buf, off, end)) return { records, validLength: off, tornTail: true, zeroTail: buf.length - off };
    throw new FormatError(`corrupted journal: record ${records.length + 1} (byte ${off}) ${what}`);
  };
  while (off < buf.length) {
    if (off + RECORD_HEADER > buf.length) return { records, validLength: off, tornTail: true, zeroTail: zeroFilledFrom(buf, off, off) ? buf.length - off : 0 };
    if (crc32(buf.subarray(off, off + 4)) !== buf.readUInt32BE(off + 4)) return damaged(off + RECORD_HEADER, 'has a damaged length');
    const len = buf.readUInt32BE(off);
    const sum = buf.readUInt32BE(off + 8);
    const end = off + RECORD_HEADER + len;
    if (end > buf.length) {
      // Only a final record may be short, and only because its write was interrupted.
      return { records, validLength: off, tornTail: true, zeroTail: zeroFilledFrom(buf, off, off) ? buf.length - off : 0 };
    }
    const payload = buf.subarray(off + RECORD_HEADER, end);
    if (crc32(payload) !== sum) return damaged(end, 'fails its checksum');
    // Past its checksum, a record's damage cannot be lost writes.
    let rec: unknown;
    try {
      rec = unpackValue(payload);
    } catch {
      throw new FormatError(`corrupted journal: record ${records.length + 1} (byte ${off}) does not decode`);
    }
    if (!rec || typeof rec !== 'object' || typeof (rec as { t?: unknown }).t !== 'string') {
      throw new FormatError(`corrupted journal: record ${records.length + 1} (byte ${off}) has no type`);
    }
    records.push(rec as JournalRecord);
    off = end;
  }
  return { records, validLength: off, tornTail: false, zeroTail: 0 };
}
