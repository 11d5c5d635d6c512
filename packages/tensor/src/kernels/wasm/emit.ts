/**
 * The package's one WebAssembly encoder: every kernel module (the dense and
 * zero-skipping GEMMs, convolutions, pooling, outer products, the fused
 * elementwise loops) is written as calls of these functions and encoded at
 * run time, so the kernels ship as the few kilobytes of JavaScript that
 * write them rather than as binaries, and one generator makes every variant
 * (a shared or a plain memory, relaxed SIMD or not).
 *
 * Code is written folded, as WebAssembly's text format writes it: an
 * instruction's operands come first, nested as built (`i32.add(get(a), i32c(4))`),
 * and are flattened once per module. Blocks and loops carry labels that
 * branches name; the flattening turns them into relative depths.
 */

/** A piece of code: bytes, a block or a branch, nested as written. */
export type Code = number | Code[] | Block | Branch;
interface Block {
  /** Opcode: block, loop or if. */
  o: number;
  /** Label that branches name (any value, compared by identity). */
  l?: unknown;
  c: Code;
  /** The else arm of an if. */
  e?: Code;
}
interface Branch {
  /** br or br_if. */
  b: number;
  l: unknown;
}

function uleb(n: number): number[] {
  if (n < 0x80) return [n];
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

/** `code` as bytes, each branch's label turned into its depth among the enclosing blocks. */
function flatten(code: Code, out: number[], labels: unknown[]): number[] {
  if (typeof code === 'number') out.push(code);
  else if (Array.isArray(code)) {
    // An index loop, numbers pushed in place: this runs once per module, cold, over every byte.
    for (let i = 0; i < code.length; i++) {
      const c = code[i]!;
      if (typeof c === 'number') out.push(c);
      else flatten(c, out, labels);
    }
  } else if ('b' in code) out.push(code.b, labels.length - 1 - labels.lastIndexOf(code.l));
  else {
    out.push(code.o, 0x40);
    labels.push(code.l);
    flatten(code.c, out, labels);
    if (code.e) flatten([5, code.e], out, labels);
    labels.pop();
    out.push(0x0b);
  }
  return out;
}

/**
 * An operand: code, or a number for that local's value (local.get). (Bytes
 * stand as numbers only inside the code the functions here return.)
 */
const operand = (c: Code): Code => (typeof c === 'number' ? get(c) : c);

/** An instruction: its operands (code, or locals by number), then its opcode. */
export type Op = (...args: Code[]) => Code;

/** An instruction of fixed opcode bytes. */
const op =
  (...bytes: number[]): Op =>
  (...args) => [args.map(operand), bytes];
/** A SIMD instruction (prefix 0xfd, opcode as a LEB128). */
const simd = (code: number, ...imm: number[]): Op => op(0xfd, ...uleb(code), ...imm);

export const get = (i: number): Code => [0x20, uleb(i)];
export const set = (i: number, value: Code): Code => [operand(value), 0x21, uleb(i)];
export const tee = (i: number, value: Code): Code => [operand(value), 0x22, uleb(i)];
export const i32c = (n: number): Code => [0x41, sleb(n)];
export const f32c = (x: number): Code => [0x43, ...new Uint8Array(new Float32Array([x]).buffer)];
/** v128.const of four float32 lanes (all zero unless given). */
export const v128c = (x = 0): Code => [
  0xfd,
  0x0c,
  ...new Uint8Array(new Float32Array([x, x, x, x]).buffer),
];
/** v128.const of four int32 lanes. */
export const i32x4c = (...lanes: number[]): Code => [
  0xfd,
  0x0c,
  ...new Uint8Array(new Int32Array(lanes).buffer),
];
export const call = (f: number, ...args: Code[]): Code => [args.map(operand), 0x10, uleb(f)];

export const i32 = {
  eqz: op(0x45),
  eq: op(0x46),
  ltU: op(0x49),
  gtU: op(0x4b),
  leU: op(0x4d),
  geU: op(0x4f),
  add: op(0x6a),
  sub: op(0x6b),
  mul: op(0x6c),
  divU: op(0x6e),
  and: op(0x71),
  or: op(0x72),
  xor: op(0x73),
  shl: op(0x74),
  wrapI64: op(0xa7),
};
/** 64-bit integers: a bit per value of a row, found in turn by counting trailing zeros. */
export const i64 = {
  eqz: op(0x50),
  ctz: op(0x7a),
  and: op(0x83),
  or: op(0x84),
  xor: op(0x85),
  shl: op(0x86),
  sub: op(0x7d),
  extendI32U: op(0xad),
};
/** i64.const of an int32 value (sleb's arithmetic is 32-bit). */
export const i64c = (n: number): Code => [0x42, sleb(n)];
export const f32 = {
  eq: op(0x5b),
  ne: op(0x5c),
  gt: op(0x5e),
  add: op(0x92),
  mul: op(0x94),
  div: op(0x95),
  convertI32S: op(0xb2),
};
export const f64 = {
  eq: op(0x61),
  ne: op(0x62),
  gt: op(0x64),
  le: op(0x65),
  ge: op(0x66),
  add: op(0xa0),
  sub: op(0xa1),
  div: op(0xa3),
  demoteToF32: op(0xb6),
  promoteF32: op(0xbb),
};
export const f64c = (x: number): Code => [0x44, ...new Uint8Array(new Float64Array([x]).buffer)];
export const select = op(0x1b);

/** A load of natural alignment 2^align: load(address, offset). */
const load =
  (align: number, ...code: number[]) =>
  (address: Code, offset = 0): Code => [operand(address), code, align, uleb(offset)];
/** A store: store(address, value, offset). */
const store =
  (align: number, ...code: number[]) =>
  (address: Code, value: Code, offset = 0): Code => [
    operand(address),
    operand(value),
    code,
    align,
    uleb(offset),
  ];
export const i32load = load(2, 0x28);
export const i32load8U = load(0, 0x2d);
export const f32load = load(2, 0x2a);
export const f64load = load(3, 0x2b);
export const i32store = store(2, 0x36);
export const f64store = store(3, 0x39);
export const i32store8 = store(0, 0x3a);
export const f32store = store(2, 0x38);
export const v128load = load(4, 0xfd, 0);
export const load32Splat = load(2, 0xfd, 9);
export const v128store = store(4, 0xfd, 0x0b);
/** v128.load32_zero: the float at `address` in lane 0, zeros in the others. */
export const load32Zero = load(2, 0xfd, 0x5c);
/** v128.load64_zero: the 8 bytes at `address` in the low half, zeros in the high. */
export const load64Zero = load(3, 0xfd, 0x5d);
/** v128.load32_lane: `v` with the float at `address` in lane `lane`. */
export const load32Lane = (address: Code, v: Code, lane: number): Code => [
  operand(address),
  operand(v),
  [0xfd, 0x56],
  2,
  0,
  lane,
];
export const memoryFill = op(0xfc, 0x0b, 0);
export const memoryCopy = op(0xfc, 0x0a, 0, 0);

export const f32x4 = {
  splat: simd(0x13),
  eq: simd(0x41),
  ne: simd(0x42),
  lt: simd(0x43),
  gt: simd(0x44),
  le: simd(0x45),
  ge: simd(0x46),
  abs: simd(0xe0),
  neg: simd(0xe1),
  sqrt: simd(0xe3),
  add: simd(0xe4),
  sub: simd(0xe5),
  mul: simd(0xe6),
  div: simd(0xe7),
  max: simd(0xe9),
  convertI32x4S: simd(0xfa),
  extractLane: (lane: number, v: Code): Code => simd(0x1f, lane)(v),
};
export const f64x2 = {
  splat: simd(0x14),
  promoteLowF32x4: simd(0x5f),
  lt: simd(0x49),
  ge: simd(0x4c),
  eq: simd(0x47),
  abs: simd(0xec),
  trunc: simd(0x7a),
  add: simd(0xf0),
  sub: simd(0xf1),
  mul: simd(0xf2),
  div: simd(0xf3),
};
/** v128.const of two float64 lanes. */
export const f64x2c = (x: number, y = x): Code => [
  0xfd,
  0x0c,
  ...new Uint8Array(new Float64Array([x, y]).buffer),
];
export const i64x2 = { shl: simd(0xcb) };
export const i32x4 = {
  splat: simd(0x11),
  eq: simd(0x37),
  allTrue: simd(0xa3),
  bitmask: simd(0xa4),
  add: simd(0xae),
  extendLowI16x8U: simd(0xa9),
  extendHighI16x8U: simd(0xaa),
};
/** Saturating narrowings (all-ones and zero lanes stay so) and the byte lanes' sign bits. */
export const i16x8 = {
  narrowI32x4S: simd(0x85),
  extendLowI8x16U: simd(0x89),
  extendHighI8x16U: simd(0x8a),
};
export const i8x16 = { narrowI16x8S: simd(0x65), bitmask: simd(0x64) };
export const v128 = {
  and: simd(0x4e),
  /** a & ~b */
  andnot: simd(0x4f),
  or: simd(0x50),
  xor: simd(0x51),
  bitselect: simd(0x52),
  anyTrue: simd(0x53),
};
/** i8x16.shuffle of the bytes `lanes` (0–31) of a and b. */
export const shuffle = (lanes: readonly number[], a: Code, b: Code): Code =>
  simd(0x0d, ...lanes)(a, b);
/** i8x16.shuffle picking four float lanes (0–7) of a and b. */
export const pick = (lanes: readonly number[], a: Code, b: Code): Code =>
  shuffle(
    lanes.flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3]),
    a,
    b,
  );

/**
 * s + x·y, four lanes: with relaxed SIMD one f32x4.relaxed_madd (fused where
 * the processor has it), else a multiply then an add. Every running sum of
 * the GEMM kernels is written with it, so relaxed SIMD is a flag of the
 * generator and both builds sum in the same order.
 */
export const madd =
  (relaxed: boolean) =>
  (s: Code, x: Code, y: Code): Code =>
    relaxed ? simd(0x105)(x, y, s) : f32x4.add(s, f32x4.mul(x, y));

export const block = (l: unknown, ...c: Code[]): Block => ({ o: 2, l, c });
export const loop = (l: unknown, ...c: Code[]): Block => ({ o: 3, l, c });
export const br = (l: unknown): Branch => ({ b: 0x0c, l });
export const brIf = (l: unknown, cond: Code): Code => [operand(cond), { b: 0x0d, l }];
export const iff = (cond: Code, then: Code, otherwise?: Code): Code => [
  operand(cond),
  otherwise === undefined ? { o: 4, c: then } : { o: 4, c: then, e: otherwise },
];
/** (block (loop (br_if 1 done) body… (br 0))): runs body until `done` holds. */
export const until = (done: Code, ...body: Code[]): Code => {
  const exit = {};
  const again = {};
  return block(exit, loop(again, brIf(exit, done), body, br(again)));
};

/** Value types by letter: i32, i64, f32, f64 (d), v128. */
const TYPES: Record<string, number> = { i: 0x7f, l: 0x7e, f: 0x7d, d: 0x7c, v: 0x7b };
const types = (letters: string): number[] => [...letters].map((t) => TYPES[t]!);

/** A function of a module: exported under `name` unless null. */
export interface Func {
  name: string | null;
  /** Param and result types, one letter each: 'iii' → 'i'. */
  params: string;
  result: string;
  /** Local types after the params, one letter each. */
  locals: string;
  /** The body, given the index of every param and local in order. */
  body: (...at: number[]) => Code;
}

export const func = (
  name: string | null,
  params: string,
  result: string,
  locals: string,
  body: (...at: number[]) => Code,
): Func => ({ name, params, result, locals, body });

const vec = (items: Code[]): Code => [uleb(items.length), items];
const section = (id: number, body: Code): Code => {
  const bytes = flatten(body, [], []);
  return [id, uleb(bytes.length), bytes];
};
const name = (s: string): Code => [uleb(s.length), [...s].map((c) => c.charCodeAt(0))];

/** Pages (64 KiB) a kernel memory may grow to: 4 GiB, wasm32's whole range. */
export const MAX_PAGES = 65536;

/**
 * A module of `funcs` importing the kernels' one memory as `env.memory`
 * (limits flag 3: shared, with a maximum; 1: plain).
 */
export function wasmModule(funcs: readonly Func[], shared: boolean): Uint8Array<ArrayBuffer> {
  const signatures: string[] = [];
  const typeOf = funcs.map((f) => {
    const s = `${f.params}>${f.result}`;
    if (!signatures.includes(s)) signatures.push(s);
    return signatures.indexOf(s);
  });
  const bodies = funcs.map((f) => {
    const runs: Code[] = [];
    for (const m of f.locals.matchAll(/(.)\1*/g)) runs.push([uleb(m[0].length), TYPES[m[1]!]!]);
    const n = f.params.length + f.locals.length;
    const code = flatten(
      [vec(runs), f.body(...Array.from({ length: n }, (_, i) => i)), 0x0b],
      [],
      [],
    );
    return [uleb(code.length), code];
  });
  return Uint8Array.from(
    flatten(
      [
        [0, 0x61, 0x73, 0x6d, 1, 0, 0, 0],
        section(
          1,
          vec(
            signatures.map((s) => {
              const [p, r] = s.split('>');
              return [0x60, vec(types(p!)), vec(types(r!))];
            }),
          ),
        ),
        section(2, vec([[name('env'), name('memory'), 2, shared ? 3 : 1, 1, uleb(MAX_PAGES)]])),
        section(3, vec(typeOf)),
        section(
          7,
          vec(funcs.flatMap((f, i) => (f.name === null ? [] : [[name(f.name), 0, uleb(i)]]))),
        ),
        section(10, vec(bodies)),
      ],
      [],
      [],
    ),
  );
}

/** local += n */
export const inc = (i: number, n: number): Code => set(i, i32.add(get(i), i32c(n)));

/** 4×4 transpose of the vectors in locals q (rows) into q (columns), through locals u. */
export const transpose = (q: readonly number[], u: readonly number[]): Code => {
  const [q0, q1, q2, q3] = q.map(get) as [Code, Code, Code, Code];
  const [u0, u1, u2, u3] = u.map(get) as [Code, Code, Code, Code];
  const lo = [0, 4, 1, 5];
  const hi = [2, 6, 3, 7];
  return [
    set(u[0]!, pick(lo, q0, q1)),
    set(u[1]!, pick(lo, q2, q3)),
    set(u[2]!, pick(hi, q0, q1)),
    set(u[3]!, pick(hi, q2, q3)),
    set(q[0]!, pick([0, 1, 4, 5], u0, u1)),
    set(q[1]!, pick([2, 3, 6, 7], u0, u1)),
    set(q[2]!, pick([0, 1, 4, 5], u2, u3)),
    set(q[3]!, pick([2, 3, 6, 7], u2, u3)),
  ];
};
