import { crc32 as zlibCrc32, gunzipSync as zlibGunzip, gzipSync as zlibGzip } from 'node:zlib';
import fc from 'fast-check';
import { gzipSync } from 'fflate';
import { describe, expect, it, vi } from 'vitest';
import { crc32 } from '../src/crc32.js';
import { encodeIdx, gunzip, type IdxData, IdxError, type IdxType, parseIdx } from '../src/index.js';

const TYPES: { type: IdxType; code: number; make: (values: number[]) => IdxData['data'] }[] = [
  { type: 'uint8', code: 0x08, make: (v) => Uint8Array.from(v) },
  { type: 'int8', code: 0x09, make: (v) => Int8Array.from(v) },
  { type: 'int16', code: 0x0b, make: (v) => Int16Array.from(v) },
  { type: 'int32', code: 0x0c, make: (v) => Int32Array.from(v) },
  { type: 'float32', code: 0x0d, make: (v) => Float32Array.from(v) },
  { type: 'float64', code: 0x0e, make: (v) => Float64Array.from(v) },
];

const EXTREMES: Record<IdxType, number[]> = {
  uint8: [0, 1, 127, 128, 255],
  int8: [-128, -1, 0, 1, 127],
  int16: [-32768, -1, 0, 256, 32767],
  int32: [-2147483648, -1, 0, 65536, 2147483647],
  float32: [-3.4e38, -0, 1.5, 1e-45, Number.POSITIVE_INFINITY],
  float64: [-Number.MAX_VALUE, Number.MIN_VALUE, Math.PI, Number.NaN, -0],
};

/** A hand-written IDX file: the oracle for the encoder, big-endian byte by byte. */
function handWritten(code: number, dims: number[], bytesPerValue: number, valueBytes: number[]) {
  const header = [0, 0, code, dims.length];
  for (const d of dims) header.push((d >>> 24) & 255, (d >>> 16) & 255, (d >>> 8) & 255, d & 255);
  expect(valueBytes.length).toBe(dims.reduce((a, b) => a * b, 1) * bytesPerValue);
  return Uint8Array.from([...header, ...valueBytes]);
}

/** The IdxError parseIdx throws for `bytes`; fails the test if it accepts them. */
function error(bytes: Uint8Array, name?: string): IdxError {
  try {
    parseIdx(bytes, name);
  } catch (e) {
    expect(e).toBeInstanceOf(IdxError);
    return e as IdxError;
  }
  throw new Error('parseIdx accepted bad input');
}

describe('parseIdx', () => {
  it('reads a hand-written big-endian int16 file', () => {
    // [2, 2] values 1, -2, 258, -32768
    const bytes = handWritten(0x0b, [2, 2], 2, [0, 1, 0xff, 0xfe, 1, 2, 0x80, 0]);
    const idx = parseIdx(bytes);
    expect(idx.type).toBe('int16');
    expect(idx.dims).toEqual([2, 2]);
    expect(idx.data).toBeInstanceOf(Int16Array);
    expect(Array.from(idx.data)).toEqual([1, -2, 258, -32768]);
  });

  it('reads a hand-written float64 file and an MNIST-style uint8 header', () => {
    const f = parseIdx(handWritten(0x0e, [1], 8, [0x40, 0x09, 0x21, 0xfb, 0x54, 0x44, 0x2d, 0x18]));
    expect(f.data[0]).toBe(Math.PI);
    const u = parseIdx(handWritten(0x08, [2, 1, 3], 1, [0, 1, 2, 253, 254, 255]));
    expect(u.dims).toEqual([2, 1, 3]);
    expect(Array.from(u.data)).toEqual([0, 1, 2, 253, 254, 255]);
  });

  for (const { type, code, make } of TYPES) {
    it(`round-trips ${type} (code 0x${code.toString(16)}), raw and gzipped`, () => {
      const data = make(
        [...EXTREMES[type], ...EXTREMES[type]].slice(0, 6).concat([0, 0, 0, 0, 0, 0]),
      );
      for (const gzip of [false, true]) {
        const bytes = encodeIdx({ dims: [3, 2, 2], data }, { gzip });
        if (!gzip) expect(bytes[2]).toBe(code);
        const back = parseIdx(bytes, `x.${type}`);
        expect(back.type).toBe(type);
        expect(back.dims).toEqual([3, 2, 2]);
        expect(back.data.constructor).toBe(data.constructor);
        expect(Array.from(back.data)).toEqual(Array.from(data));
      }
    });
  }

  it('round-trips random arrays of every type and shape (property)', () => {
    const typeArb = fc.constantFrom(...TYPES);
    fc.assert(
      fc.property(
        typeArb,
        fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 0, maxLength: 4 }),
        fc.boolean(),
        fc.integer(),
        ({ type, make }, dims, gzip, seed) => {
          const n = dims.reduce((a, b) => a * b, 1);
          let s = seed;
          const values = Array.from({ length: n }, () => {
            s = (Math.imul(s, 1103515245) + 12345) | 0;
            return type.startsWith('float') ? s / 7919 : s;
          });
          const data = make(values);
          const back = parseIdx(encodeIdx({ dims, data }, { gzip }));
          expect(back.type).toBe(type);
          expect(back.dims).toEqual(dims);
          expect(Array.from(back.data)).toEqual(Array.from(data));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('reads gzip made by another encoder (node:zlib), with header fields', () => {
    const raw = encodeIdx({ dims: [4], data: Int32Array.from([7, -7, 1 << 30, 0]) });
    const gz = zlibGzip(raw);
    expect(Array.from(parseIdx(new Uint8Array(gz)).data)).toEqual([7, -7, 1 << 30, 0]);
    // FNAME + FCOMMENT + FEXTRA + FHCRC set: the header parser must skip them all.
    const deflate = gz.subarray(10, gz.length - 8);
    const header = [0x1f, 0x8b, 8, 4 | 8 | 16 | 2, 0, 0, 0, 0, 0, 3, 3, 0, 1, 2, 3];
    header.push(...Buffer.from('name\0comment\0'), 0xaa, 0xbb);
    const withFields = Uint8Array.from([...header, ...deflate, ...gz.subarray(gz.length - 8)]);
    expect(Array.from(parseIdx(withFields, 'fields.gz').data)).toEqual([7, -7, 1 << 30, 0]);
  });

  it('gives uint8 data as a view of the input, without a copy', () => {
    const bytes = encodeIdx({ dims: [3], data: Uint8Array.from([9, 8, 7]) });
    const idx = parseIdx(bytes);
    expect(idx.data.buffer).toBe(bytes.buffer);
    expect(idx.data.byteOffset).toBe(8);
  });
});

describe('parseIdx errors name the file and the problem', () => {
  const good = encodeIdx({ dims: [10, 2, 2], data: new Uint8Array(40).map((_, i) => i) });

  it('wrong magic', () => {
    const bad = good.slice();
    bad[0] = 0x12;
    bad[1] = 0x34;
    const e = error(bad, 'images.idx');
    expect(e.message).toMatch(/^images\.idx: wrong magic number 0x12340803 at byte 0/);
  });

  it('unsupported type code', () => {
    const bad = good.slice();
    bad[2] = 0x0a;
    expect(error(bad, 'f.idx').message).toMatch(
      /^f\.idx: unsupported IDX type code 0x0a at byte 2: expected one of 0x08 \(uint8\).*0x0e \(float64\)/,
    );
  });

  it('dims that disagree with the data length: expected vs actual bytes', () => {
    const short = error(good.subarray(0, good.length - 3), 'short.idx').message;
    expect(short).toContain('short.idx: header dims [10, 2, 2] of uint8 need 40 data bytes');
    expect(short).toContain('the file has 37');
    expect(short).toContain('truncated data from byte 53');
    const long = error(Uint8Array.from([...good, 1, 2]), 'long.idx').message;
    expect(long).toContain('need 40 data bytes');
    expect(long).toContain('has 42');
    expect(long).toContain('trailing bytes');
    const wide = encodeIdx({ dims: [3], data: Float64Array.from([1, 2, 3]) });
    expect(error(wide.subarray(0, wide.length - 1), 'w').message).toContain(
      'dims [3] of float64 need 24 data bytes after the 8-byte header (32 in all), but the file has 23',
    );
  });

  it('a header cut short', () => {
    expect(error(good.subarray(0, 9), 'h.idx').message).toMatch(
      /^h\.idx: truncated header: byte 3 declares 3 dimensions, which need a 16-byte header, but the file has 9 bytes/,
    );
    expect(error(good.subarray(0, 2), 'h.idx').message).toMatch(/^h\.idx: 2 bytes is too short/);
  });

  it('truncated gzip, at every kind of cut', () => {
    let s = 12345;
    const noisy = new Uint8Array(50 * 784).map(() => {
      s = (Math.imul(s, 1103515245) + 12345) | 0;
      return (s >>> 24) & 0x3f; // 6 random bits a byte: compressible, but not by much
    });
    for (const data of [noisy, new Uint8Array(50 * 784).map((_, i) => (i * 31) % 256)]) {
      const gz = encodeIdx({ dims: [50, 28, 28], data }, { gzip: true });
      for (const cut of [1, 4, 7, 8, 9, 100, Math.floor(gz.length / 2), gz.length - 12]) {
        const message = error(gz.subarray(0, gz.length - cut), 'd.gz').message;
        expect(message, `cut ${cut}`).toMatch(/^d\.gz: (truncated|truncated or corrupt) gzip data/);
      }
      // Bytes lost from the middle, trailer intact: the deflate stream itself ends early.
      const holed = Uint8Array.from([
        ...gz.subarray(0, gz.length / 2),
        ...gz.subarray(gz.length - 8),
      ]);
      expect(error(holed, 'd.gz').message).toMatch(
        /^d\.gz: truncated gzip data: the deflate stream ends before its last block/,
      );
    }
  });

  it('a corrupted gzip body or trailer', () => {
    const gz = encodeIdx(
      { dims: [1000], data: new Uint8Array(1000).map((_, i) => i % 7) },
      { gzip: true },
    );
    const flippedCrc = gz.slice();
    flippedCrc[gz.length - 6]! ^= 0xff;
    expect(error(flippedCrc, 'c.gz').message).toMatch(
      /^c\.gz: corrupt gzip data: CRC-32 of the inflated data is 0x[0-9a-f]{8} but the trailer at byte \d+ says/,
    );
    const wrongSize = gz.slice();
    wrongSize[gz.length - 4]! ^= 1;
    expect(error(wrongSize, 'c.gz').message).toMatch(
      /^c\.gz: truncated or corrupt gzip data: the stream inflates to/,
    );
    const badMethod = gz.slice();
    badMethod[2] = 7;
    expect(error(badMethod, 'c.gz').message).toMatch(
      /^c\.gz: unsupported gzip compression method 7 at byte 2/,
    );
  });

  it('without a name, messages still say what and where', () => {
    const bad = good.slice();
    bad[2] = 0x42;
    expect(error(bad).message).toMatch(/^unsupported IDX type code 0x42 at byte 2/);
  });
});

describe('encodeIdx', () => {
  it('writes the bytes a hand-written file has', () => {
    const data = Int32Array.from([1, -1, 256]);
    const expected = handWritten(0x0c, [3], 4, [0, 0, 0, 1, 255, 255, 255, 255, 0, 0, 1, 0]);
    expect(Array.from(encodeIdx({ dims: [3], data }))).toEqual(Array.from(expected));
    expect(Array.from(encodeIdx({ type: 'int32', dims: [3], data: [1, -1, 256] }))).toEqual(
      Array.from(expected),
    );
  });

  it('gzips to the same bytes whatever the clock says', () => {
    const idx = { dims: [2, 3], data: Uint8Array.from([1, 2, 3, 4, 5, 6]) };
    vi.useFakeTimers({ now: 0 });
    try {
      const before = encodeIdx(idx, { gzip: true });
      vi.setSystemTime(Date.UTC(2031, 5, 7, 12, 34, 56));
      expect(encodeIdx(idx, { gzip: true })).toEqual(before);
      expect(Array.from(before.subarray(4, 8))).toEqual([0, 0, 0, 0]);
    } finally {
      vi.useRealTimers();
    }
  });

  it('refuses dims that do not match the data, and plain arrays without a type', () => {
    expect(() => encodeIdx({ dims: [2, 2], data: new Uint8Array(3) })).toThrow(
      'encodeIdx: dims [2, 2] hold 4 values but data has 3',
    );
    expect(() => encodeIdx({ dims: [1], data: [1] })).toThrow(/cannot infer the IDX type/);
    expect(() => encodeIdx({ dims: [1.5], data: new Uint8Array(1) })).toThrow(/dims\[0\] = 1.5/);
  });
});

describe('gzip support', () => {
  it('crc32 matches the standard check value and node:zlib', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
    const bytes = new Uint8Array(1237).map((_, i) => (i * 7919) % 251);
    for (const n of [0, 1, 7, 8, 9, 1237]) {
      expect(crc32(bytes.subarray(0, n))).toBe(zlibCrc32(bytes.subarray(0, n)));
    }
  });

  it('gunzip agrees with node:zlib and fflate round-trips', () => {
    const bytes = new Uint8Array(100_000).map((_, i) => (i * i) % 256);
    const gz = gzipSync(bytes, { level: 9 });
    expect(Buffer.from(gunzip(gz)).equals(zlibGunzip(gz))).toBe(true);
  });
});

describe('gzip as RFC 1952 says, and bounded by the IDX header', () => {
  const data = new Uint8Array(3000).map((_, i) => (i * 37) % 256);
  const raw = encodeIdx({ dims: [3000], data });

  it('reads a multi-member file (cat a.gz b.gz) whole, checking every member', () => {
    const cut = 1234;
    const two = Uint8Array.from([
      ...gzipSync(raw.subarray(0, cut)),
      ...zlibGzip(raw.subarray(cut)),
    ]);
    expect(Buffer.from(gunzip(two)).equals(zlibGunzip(two))).toBe(true);
    expect(Array.from(parseIdx(two, 'm.gz').data)).toEqual(Array.from(data));
    // A corrupt CRC in the first member is found, and named.
    const first = gzipSync(raw.subarray(0, cut));
    first[first.length - 7]! ^= 1;
    const bad = Uint8Array.from([...first, ...gzipSync(raw.subarray(cut))]);
    expect(error(bad, 'm.gz').message).toMatch(
      /^m\.gz: corrupt gzip data: CRC-32 of the inflated data of member 1 is 0x[0-9a-f]{8} but the trailer at byte \d+ says/,
    );
  });

  it('refuses bytes that belong to no member: before the trailer or after the last member', () => {
    const gz = gzipSync(raw);
    const before = Uint8Array.from([...gz.subarray(0, -8), 1, 2, 3, ...gz.subarray(-8)]);
    expect(error(before, 'j.gz').message).toMatch(
      /^j\.gz: corrupt gzip data: the bytes after the deflate stream of member 1 \(which starts at byte 0\) are neither its 8-byte trailer nor another gzip member/,
    );
    for (const tail of [[9, 9, 9], new Array(40).fill(7)]) {
      const after = Uint8Array.from([...gz, ...tail]);
      expect(error(after, 'j.gz').message).toMatch(/^j\.gz: (corrupt|truncated) gzip data/);
    }
  });

  it('stops inflating a bomb at the size its IDX header declares', () => {
    // A header promising 10 bytes of data, then 64 MB of zeros: about 64 KB gzipped.
    const header = encodeIdx({ dims: [10], data: new Uint8Array(10) }).subarray(0, 8);
    const bomb = new Uint8Array(64 * 2 ** 20);
    bomb.set(header);
    const gz = gzipSync(bomb, { level: 9 });
    const message = error(gz, 'bomb.gz').message;
    expect(message).toMatch(
      /^bomb\.gz: the gzip data inflates past the 18 bytes its header declares; stopped at (\d+) bytes/,
    );
    const stopped = Number(/stopped at (\d+)/.exec(message)![1]);
    expect(stopped).toBeLessThan(8 * 2 ** 20);
    // A wrong magic number is reported as soon as the first bytes are out.
    const junk = new Uint8Array(8 * 2 ** 20).fill(1);
    const junkMessage = error(gzipSync(junk), 'x.gz').message;
    expect(junkMessage).toMatch(/^x\.gz: wrong magic number 0x01010101 at byte 0/);
  });

  it('honours a caller limit', () => {
    expect(() => gunzip(gzipSync(raw), 'l.gz', { maxBytes: 100 })).toThrow(
      /^l\.gz: the gzip data inflates past the 100 bytes the limit given; stopped at/,
    );
  });
});
