import { Gunzip, gzipSync } from 'fflate';
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

/** Bounds on what `gunzip` inflates, checked while it inflates. */
export interface GunzipLimits {
  /** The most bytes the inflated data may have (default: no limit beyond deflate's own ratio). */
  maxBytes?: number;
  /**
   * Reads the inflated data's own header from its first bytes (at most
   * 1024) and returns the total size it declares, or `undefined` while it
   * needs more bytes. Inflating stops, with an error, as soon as the data
   * runs past that size: a small file cannot make the reader allocate
   * what its header never promised.
   */
  declaredSize?: (head: Uint8Array) => number | undefined;
}

// An empty gzip member, fed after the input: the inflater reports where it
// starts, which is where the input's last member ends by its own account.
// Its header is fixed (mtime 0), so that how a damaged file is reported never
// depends on the clock.
const EMPTY_MEMBER = /* @__PURE__ */ gzipSync(new Uint8Array(0), { mtime: 0 });
const HEAD = 1024;
const MIN_SLICE = 4096;
const MAX_SLICE = 1 << 20;

/**
 * Inflates a whole gzip file: every member of a multi-member file (RFC 1952,
 * as `cat a.gz b.gz` makes), each checked against its trailer (length and
 * CRC-32). Bytes that belong to no member (junk between a deflate stream and
 * its trailer, or after the last member) are refused. `limits` bound the
 * output while it is inflated. Errors are `IdxError`s that name `name`.
 *
 * @example
 * const raw = gunzip(bytes, 'train-images-idx3-ubyte.gz');
 */
export function gunzip(bytes: Uint8Array, name?: string, limits: GunzipLimits = {}): Uint8Array {
  const fail = (what: string) => new IdxError(`${prefix(name)}${what}`);
  if (bytes.length < 18) {
    throw fail(`truncated gzip data: ${bytes.length} bytes, while the smallest gzip file has 18`);
  }
  const start = headerLength(bytes, name);
  const end = bytes.length - 8;
  const storedSize = new DataView(bytes.buffer, bytes.byteOffset + end, 8).getUint32(4, true);
  if (end - start === 0 || storedSize > (end - start) * MAX_DEFLATE_RATIO + 1024) {
    throw fail(
      `truncated gzip data: the trailer at byte ${end} claims ${storedSize} uncompressed bytes, ` +
        `impossible from ${end - start} compressed bytes (was the file cut short?)`,
    );
  }

  // Where each member starts in the input and in the output.
  const members = [{ at: 0, out: 0 }];
  // The output, grown by doubling; it starts at the size the last trailer
  // states (exact for a one-member file), never more than the limit.
  let out = new Uint8Array(0);
  let total = 0;
  let limit = limits.maxBytes ?? Number.POSITIVE_INFINITY;
  let limitSource = 'the limit given';
  const head = limits.declaredSize ? new Uint8Array(HEAD) : null;
  let headKnown = head === null;
  const inflater = new Gunzip((chunk) => {
    if (!headKnown && head) {
      const take = Math.min(chunk.length, HEAD - Math.min(total, HEAD));
      head.set(chunk.subarray(0, take), Math.min(total, HEAD));
      const have = Math.min(total + chunk.length, HEAD);
      const declared = limits.declaredSize!(head.subarray(0, have));
      if (declared !== undefined) {
        headKnown = true;
        if (declared < limit) {
          limit = declared;
          limitSource = 'its header declares';
        }
      } else if (have === HEAD) headKnown = true;
    }
    total += chunk.length;
    if (total > limit) {
      throw fail(
        `the gzip data inflates past the ${limit} bytes ${limitSource}; stopped at ${total} bytes`,
      );
    }
    if (total > out.length) {
      const hint = out.length > 0 ? 2 * out.length : headKnown ? storedSize : 0;
      const grown = new Uint8Array(Math.min(Math.max(hint, total), limit));
      grown.set(out.subarray(0, total - chunk.length));
      out = grown;
    }
    out.set(chunk, total - chunk.length);
  });
  inflater.onmember = (at) => {
    members.push({ at, out: total });
  };
  const inflate = (data: Uint8Array, final: boolean, cutShort: boolean) => {
    try {
      inflater.push(data, final);
    } catch (e) {
      if (e instanceof IdxError) throw e;
      if (cutShort && (e as Error).message === 'invalid gzip data') {
        // The deflate stream had ended, and what followed was no trailer and
        // member: a trailer cut short, or junk before an intact trailer.
        if (!trailerMatches(bytes, out.subarray(members.at(-1)!.out, total))) {
          throw fail(
            `truncated gzip data: the file ends inside the trailer of member ${members.length} ` +
              `(the file has ${bytes.length} bytes; was it cut short?)`,
          );
        }
        throw fail(
          `corrupt gzip data: the bytes after the deflate stream of member ${members.length} ` +
            `(which starts at byte ${members.at(-1)!.at}) are neither its 8-byte trailer nor another gzip member`,
        );
      }
      if (cutShort || (e as { code?: number }).code === 0) {
        throw fail(
          `truncated gzip data: the deflate stream ends before its last block ` +
            `(the file has ${bytes.length} bytes; was it cut short?)`,
        );
      }
      throw fail(
        `corrupt gzip data: ${(e as Error).message} (after member ${members.length} at byte ${members.at(-1)!.at})`,
      );
    }
  };
  // Fed in slices, so that output is seen (and bounded) as it grows: deflate
  // expands a slice at most ~1032 times, so slices stay small while the
  // budget left is small, and never overshoot it by more than about four
  // times the file's own size. (Slices much under 64 KB slow inflating down.)
  const floor = Math.max(MIN_SLICE, (4 * bytes.length) / MAX_DEFLATE_RATIO);
  for (let at = 0; at < bytes.length; ) {
    const budget = headKnown ? (limit - total) / MAX_DEFLATE_RATIO : 0;
    const size = Math.max(floor, Math.min(MAX_SLICE, budget));
    const next = Math.min(bytes.length, at + Math.floor(size));
    inflate(bytes.subarray(at, next), false, false);
    at = next;
  }
  const finished = members.length;
  // Whatever goes wrong from here happened because the input ran out first.
  inflate(EMPTY_MEMBER, true, true);
  const sentinel = members[finished];
  if (members.length !== finished + 1 || sentinel === undefined || sentinel.at > bytes.length) {
    throw fail(
      `truncated gzip data: the deflate stream ends before its last block ` +
        `(the file has ${bytes.length} bytes; was it cut short?)`,
    );
  }
  if (sentinel.at < bytes.length) {
    throw fail(
      `corrupt gzip data: ${bytes.length - sentinel.at} bytes from byte ${sentinel.at} ` +
        `belong to no gzip member`,
    );
  }

  out = out.subarray(0, total);
  for (let k = 0; k < finished; k++) {
    const from = members[k]!.out;
    const to = members[k + 1]!.out;
    const trailerAt = members[k + 1]!.at - 8;
    const trailer = new DataView(bytes.buffer, bytes.byteOffset + trailerAt, 8);
    const size = trailer.getUint32(4, true);
    const member = finished > 1 ? ` of member ${k + 1}` : '';
    if ((to - from) % 2 ** 32 !== size) {
      throw fail(
        `truncated or corrupt gzip data: the stream${member} inflates to ${to - from} bytes ` +
          `but the trailer at byte ${trailerAt + 4} says ${size}`,
      );
    }
    const stored = trailer.getUint32(0, true);
    const actual = crc32(out.subarray(from, to));
    if (actual !== stored) {
      throw fail(
        `corrupt gzip data: CRC-32 of the inflated data${member} is 0x${hex32(actual)} ` +
          `but the trailer at byte ${trailerAt} says 0x${hex32(stored)}`,
      );
    }
  }
  return out;
}

/** Whether the file's last 8 bytes are the trailer of `data`. */
function trailerMatches(bytes: Uint8Array, data: Uint8Array): boolean {
  const tail = new DataView(bytes.buffer, bytes.byteOffset + bytes.length - 8, 8);
  return (
    data.length % 2 ** 32 === tail.getUint32(4, true) && crc32(data) === tail.getUint32(0, true)
  );
}

function hex32(n: number): string {
  return n.toString(16).padStart(8, '0');
}
