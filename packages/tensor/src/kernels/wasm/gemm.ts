import {
  type Code,
  f32,
  f32c,
  f32load,
  f32store,
  f32x4,
  func,
  i8x16,
  i16x8,
  i32,
  i32c,
  i32x4,
  i64,
  i64c,
  iff,
  inc,
  load32Splat,
  madd,
  memoryFill,
  select,
  set,
  transpose,
  until,
  v128,
  v128c,
  v128load,
  v128store,
  wasmModule,
} from './emit.js';

/**
 * f32x4 SIMD kernels for the products that dominate training a dense
 * network on images: a batch of mostly-zero inputs against a layer's
 * weights. JS copies operands in and results out. The kernels read the
 * sparse operand (the images) a quad of four values at a time: a quad of
 * zeros (most of an image) costs one load and one test, and a quad with any
 * non-zero is used whole (its zeros add nothing: callers make sure the other
 * operand is finite). No branch depends on a single pixel, and no operand is
 * transposed. `relaxed`: every multiply-add of a running sum is one
 * f32x4.relaxed_madd (see `madd`).
 */
export function gemmBinary(shared: boolean, relaxed: boolean): Uint8Array<ArrayBuffer> {
  const fma = madd(relaxed);
  const zero = (sums: readonly number[]): Code => sums.map((s) => set(s, v128c()));
  const range = (n: number) => [...Array(n).keys()];

  // C[i, j0 .. j0+8) = Σ_p A[i,p] · W[j,p] for m rows of A[m×k] and 8 rows of
  // W[·×k] (k a multiple of 4, both row-major as the caller holds them, so
  // nothing is transposed): each non-zero quad of A's row meets the same quad
  // of the 8 rows of W, into 8 vector sums reduced at the end of the row
  // (8, not 16: sixteen sums and their operands would not fit the registers).
  const nt8 = func(
    'nt8',
    'iiiiii',
    '',
    `iiiiiv${'i'.repeat(8)}${'v'.repeat(8)}`,
    (m, k, a, w, c, ldc, i, q, kb, ai, ci, x, ...rest) => {
      const rows = rest.slice(0, 8);
      const sums = rest.slice(8);
      const lane = (s: number, l: number) => f32x4.extractLane(l, s);
      return [
        set(kb, i32.shl(k, i32c(2))),
        rows.map((r, j) => set(r, i32.add(w, i32.mul(kb, i32c(j))))),
        set(ai, a),
        set(ci, c),
        until(i32.geU(i, m), [
          zero(sums),
          set(q, i32c(0)),
          until(i32.geU(q, kb), [
            set(x, v128load(i32.add(ai, q))),
            iff(
              v128.anyTrue(x),
              sums.map((s, j) => set(s, fma(s, x, v128load(i32.add(rows[j]!, q))))),
            ),
            inc(q, 16),
          ]),
          sums.map((s, j) =>
            f32store(
              ci,
              f32.add(f32.add(lane(s, 0), lane(s, 1)), f32.add(lane(s, 2), lane(s, 3))),
              4 * j,
            ),
          ),
          set(ai, i32.add(ai, kb)),
          set(ci, i32.add(ci, i32.shl(ldc, i32c(2)))),
          inc(i, 1),
        ]),
      ];
    },
  );

  // Which of the 16 float32 values at `at` are not zero (bit l for value l):
  // each quad compared as integers (so -0 and NaN count as values), the
  // four masks narrowed to bytes and their sign bits gathered.
  const nonzero16 = (at: Code): Code => {
    const zeros = (o: number) => i32x4.eq(v128load(at, o), v128c());
    return i32.xor(
      i8x16.bitmask(
        i8x16.narrowI16x8S(
          i16x8.narrowI32x4S(zeros(0), zeros(16)),
          i16x8.narrowI32x4S(zeros(32), zeros(48)),
        ),
      ),
      i32c(0xffff),
    );
  };

  // The mask of the non-zero values of a row's bytes [q, wend) (at most 64
  // values), bit l for the l-th: 16 values at a time, then the quads left of
  // a short row. Leaves q at wend.
  const wordMask = (row: number, q: number, wend: number, mask: number, sh: number): Code[] => [
    set(mask, i64c(0)),
    set(sh, i32c(0)),
    until(i32.gtU(i32.add(q, i32c(64)), wend), [
      set(
        mask,
        i64.or(mask, i64.shl(i64.extendI32U(nonzero16(i32.add(row, q))), i64.extendI32U(sh))),
      ),
      inc(sh, 16),
      inc(q, 64),
    ]),
    until(i32.geU(q, wend), [
      set(
        mask,
        i64.or(
          mask,
          i64.shl(
            i64.extendI32U(
              i32.xor(i32x4.bitmask(i32x4.eq(v128load(i32.add(row, q)), v128c())), i32c(15)),
            ),
            i64.extendI32U(sh),
          ),
        ),
      ),
      inc(sh, 4),
      inc(q, 16),
    ]),
  ];

  // C[j, ·] = Σ_i G[i, j0+j] · X[i, ·] for j < 16: the transposed product
  // Gᵀ·X of G[k×ldg] (16 of its columns) and X[k×n] (n a multiple of 4), into
  // C[16×n], row-major as the caller wants it. Each non-zero quad of X's row
  // adds its 16 multiples, the factors held in registers for the whole row.
  const tn16 = func(
    'tn16',
    'iiiiii',
    '',
    `iiiiiv${'i'.repeat(16)}${'v'.repeat(16)}`,
    (k, n, g, ldg, x, c, i, q, nb, xi, gi, v, ...rest) => {
      const outs = rest.slice(0, 16);
      const factors = rest.slice(16);
      return [
        set(nb, i32.shl(n, i32c(2))),
        memoryFill(c, i32c(0), i32.mul(nb, i32c(16))),
        outs.map((o, j) => set(o, i32.add(c, i32.mul(nb, i32c(j))))),
        set(xi, x),
        set(gi, g),
        until(i32.geU(i, k), [
          factors.map((f, j) => set(f, f32x4.splat(f32load(gi, 4 * j)))),
          set(q, i32c(0)),
          until(i32.geU(q, nb), [
            set(v, v128load(i32.add(xi, q))),
            iff(
              v128.anyTrue(v),
              outs.map((o, j) =>
                v128store(i32.add(o, q), fma(v128load(i32.add(o, q)), v, factors[j]!)),
              ),
            ),
            inc(q, 16),
          ]),
          set(xi, i32.add(xi, nb)),
          set(gi, i32.add(gi, i32.shl(ldg, i32c(2)))),
          inc(i, 1),
        ]),
      ];
    },
  );

  // CT[p, j] = Σ_i G[i, j0+j] · X[i, p] for j < 16: the transposed product
  // Gᵀ·X of G[k×ldg] (16 of its columns) and X[k×n] (n a multiple of 4), into
  // CT[n×16], a row of 16 sums for each column of X (tn_out turns it into
  // C[16×n]). A row of X is read 64 values at a time into a bit mask of its
  // non-zeros, without a branch (most of an image is zeros); each set bit,
  // lowest first, adds its value times G's row (16 values in registers) into
  // its row of CT. Each output is one float32 sum over i in order from zero,
  // a skipped zero adding nothing (callers check G is finite), as the dense
  // kernel sums it.
  const tnCols = func(
    'tn_cols',
    'iiiiii',
    '',
    `${'i'.repeat(8)}l${'v'.repeat(5)}`,
    (k, n, g, ldg, x, ct, i, q, nb, wend, sh, at, bit, cp, mask, xv, ...d) => [
      set(nb, i32.shl(n, i32c(2))),
      memoryFill(ct, i32c(0), i32.shl(n, i32c(6))),
      until(i32.geU(i, k), [
        d.map((v, j) => set(v, v128load(g, 16 * j))),
        set(q, i32c(0)),
        // Words of up to 64 values (256 bytes of the row).
        until(i32.geU(q, nb), [
          set(wend, i32.add(q, i32c(256))),
          iff(i32.gtU(wend, nb), set(wend, nb)),
          set(at, q),
          wordMask(x, q, wend, mask, sh),
          until(i64.eqz(mask), [
            set(bit, i32.add(at, i32.shl(i32.wrapI64(i64.ctz(mask)), i32c(2)))),
            set(mask, i64.and(mask, i64.sub(mask, i64c(1)))),
            set(xv, load32Splat(i32.add(x, bit))),
            set(cp, i32.add(ct, i32.shl(bit, i32c(4)))),
            d.map((v, j) => v128store(cp, fma(v128load(cp, 16 * j), xv, v), 16 * j)),
          ]),
        ]),
        set(x, i32.add(x, nb)),
        set(g, i32.add(g, i32.shl(ldg, i32c(2)))),
        inc(i, 1),
      ]),
    ],
  );

  // C[j, p] = CT[p, j] for j < 16 and p < n (a multiple of 4), C with ldc
  // floats a row: 4×4 transposes. acc = 1 adds them to what C holds (a later
  // block of k's sums joining the earlier ones).
  const tnOut = func(
    'tn_out',
    'iiiii',
    '',
    `iii${'v'.repeat(8)}`,
    (ct, n, c, ldc, acc, p, j, to, ...vs) => {
      const q = vs.slice(0, 4);
      const u = vs.slice(4);
      return until(i32.geU(p, n), [
        set(j, i32c(0)),
        until(i32.geU(j, i32c(16)), [
          // Columns j .. j+3 of rows p .. p+3 of CT.
          q.map((v, r) =>
            set(
              v,
              v128load(
                i32.add(i32.add(ct, i32.shl(i32.add(p, i32c(r)), i32c(6))), i32.shl(j, i32c(2))),
              ),
            ),
          ),
          transpose(q, u),
          q.map((v, r) => [
            set(to, i32.add(c, i32.shl(i32.add(i32.mul(i32.add(j, i32c(r)), ldc), p), i32c(2)))),
            iff(acc, v128store(to, f32x4.add(v128load(to), v)), v128store(to, v)),
          ]),
          inc(j, 4),
        ]),
        inc(p, 4),
      ]);
    },
  );

  // C[m×16] = A[m×k] · P[k×16] for a 16-wide panel P of B's columns, as B
  // holds them when the weights are stored [in, out]: each value of a
  // non-zero quad of A's row scales a 16-wide row of the panel into vector
  // sums (odd lanes into a second set, halving chains of dependent adds).
  const ab16 = func(
    'ab16',
    'iiiii',
    '',
    `iiiifvv${'v'.repeat(8)}`,
    (m, k, a, bt, c, i, ap, end, q, v, vv, x, ...sums) => {
      const s = sums.slice(0, 4);
      const t = sums.slice(4);
      return [
        set(ap, a),
        until(i32.geU(i, m), [
          zero(sums),
          set(end, i32.add(ap, i32.shl(k, i32c(2)))),
          set(q, bt),
          until(i32.geU(ap, end), [
            set(x, v128load(ap)),
            iff(
              v128.anyTrue(x),
              range(4).map((l) => [
                set(v, f32x4.extractLane(l, x)),
                set(vv, f32x4.splat(v)),
                (l % 2 ? t : s).map((acc, j) =>
                  set(acc, fma(acc, vv, v128load(q, 64 * l + 16 * j))),
                ),
              ]),
            ),
            inc(ap, 16),
            inc(q, 256),
          ]),
          set(q, i32.add(c, i32.shl(i, i32c(6)))),
          s.map((acc, j) => v128store(q, f32x4.add(acc, t[j]!), 16 * j)),
          inc(i, 1),
        ]),
      ];
    },
  );

  // C[i, 0 .. 16) = Σ_p A[i,p] · P[p, 0 .. 16) for m rows of A (k floats a row,
  // k a multiple of 4) against a panel P[k×16] of B's columns, into C with
  // ldc floats a row. A row is read 64 values at a time into a bit mask of
  // its non-zeros, without a branch (most of an image is zeros); then each
  // set bit, lowest first, adds its value times P's row into 16 sums held in
  // registers: a branch per 64 values, not per value, and no product with a
  // zero (a row of at most 64 values, a hidden layer's, is taken whole: see
  // below). Each output is summed in float32 exactly as the dense kernel sums
  // it: each block of 256 values of k in order from zero, the blocks' sums
  // added in order (a skipped product is a zero, which changes no sum:
  // callers check P is finite), so which of the two kernels runs never
  // changes a bit. 16 floats of each row are stored: a narrower C's spill
  // into the next row is overwritten by it, so callers go through panels
  // right to left and leave 16 floats of room after the last row. tot: 64
  // bytes of scratch for a row's totals over the blocks of k done so far.
  const rows16 = func(
    'rows16',
    'iiiiiii',
    '',
    `${'i'.repeat(11)}lv${'v'.repeat(4)}`,
    (
      m,
      k,
      a,
      p,
      c,
      ldc,
      tot,
      i,
      kb,
      ldcb,
      q,
      bend,
      wend,
      sh,
      at,
      pq,
      bit,
      wp,
      mask,
      x,
      ...sums
    ) => [
      set(kb, i32.shl(k, i32c(2))),
      set(ldcb, i32.shl(ldc, i32c(2))),
      until(i32.geU(i, m), [
        range(4).map((j) => v128store(tot, v128c(), 16 * j)),
        set(q, i32c(0)),
        // Blocks of 256 values of k (1 KB of a row), each of up to four words of 64.
        until(i32.geU(q, kb), [
          zero(sums),
          set(bend, i32.add(q, i32c(1024))),
          iff(i32.gtU(bend, kb), set(bend, kb)),
          until(i32.geU(q, bend), [
            set(wend, i32.add(q, i32c(256))),
            iff(i32.gtU(wend, bend), set(wend, bend)),
            set(at, i32.add(a, q)),
            set(pq, i32.add(p, i32.shl(q, i32c(4)))),
            // A row of at most 64 values (a hidden layer's activations, about half
            // zeros after ReLU): every value, zero or not, in a loop of fixed length
            // (a zero adds ±0, which changes no sum); a branch on which are non-zero
            // would be mispredicted once a row.
            iff(
              i32.leU(kb, i32c(256)),
              [
                set(wp, pq),
                until(i32.geU(q, wend), [
                  set(x, load32Splat(i32.add(a, q))),
                  sums.map((s, j) => set(s, fma(s, x, v128load(wp, 16 * j)))),
                  inc(q, 4),
                  inc(wp, 64),
                ]),
              ],
              [
                wordMask(a, q, wend, mask, sh),
                until(i64.eqz(mask), [
                  set(bit, i32.wrapI64(i64.ctz(mask))),
                  set(mask, i64.and(mask, i64.sub(mask, i64c(1)))),
                  set(x, load32Splat(i32.add(at, i32.shl(bit, i32c(2))))),
                  set(wp, i32.add(pq, i32.shl(bit, i32c(6)))),
                  sums.map((s, j) => set(s, fma(s, x, v128load(wp, 16 * j)))),
                ]),
              ],
            ),
          ]),
          sums.map((s, j) => v128store(tot, f32x4.add(v128load(tot, 16 * j), s), 16 * j)),
        ]),
        range(4).map((j) => v128store(c, v128load(tot, 16 * j), 16 * j)),
        set(c, i32.add(c, ldcb)),
        set(a, i32.add(a, kb)),
        inc(i, 1),
      ]),
    ],
  );

  // P[p, j - j0] = B[j·k + p] (trans = 1: B is n×k, as a layer's weights) or
  // B[p·n + j] (trans = 0: B is k×n), for p < k and j0 ≤ j < min(n, j0 + 16),
  // as rows of 16 floats; the other columns, and rows k ≤ p < k4, are zeros.
  // Four rows of a transposed B at a time go through 4×4 transposes. Returns
  // whether every value read is finite (1) or some is NaN or ±∞ (0), checked
  // by adding x·0 (0 for finite x, NaN otherwise, and NaN sticks), on the
  // way through: the panels read all of B once.
  const panel16 = func(
    'panel16',
    'iiiiiii',
    'i',
    `iiiiiiif${'v'.repeat(9)}`,
    (b, n, k, k4, trans, j0, dst, p, j, jn, kb, r, to, end, t, fin, ...vs) => {
      const q = vs.slice(0, 4);
      const u = vs.slice(4);
      /** Row `n` of the four from r: r + n·kb. */
      const row = (n: number) =>
        n === 0
          ? r
          : i32.add(r, n === 1 ? kb : n === 2 ? i32.shl(kb, i32c(1)) : i32.mul(kb, i32c(3)));
      const column = set(to, i32.add(dst, i32.shl(i32.sub(j, j0), i32c(2))));
      /** t += x·0 for a value read one at a time (NaN for NaN and ±∞, which sticks). */
      const check = (x: Code): Code => set(t, f32.add(t, f32.mul(x, f32c(0))));
      return [
        set(jn, select(n, i32.add(j0, i32c(16)), i32.ltU(n, i32.add(j0, i32c(16))))),
        // Zeros where no value of B goes: every column of a narrow panel, else the padding rows.
        iff(
          i32.ltU(i32.sub(jn, j0), i32c(16)),
          memoryFill(dst, i32c(0), i32.shl(k4, i32c(6))),
          memoryFill(i32.add(dst, i32.shl(k, i32c(6))), i32c(0), i32.shl(i32.sub(k4, k), i32c(6))),
        ),
        set(kb, i32.shl(k, i32c(2))),
        set(j, j0),
        // A transposed B: four values of k at a time, every group of four rows
        // of B in turn, so that each row of the panel is written whole at once.
        iff(trans, [
          set(p, i32c(0)),
          until(i32.gtU(i32.add(p, i32c(4)), k), [
            set(j, j0),
            until(i32.gtU(i32.add(j, i32c(4)), jn), [
              set(r, i32.add(b, i32.add(i32.mul(j, kb), i32.shl(p, i32c(2))))),
              set(to, i32.add(dst, i32.add(i32.shl(i32.sub(j, j0), i32c(2)), i32.shl(p, i32c(6))))),
              q.map((x, n) => set(x, v128load(row(n)))),
              // One sum of four joins the running one: no chain of four dependent adds.
              set(
                fin,
                f32x4.add(
                  fin,
                  f32x4.add(
                    f32x4.add(f32x4.mul(q[0]!, v128c()), f32x4.mul(q[1]!, v128c())),
                    f32x4.add(f32x4.mul(q[2]!, v128c()), f32x4.mul(q[3]!, v128c())),
                  ),
                ),
              ),
              transpose(q, u),
              q.map((x, n) => v128store(to, x, 64 * n)),
              inc(j, 4),
            ]),
            inc(p, 4),
          ]),
          // The last k mod 4 columns of the groups of four rows, one at a time.
          set(j, j0),
          until(i32.gtU(i32.add(j, i32c(4)), jn), [
            set(r, i32.add(b, i32.add(i32.mul(j, kb), i32.shl(p, i32c(2))))),
            set(to, i32.add(dst, i32.add(i32.shl(i32.sub(j, j0), i32c(2)), i32.shl(p, i32c(6))))),
            set(end, i32.add(to, i32.shl(i32.sub(k, p), i32c(6)))),
            until(i32.geU(to, end), [
              range(4).map((n) => [
                f32store(to, f32load(row(n)), 4 * n),
                check(f32load(to, 4 * n)),
              ]),
              inc(r, 4),
              inc(to, 64),
            ]),
            inc(j, 4),
          ]),
        ]),
        // What is left (rows of a transposed B past the last group of four, or
        // all of an untransposed B), one value at a time.
        until(i32.geU(j, jn), [
          set(p, i32c(0)),
          column,
          until(i32.geU(p, k), [
            f32store(
              to,
              f32load(
                i32.add(
                  b,
                  i32.shl(
                    select(i32.add(i32.mul(j, k), p), i32.add(i32.mul(p, n), j), trans),
                    i32c(2),
                  ),
                ),
              ),
            ),
            check(f32load(to)),
            inc(to, 64),
            inc(p, 1),
          ]),
          inc(j, 1),
        ]),
        i32.and(i32x4.allTrue(i32x4.eq(fin, v128c())), f32.eq(t, f32c(0))),
      ];
    },
  );

  // dst[i] += src[i] for i < count, a multiple of 4: a later block of k's sums
  // joining the earlier ones.
  const add = func('add', 'iii', '', 'i', (dst, src, count, end) => [
    set(end, i32.add(dst, i32.shl(count, i32c(2)))),
    until(i32.geU(dst, end), [
      v128store(dst, f32x4.add(v128load(dst), v128load(src))),
      inc(dst, 16),
      inc(src, 16),
    ]),
  ]);

  return wasmModule([nt8, tn16, ab16, rows16, panel16, add, tnCols, tnOut], shared);
}
