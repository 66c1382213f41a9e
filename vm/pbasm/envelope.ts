// Framing shared by every serialized artifact (.pbasm, snapshot, library entry):
//   magic(4) | version(u16) | minCompatible(u16) | payloadLength(u32) | sha256(32) | payload
// The sha256 covers the first 12 header bytes and the payload, so a flipped version bit is
// caught too. The payload is msgpack. Decoding checks each field in turn so a bad file gets
// a precise error.
import { createHash } from 'node:crypto';
import { Packr } from 'msgpackr';

const packr = new Packr({ useRecords: false, mapsAsObjects: true, variableMapSize: true });

export const HEADER_SIZE = 4 + 2 + 2 + 4 + 32;

export interface EnvelopeKind {
  /** Four ASCII characters. */
  magic: string;
  /** Human name for error messages, e.g. "PBAsm program". */
  label: string;
  /** Format version this build writes. */
  version: number;
  /** Oldest format version this build can still read. */
  minReadable: number;
}

export class FormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FormatError';
  }
}

export function packValue(value: unknown): Uint8Array {
  return packr.pack(value);
}

export function unpackValue(bytes: Uint8Array): unknown {
  return packr.unpack(bytes);
}

export function sha256(bytes: Uint8Array | string): Buffer {
  return createHash('sha256').update(bytes).digest();
}

export function encodeEnvelope(kind: EnvelopeKind, value: unknown, minCompatible = kind.version): Buffer {
  const payload = packr.pack(value);
  const out = Buffer.allocUnsafe(HEADER_SIZE + payload.length);
  out.write(kind.magic, 0, 4, 'latin1');
  out.writeUInt16BE(kind.version, 4);
  out.writeUInt16BE(minCompatible, 6);
  out.writeUInt32BE(payload.length, 8);
  out.set(payload, HEADER_SIZE);
  checksum(out.subarray(0, 12), payload).copy(out, 12);
  return out;
}

function checksum(head: Uint8Array, payload: Uint8Array): Buffer {
  return createHash('sha256').update(head).update(payload).digest();
}

export interface EnvelopeHeader {
  version: number;
  minCompatible: number;
  length: number;
}

/** Checks the header only; throws FormatError with a reason a person can act on. */
export function readEnvelopeHeader(kind: EnvelopeKind, bytes: Uint8Array): EnvelopeHeader {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < 4 || buf.toString('latin1', 0, 4) !== kind.magic) {
    throw new FormatError(`not a ${kind.label} file (bad magic number)`);
  }
  if (buf.length < HEADER_SIZE) throw new FormatError(`truncated ${kind.label} file (header is incomplete)`);
  const version = buf.readUInt16BE(4);
  const minCompatible = buf.readUInt16BE(6);
  const length = buf.readUInt32BE(8);
  if (minCompatible === 0 || minCompatible > version) {
    throw new FormatError(`corrupted ${kind.label} file: inconsistent version fields (version ${version}, minimum compatible ${minCompatible})`);
  }
  if (minCompatible > kind.version) {
    throw new FormatError(
      `${kind.label} file is too new: it needs a reader of format version ${minCompatible} or later, this build reads version ${kind.version}`,
    );
  }
  if (version < kind.minReadable) {
    throw new FormatError(
      `${kind.label} file is too old: format version ${version}, this build reads versions ${kind.minReadable} to ${kind.version}`,
    );
  }
  return { version, minCompatible, length };
}

export function decodeEnvelope(kind: EnvelopeKind, bytes: Uint8Array): { header: EnvelopeHeader; value: unknown } {
  const header = readEnvelopeHeader(kind, bytes);
  const available = bytes.byteLength - HEADER_SIZE;
  if (available < header.length) {
    throw new FormatError(`truncated ${kind.label} file: expected ${header.length} payload bytes, found ${available}`);
  }
  if (available > header.length) {
    const extra = available - header.length;
    throw new FormatError(`corrupted ${kind.label} file: ${extra} unexpected trailing byte${extra === 1 ? '' : 's'}`);
  }
  const payload = bytes.subarray(HEADER_SIZE, HEADER_SIZE + header.length);
  const expected = Buffer.from(bytes.buffer, bytes.byteOffset + 12, 32);
  if (!checksum(bytes.subarray(0, 12), payload).equals(expected)) {
    throw new FormatError(`corrupted ${kind.label} file: checksum mismatch`);
  }
  try {
    return { header, value: packr.unpack(payload) };
  } catch (err) {
    throw new FormatError(`corrupted ${kind.label} file: payload does not decode (${(err as Error).message})`);
  }
}
