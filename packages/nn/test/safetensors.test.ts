import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { arange, randn, Tensor, tensor } from '@neurite/tensor';
import { describe, expect, it } from 'vitest';
import { CheckpointError, fromSafetensors, toSafetensors } from '../src/index.js';

const bytesOf = (t: Tensor) => new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);

/** Float32 values including the awkward ones: −0, ±∞, a NaN with a payload, subnormals. */
function awkward(): Tensor {
  const bits = new Uint32Array([
    0x80000000, 0x7f800000, 0xff800000, 0x7fc00123, 0x00000001, 0x7f7fffff, 0x3f800000, 0xbeaaaaab,
  ]);
  return new Tensor(new Float32Array(bits.buffer), [2, 4], 'float32');
}

/** Safetensors bytes from a header written by hand and raw data. */
function craft(header: unknown, data: Uint8Array = new Uint8Array(0), padTo8 = true): Uint8Array {
  let json = typeof header === 'string' ? header : JSON.stringify(header);
  if (padTo8) while (json.length % 8 !== 0) json += ' ';
  const head = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + head.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  out.set(data, 8 + head.length);
  return out;
}

function refusal(bytes: Uint8Array): string {
  try {
    fromSafetensors(bytes, 'model.safetensors');
  } catch (e) {
    expect(e).toBeInstanceOf(CheckpointError);
    return (e as Error).message;
  }
  throw new Error('the bytes were accepted');
}

describe('safetensors round trip', () => {
  it('is bit-exact for float32, float64 and int32, empty and 0-d tensors', () => {
    const tensors = {
      '0.weight': awkward(),
      double: randn([3, 5], { rng: 1, dtype: 'float64' }),
      labels: tensor([-7, 0, 2147483647, -2147483648], { dtype: 'int32' }),
      empty: tensor(new Float32Array(0), { shape: [0, 3] }),
      scalar: Tensor.scalar(Math.PI),
    };
    const back = fromSafetensors(toSafetensors(tensors, { note: 'hi ✓' }));
    expect(Object.keys(back.tensors).sort()).toEqual(Object.keys(tensors).sort());
    for (const [name, t] of Object.entries(tensors)) {
      const r = back.tensors[name]!;
      expect([name, r.dtype, r.shape]).toEqual([name, t.dtype, t.shape]);
      expect(bytesOf(r)).toEqual(bytesOf(t));
    }
    expect(back.metadata).toEqual({ note: 'hi ✓' });
  });
});

describe('the header is valid safetensors (parsed independently)', () => {
  const w = randn([4, 3], { rng: 2 });
  const b = arange(4, undefined, 1, { dtype: 'float64' });
  const bytes = toSafetensors({ w, b }, { format: 'pt' });
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(view.getBigUint64(0, true));
  const text = new TextDecoder().decode(bytes.subarray(8, 8 + n));
  const header = JSON.parse(text) as Record<
    string,
    { dtype: string; shape: number[]; data_offsets: [number, number] }
  >;
  const dataStart = 8 + n;

  it('8-byte little-endian length, JSON padded with spaces to an 8-byte boundary', () => {
    expect(dataStart % 8).toBe(0);
    expect(text).toBe(text.trimEnd() + ' '.repeat(text.length - text.trimEnd().length));
    expect(text.trimEnd().endsWith('}')).toBe(true);
  });

  it('string-only __metadata__, dtype codes, shapes and contiguous offsets', () => {
    expect(header.__metadata__).toEqual({ format: 'pt' });
    expect(header.w).toEqual({ dtype: 'F32', shape: [4, 3], data_offsets: [32, 80] });
    // The 8-byte type goes first, so every tensor starts aligned to its element size.
    expect(header.b).toEqual({ dtype: 'F64', shape: [4], data_offsets: [0, 32] });
    expect(bytes.length).toBe(dataStart + 80);
  });

  it('raw little-endian data at the offsets', () => {
    for (let i = 0; i < 12; i++) {
      expect(view.getFloat32(dataStart + 32 + 4 * i, true)).toBe(w.data[i]);
    }
    for (let i = 0; i < 4; i++) expect(view.getFloat64(dataStart + 8 * i, true)).toBe(i);
  });

  const python = spawnSync('python3', ['-c', 'import numpy'], { encoding: 'utf8' });
  it.skipIf(python.status !== 0)('reads back with a separate Python/NumPy reader', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nn-st-'));
    try {
      const file = join(dir, 'w.safetensors');
      const awk = awkward();
      writeFileSync(file, toSafetensors({ w, b, awk }, { format: 'pt' }));
      // The same steps as the reference loader: length, JSON, then a
      // frombuffer view per tensor with its dtype and shape.
      const script = `
import json, struct, sys, numpy as np
raw = open(sys.argv[1], 'rb').read()
(n,) = struct.unpack('<Q', raw[:8])
header = json.loads(raw[8:8 + n])
data = raw[8 + n:]
kinds = {'F32': '<f4', 'F64': '<f8', 'I32': '<i4'}
out = {}
for name, e in header.items():
    if name == '__metadata__':
        continue
    a, z = e['data_offsets']
    arr = np.frombuffer(data[a:z], dtype=kinds[e['dtype']]).reshape(e['shape'])
    out[name] = {'shape': list(arr.shape), 'hex': arr.tobytes().hex()}
print(json.dumps({'meta': header.get('__metadata__'), 'tensors': out}))
`;
      const r = spawnSync('python3', ['-c', script, file], { encoding: 'utf8' });
      expect(r.stderr).toBe('');
      const parsed = JSON.parse(r.stdout) as {
        meta: Record<string, string>;
        tensors: Record<string, { shape: number[]; hex: string }>;
      };
      expect(parsed.meta).toEqual({ format: 'pt' });
      const hex = (t: Tensor) => Buffer.from(bytesOf(t)).toString('hex');
      expect(parsed.tensors).toEqual({
        w: { shape: [4, 3], hex: hex(w) },
        b: { shape: [4], hex: hex(b) },
        awk: { shape: [2, 4], hex: hex(awk) },
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('corrupt or truncated bytes are refused with the problem named', () => {
  const good = toSafetensors({ a: randn([2, 3], { rng: 1 }), b: randn([4], { rng: 2 }) });
  const f32 = (n: number) => new Uint8Array(4 * n);

  it('too short for the length field', () => {
    expect(refusal(good.subarray(0, 5))).toBe(
      'model.safetensors: 5 bytes is too short to hold the 8-byte header length',
    );
  });

  it('header length beyond the end of the file', () => {
    expect(refusal(good.subarray(0, 40))).toMatch(
      /^model\.safetensors: header length \d+ \(bytes 0-7\) runs beyond the end of the file: .* the file has 40 bytes \(truncated\?\)$/,
    );
    const huge = good.slice();
    new DataView(huge.buffer).setUint32(4, 1, true);
    expect(refusal(huge)).toMatch(/header length 4294967\d+ \(bytes 0-7\) runs beyond the end/);
  });

  it('data cut short', () => {
    expect(refusal(good.subarray(0, good.length - 1))).toMatch(
      /tensor '\w': data_offsets \[\d+, \d+\] run beyond the data section of \d+ bytes \(file bytes \d+-\d+ of \d+; truncated\?\)/,
    );
  });

  it('invalid JSON', () => {
    const bad = good.slice();
    bad[8] = 0x78; // 'x' for the opening brace
    expect(refusal(bad)).toMatch(
      /^model\.safetensors: the header \(bytes 8-\d+\) is not valid UTF-8 JSON: /,
    );
    expect(refusal(craft('[1, 2]'))).toBe('model.safetensors: the header is not a JSON object');
  });

  it('unknown dtype', () => {
    const bytes = craft(
      { w: { dtype: 'F8_E4M3', shape: [2], data_offsets: [0, 2] } },
      new Uint8Array(2),
    );
    expect(refusal(bytes)).toBe(
      "model.safetensors: tensor 'w': unknown dtype 'F8_E4M3' (this reader supports F32, F64, F16, BF16, I32, I64)",
    );
    const proto = craft({ w: { dtype: 'toString', shape: [1], data_offsets: [0, 4] } }, f32(1));
    expect(refusal(proto)).toMatch(/unknown dtype 'toString'/);
  });

  it('overlapping, gapped or short-covering offsets', () => {
    const overlap = craft(
      {
        a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
        b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] },
      },
      f32(3),
    );
    expect(refusal(overlap)).toBe("model.safetensors: tensors 'a' [0, 8) and 'b' [4, 12) overlap");
    const gap = craft(
      {
        a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] },
        b: { dtype: 'F32', shape: [1], data_offsets: [8, 12] },
      },
      f32(3),
    );
    expect(refusal(gap)).toBe(
      "model.safetensors: data bytes [4, 8) before tensor 'b' belong to no tensor",
    );
    const trailing = craft({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, f32(2));
    expect(refusal(trailing)).toBe(
      'model.safetensors: the tensors cover 4 bytes of the 8-byte data section; bytes [4, 8) belong to no tensor',
    );
  });

  it('a byte range that does not match shape × dtype, and malformed entries', () => {
    const size = craft({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, f32(2));
    expect(refusal(size)).toBe(
      "model.safetensors: tensor 'a': shape [3] of F32 needs 12 bytes but data_offsets [0, 8] hold 8",
    );
    expect(
      refusal(craft({ a: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, f32(1))),
    ).toMatch(/tensor 'a': shape \[-1\] is not an array of non-negative integers/);
    expect(
      refusal(craft({ a: { dtype: 'F32', shape: [1], data_offsets: [4, 0] } }, f32(1))),
    ).toMatch(/tensor 'a': data_offsets \[4, 0\] is not a pair \[begin, end\] with begin <= end/);
    expect(refusal(craft({ __metadata__: { epoch: 3 } }))).toBe(
      "model.safetensors: metadata 'epoch' is a number, not a string",
    );
  });

  it('accepts an unpadded header from another writer', () => {
    const bytes = craft(
      { a: { dtype: 'I32', shape: [1], data_offsets: [0, 4] } },
      new Uint8Array([7, 0, 0, 0]),
      false,
    );
    expect(Array.from(fromSafetensors(bytes).tensors.a!.data)).toEqual([7]);
  });

  it('toSafetensors refuses non-string metadata', () => {
    expect(() => toSafetensors({}, { epoch: 3 as unknown as string })).toThrow(
      "toSafetensors: metadata 'epoch' is a number; safetensors metadata values must be strings",
    );
  });
});

describe('safetensors headers that are ambiguous or hostile', () => {
  const entry = (at: number) => `{"dtype":"I32","shape":[1],"data_offsets":[${at},${at + 4}]}`;
  const four = new Uint8Array([7, 0, 0, 0, 9, 0, 0, 0]);

  it('refuses a tensor name given twice, even with another dtype', () => {
    const twice = `{"a":${entry(0)},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`;
    expect(refusal(craft(twice, four))).toMatch(
      /^model\.safetensors: the header \(bytes 8-\d+\) names 'a' twice in one object \(character \d+\)$/,
    );
    // Escapes are decoded before names are compared.
    const escaped = `{"a":${entry(0)},"\\u0061":${entry(4)}}`;
    expect(refusal(craft(escaped, four))).toMatch(/names 'a' twice/);
    expect(refusal(craft(`{"__metadata__":{"k":"1","k":"2"}}`))).toMatch(/names 'k' twice/);
  });

  it('refuses __proto__ as a tensor name or a metadata key', () => {
    expect(refusal(craft(`{"__proto__":${entry(0)}}`, four.subarray(0, 4)))).toBe(
      "model.safetensors: tensor name '__proto__' is not allowed",
    );
    expect(refusal(craft('{"__metadata__":{"__proto__":"x"}}'))).toBe(
      "model.safetensors: metadata key '__proto__' is not allowed",
    );
  });

  it('refuses a byte-order mark before the header', () => {
    const plain = craft(`{"a":${entry(0)}}`, four.subarray(0, 4));
    const json = plain.subarray(8, plain.length - 4);
    const bom = craft(`\uFEFF${new TextDecoder().decode(json)}`, four.subarray(0, 4), false);
    expect(refusal(bom)).toMatch(/byte-order mark at byte 8/);
  });

  it('refuses nesting 20,000 deep with its own error, not a stack overflow', () => {
    const deep = `{"a":{"dtype":"I32","shape":${'['.repeat(20000)}${']'.repeat(20000)},"data_offsets":[0,4]}}`;
    expect(refusal(craft(deep, four.subarray(0, 4)))).toMatch(
      /the header \(bytes 8-\d+\) nests deeper than 16 levels \(character \d+\); a safetensors header nests 3/,
    );
    // Shallow but wrong shapes are shown briefly, whatever their size.
    const wide = `{"a":{"dtype":"I32","shape":[[1],${'2,'.repeat(100)}3],"data_offsets":[0,4]}}`;
    expect(refusal(craft(wide, four.subarray(0, 4)))).toBe(
      "model.safetensors: tensor 'a': shape [[…], 2, 2, 2, 2, 2, 2, 2, …] is not an array of non-negative integers",
    );
  });
});
