import { inflateSync } from 'fflate';
import { crc32 } from './crc32.js';
import { IdxError } from './errors.js';

// Deflate cannot expand data by more than about 1032:1, so a trailer that
// claims more than that is the garbage left by a truncated file.
const MAX_DEFLATE_RATIO = 1032;

/** Whether `bytes` start with the gzip magic number 0x1f 0x8b. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

function prefix(name: string | undefined): string {
  return name ? `${name}: ` : '';
}

/** The offset where the deflate stream starts, after the RFC 1952 header. */
function headerLength(bytes: Uint8Array, name: string | undefined): number {
  const fail = (what: string) => new IdxError(`${prefix(name)}${what}`);
  if (bytes[2] !== 8) {
    throw fail(
      `unsupported gzip compression method ${bytes[2]} at byte 2 (only 8, deflate, exists)`,
    );
  }
  const flags = bytes[3]!;
  if (flags & 0xe0) throw fail(`corrupt gzip header: reserved flag bits set at byte 3`);
  let at = 10;
  if (flags & 4) {
    if (at + 2 > bytes.length) throw fail(`truncated gzip header at byte ${at}`);
    at += 2 + (bytes[at]! | (bytes[at + 1]! << 8));
  }
  for (const flag of [8, 16]) {
    if (!(flags & flag)) continue;
    while (at < bytes.length && bytes[at] !== 0) at++;
    at++;
  }
  if (flags & 2) at += 2;
  if (at + 8 > bytes.length) {
    throw fail(`truncated gzip data: the ${bytes.length}-byte file ends inside its header`);
  }
  return at;
}

/**
 * Inflates a whole gzip file, checking its trailer: the stored length and
 * CRC-32 must match what the stream inflates to. Errors name `name`.
 */
export function gunzip(bytes: Uint8Array, name?: string): Uint8Array {
  const fail = (what: string) => new IdxError(`${prefix(name)}${what}`);
  if (bytes.length < 18) {
    throw fail(`truncated gzip data: ${bytes.length} bytes, while the smallest gzip file has 18`);
  }
  const start = headerLength(bytes, name);
  const end = bytes.length - 8;
  const trailer = new DataView(bytes.buffer, bytes.byteOffset + end, 8);
  const storedCrc = trailer.getUint32(0, true);
  const storedSize = trailer.getUint32(4, true);
  const stream = bytes.subarray(start, end);
  if (stream.length === 0 || storedSize > stream.length * MAX_DEFLATE_RATIO + 1024) {
    throw fail(
      `truncated gzip data: the trailer at byte ${end} claims ${storedSize} uncompressed bytes, ` +
        `impossible from ${stream.length} compressed bytes (was the file cut short?)`,
    );
  }
  // One spare byte: a stream longer than the trailer says would fill it,
  // since fflate stops writing silently at the end of a given buffer.
  let out: Uint8Array;
  try {
    out = inflateSync(stream, { out: new Uint8Array(storedSize + 1) });
  } catch (e) {
    const code = (e as { code?: number }).code;
    if (code === 0) {
      throw fail(
        `truncated gzip data: the deflate stream ends before its last block ` +
          `(the file has ${bytes.length} bytes; was it cut short?)`,
      );
    }
    throw fail(`corrupt gzip data: ${(e as Error).message}`);
  }
  if (out.length !== storedSize) {
    throw fail(
      `truncated or corrupt gzip data: the stream inflates to ${out.length > storedSize ? 'more than ' : ''}` +
        `${Math.min(out.length, storedSize)} bytes but the trailer at byte ${end + 4} says ${storedSize}`,
    );
  }
  const actualCrc = crc32(out);
  if (actualCrc !== storedCrc) {
    throw fail(
      `corrupt gzip data: CRC-32 of the inflated data is 0x${hex32(actualCrc)} ` +
        `but the trailer at byte ${end} says 0x${hex32(storedCrc)}`,
    );
  }
  return out;
}

function hex32(n: number): string {
  return n.toString(16).padStart(8, '0');
}
