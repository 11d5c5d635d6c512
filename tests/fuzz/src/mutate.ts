import { Rng } from '@neurite/tensor';

/**
 * Seeded mutations of a valid file, the kinds that find parser bugs: flipped
 * bits, bytes set to boundary values, length fields made huge, ranges
 * deleted, duplicated or inserted, and truncation. One seed, one mutant.
 */
export function mutate(input: Uint8Array, seed: number): Uint8Array {
  const rng = new Rng(seed);
  const int = (n: number) => rng.int(n);
  let bytes: Uint8Array = input.slice();
  const rounds = 1 + int(4);
  for (let r = 0; r < rounds && bytes.length > 0; r++) {
    const at = int(bytes.length);
    switch (int(7)) {
      case 0: // one bit
        bytes[at]! ^= 1 << int(8);
        break;
      case 1: // a boundary value
        bytes[at] = [0, 1, 0x7f, 0x80, 0xff, 0x20, 0x7b, 0x5b][int(8)]!;
        break;
      case 2: {
        // a 32-bit field made huge, either byte order
        const v = [0xffffffff, 0x80000000, 0x7fffffff, 2 ** 24, 0][int(5)]!;
        const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        if (at + 4 <= bytes.length) view.setUint32(at, v, int(2) === 0);
        break;
      }
      case 3: // truncation
        bytes = bytes.slice(0, at);
        break;
      case 4: {
        // a range deleted
        const n = 1 + int(Math.min(64, bytes.length - at));
        bytes = concat(bytes.subarray(0, at), bytes.subarray(at + n));
        break;
      }
      case 5: {
        // a range duplicated in place
        const n = 1 + int(Math.min(64, bytes.length - at));
        bytes = concat(bytes.subarray(0, at + n), bytes.subarray(at));
        break;
      }
      default: {
        // random bytes inserted
        const junk = Uint8Array.from({ length: 1 + int(16) }, () => int(256));
        bytes = concat(bytes.subarray(0, at), junk, bytes.subarray(at));
      }
    }
  }
  return bytes;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Values that break checks which only expect a plausible JSON document. */
const HOSTILE: unknown[] = [
  -1,
  0,
  1.5,
  2 ** 31,
  2 ** 53 - 1,
  1e308,
  '10',
  '',
  null,
  true,
  [],
  {},
  [2 ** 40],
  { type: 'dense', units: 2 ** 30 },
  { type: 'sequential', layers: [] },
];

/**
 * A JSON document with one to three values replaced by hostile ones, or a
 * value wrapped thousands of levels deep: mutations that stay valid JSON,
 * so they reach the checks after parsing.
 */
export function mutateJson(value: unknown, seed: number): Uint8Array {
  const rng = new Rng(seed);
  const copy = JSON.parse(JSON.stringify(value)) as unknown;
  const slots: { parent: Record<string, unknown> | unknown[]; key: string | number }[] = [];
  const walk = (v: unknown) => {
    if (v === null || typeof v !== 'object') return;
    for (const [k, child] of Object.entries(v)) {
      slots.push({ parent: v as Record<string, unknown>, key: Array.isArray(v) ? Number(k) : k });
      walk(child);
    }
  };
  walk(copy);
  const rounds = 1 + rng.int(3);
  let deep = false;
  for (let r = 0; r < rounds && slots.length > 0; r++) {
    const { parent, key } = slots[rng.int(slots.length)]!;
    const target = parent as Record<string | number, unknown>;
    if (!deep && rng.int(10) === 0) {
      target[key] = DEEP;
      deep = true;
    } else target[key] = HOSTILE[rng.int(HOSTILE.length)];
  }
  // The deep value is spliced in as text: building it as an object would need
  // the recursion it is meant to provoke.
  const json = JSON.stringify(copy).replace(`"${DEEP}"`, `${'['.repeat(5000)}1${']'.repeat(5000)}`);
  return new TextEncoder().encode(json);
}

const DEEP = 'deep-marker-5000';
