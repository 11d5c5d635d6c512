import {
  block,
  brIf,
  type Code,
  f32,
  f32c,
  f32load,
  f32store,
  f32x4,
  func,
  get,
  i32,
  i32c,
  i32load,
  i32store,
  i32x4,
  i32x4c,
  iff,
  inc,
  load32Splat,
  madd,
  memoryCopy,
  memoryFill,
  pick,
  set,
  transpose,
  until,
  v128,
  v128c,
  v128load,
  v128store,
  wasmModule,
} from './emit.js';

/** Rows of A and columns of B in one register tile: MR×NR sums, NR/4 vectors per row. */
const MR = 4;
const NR = 8;
const NV = NR / 4;
const range = (n: number) => [...Array(n).keys()];
const rows = range(MR);
const vecs = range(NV);

/**
 * Dense f32x4 matrix products: every product is taken (no zero is skipped,
 * so NaN and ±∞ propagate as IEEE says), each output summed in float32 over
 * each block of 256 values of k in order from zero (the GEMM's blocks then
 * added in order; a convolution's taps in one run), so a result does not
 * depend on how the work is cut. The MR×NR register tile is unrolled here
 * (a loop over registers does not exist in WebAssembly). Also the
 * convolutions as implicit GEMMs, 2×2 max pooling, and the padding and
 * compaction copies they need.
 *
 * Operands are packed first (GotoBLAS's layout): A into panels of MR rows,
 * B into panels of NR columns, each panel k-major, so the inner loop reads
 * two sequential streams. Callers lay out memory; this module owns none of
 * it: it imports the kernels' one memory (shared, so worker threads run it
 * too). `relaxed`: every multiply-add of a running sum is one
 * f32x4.relaxed_madd (see `madd`).
 */
export function denseBinary(shared: boolean, relaxed: boolean): Uint8Array<ArrayBuffer> {
  const fma = madd(relaxed);

  // dst[r / R][c][r % R] = src[r·srow + c·scol] for r < rows, c < cols (byte
  // strides), rows padded with zeros up to a multiple of R. Whole panels whose
  // rows are adjacent (srow = 4) copy vectors; whole panels whose columns are
  // adjacent (scol = 4) go through 4×4 transposes; the rest, one float at a time.
  const pack = (name: string, R: number) =>
    func(
      name,
      'iiiiii',
      '',
      `iiiiii${'v'.repeat(8)}`,
      (src, nrows, cols, srow, scol, dst, r0, live, c, rr, s, base, ...vs) => {
        const q = vs.slice(0, 4);
        const u = vs.slice(4);
        const groups = range(R / 4);
        const whole = (stride: number) => i32.and(i32.eq(live, i32c(R)), i32.eq(stride, i32c(4)));
        return until(i32.geU(r0, nrows), [
          set(live, i32.sub(nrows, r0)),
          iff(i32.gtU(live, i32c(R)), set(live, i32c(R))),
          set(base, i32.add(src, i32.mul(r0, srow))),
          set(c, i32c(0)),
          iff(
            whole(srow),
            until(i32.geU(c, cols), [
              groups.map((g) => v128store(dst, v128load(base, 16 * g), 16 * g)),
              set(base, i32.add(base, scol)),
              inc(dst, R * 4),
              inc(c, 1),
            ]),
          ),
          iff(
            whole(scol),
            until(i32.gtU(i32.add(c, i32c(4)), cols), [
              groups.map((g) => [
                q.map((x, n) => set(x, v128load(i32.add(base, i32.mul(srow, i32c(4 * g + n)))))),
                transpose(q, u),
                q.map((x, n) => v128store(dst, x, n * R * 4 + 16 * g)),
              ]),
              inc(base, 16),
              inc(dst, 4 * R * 4),
              inc(c, 4),
            ]),
          ),
          until(i32.geU(c, cols), [
            set(s, base),
            set(rr, i32c(0)),
            until(i32.geU(rr, live), [
              f32store(dst, f32load(s)),
              set(s, i32.add(s, srow)),
              inc(dst, 4),
              inc(rr, 1),
            ]),
            until(i32.geU(rr, i32c(R)), [f32store(dst, f32c(0)), inc(dst, 4), inc(rr, 1)]),
            set(base, i32.add(base, scol)),
            inc(c, 1),
          ]),
          inc(r0, R),
        ]);
      },
    );

  /**
   * The register tile's locals (after a function's own): B's NR/4 vectors,
   * A's splat, then the MR×NR/4 sums. `tile(at)` names them from local `at`.
   */
  const TILE = 'v'.repeat(NV + 1 + MR * NV);
  const tile = (at: number) => {
    const b = range(NV).map((v) => at + v);
    const x = at + NV;
    const acc = (r: number, v: number) => at + NV + 1 + r * NV + v;
    // Each part takes the tile's first n rows (all MR, or one for a lone tap).
    const first = (n: number) => rows.slice(0, n);
    return {
      acc,
      zero: (n = MR): Code => first(n).flatMap((r) => vecs.map((v) => set(acc(r, v), v128c()))),
      /** Loads the sums from C at cp (rows ldcb bytes apart), leaving cp where it was. */
      load: (cp: number, ldcb: number, n = MR): Code => [
        first(n).map((r) => [
          vecs.map((v) => set(acc(r, v), v128load(cp, v * 16))),
          set(cp, i32.add(cp, ldcb)),
        ]),
        set(cp, i32.sub(cp, i32.mul(ldcb, i32c(n)))),
      ],
      /** Stores the sums to C at cp, or adds them to what is there (advances cp). */
      store: (cp: number, ldcb: number, add = false, n = MR): Code =>
        first(n).map((r) => [
          vecs.map((v) =>
            v128store(cp, add ? f32x4.add(v128load(cp, v * 16), acc(r, v)) : acc(r, v), v * 16),
          ),
          r < n - 1 ? set(cp, i32.add(cp, ldcb)) : [],
        ]),
      /** One step of k: B's NR values from `loadB(v)` (a vector each), A's MR values from `splatA(r)`. */
      step: (loadB: (v: number) => Code, splatA: (r: number) => Code, n = MR): Code => [
        vecs.map((v) => set(b[v]!, loadB(v))),
        first(n).map((r) => [
          set(x, splatA(r)),
          vecs.map((v) => set(acc(r, v), fma(acc(r, v), x, b[v]!))),
        ]),
      ],
    };
  };

  // C[MR·mp × NR·np] (+)= Apacked · Bpacked over kc steps of k, for mp panels
  // of A (sa bytes apart) and np panels of B (sb bytes apart); C row-major with
  // ldc floats per row, overwritten (acc = 0) or added to (acc = 1: a later
  // block of k, whose float32 sums, started from zero, join the earlier
  // blocks' as one addition each, as ONNX Runtime's kernels sum). Each MR×NR
  // tile of C lives in vector registers for the whole of k; a panel of B
  // stays in cache while every panel of A passes it.
  const tiles = func(
    'tiles',
    'i'.repeat(12),
    '',
    `iiiiiii${TILE}`,
    (mp, np, kc, pa, sa, astep, pb, sb, bstep, c, ldc, acc, i, j, ap, bp, end, cp, ldcb) => {
      const t = tile(ldcb + 1);
      return [
        set(ldcb, i32.shl(ldc, i32c(2))),
        until(i32.geU(j, np), [
          set(i, i32c(0)),
          until(i32.geU(i, mp), [
            set(
              cp,
              i32.add(c, i32.add(i32.mul(i32.mul(i, i32c(MR)), ldcb), i32.mul(j, i32c(NR * 4)))),
            ),
            t.zero(),
            set(ap, i32.add(pa, i32.mul(i, sa))),
            set(bp, i32.add(pb, i32.mul(j, sb))),
            set(end, i32.add(ap, i32.mul(kc, astep))),
            until(i32.geU(ap, end), [
              t.step(
                (v) => v128load(bp, v * 16),
                (r) => load32Splat(ap, r * 4),
              ),
              set(ap, i32.add(ap, astep)),
              set(bp, i32.add(bp, bstep)),
            ]),
            iff(acc, t.store(cp, ldcb, true), t.store(cp, ldcb)),
            inc(i, 1),
          ]),
          inc(j, 1),
        ]),
      ];
    },
  );

  // Convolution of one image with stride 1 along its rows, as an implicit GEMM:
  // C[o, y·NR·rp + t] = Σ_r W[o, r] · X[y·rowstep + t·4 + offs[r]] over the K taps
  // r (offs: each tap's byte offset in the image, channel, row and column
  // folded in), for mp panels of MR packed rows of W. The NR outputs of a panel
  // are NR adjacent columns of one output row, so B's vectors are read straight
  // from the image: no columns are unfolded. rp panels a row; a row's last panel
  // may run past the row's end into columns the caller drops.
  const convRows = func(
    'conv_rows',
    'i'.repeat(11),
    '',
    `${'i'.repeat(10)}${TILE}`,
    (
      mp,
      pa,
      sa,
      K,
      offs,
      img,
      nrows,
      rowstep,
      rp,
      c,
      ldc,
      y,
      t,
      i,
      ap,
      op,
      end,
      cp,
      ldcb,
      xb,
      xo,
    ) => {
      const tl = tile(xo + 1);
      return [
        set(ldcb, i32.shl(ldc, i32c(2))),
        until(i32.geU(y, nrows), [
          set(t, i32c(0)),
          until(i32.geU(t, rp), [
            set(xb, i32.add(img, i32.add(i32.mul(y, rowstep), i32.shl(t, i32c(5))))),
            set(i, i32c(0)),
            until(i32.geU(i, mp), [
              tl.zero(),
              set(ap, i32.add(pa, i32.mul(i, sa))),
              set(op, offs),
              set(end, i32.add(offs, i32.shl(K, i32c(2)))),
              until(i32.geU(op, end), [
                set(xo, i32.add(xb, i32load(op))),
                tl.step(
                  (v) => v128load(xo, v * 16),
                  (r) => load32Splat(ap, r * 4),
                ),
                inc(ap, MR * 4),
                inc(op, 4),
              ]),
              set(
                cp,
                i32.add(
                  c,
                  i32.add(
                    i32.mul(i32.mul(i, i32c(MR)), ldcb),
                    i32.shl(i32.add(i32.mul(y, rp), t), i32c(5)),
                  ),
                ),
              ),
              tl.store(cp, ldcb),
              inc(i, 1),
            ]),
            inc(t, 1),
          ]),
          inc(y, 1),
        ]),
      ];
    },
  );

  // A convolution's weight gradient over one image, transposed:
  // C[r, o] (+)= Σ_(y,x) X[y·rowstep + x·colstep + offs[r]] · U[o, y·ow + x] for
  // the K taps r and output channels o in np panels of NR (U packed by pack_b,
  // panels ub bytes apart). Taps go MR at a time; a last panel of one or two
  // live taps goes a tap at a time (the small CNN's first conv: 25 taps, whose
  // seventh panel of four computed three taps for nothing), three with one
  // tap for nothing (offs padded to a whole panel; its row of C is junk). The
  // sum runs over the output positions in order however the taps are cut;
  // acc = 1 adds to what earlier images left in C, continuing the same float32
  // sums.
  const convGrad = func(
    'conv_grad',
    'i'.repeat(13),
    '',
    `${'i'.repeat(9 + MR)}${TILE}`,
    (
      K,
      offs,
      np,
      pu,
      ub,
      img,
      oh,
      ow,
      rowstep,
      colstep,
      c,
      ldc,
      acc,
      r,
      j,
      y,
      whole,
      xr,
      xe,
      bp,
      cp,
      ldcb,
      ...o
    ) => {
      const tl = tile(ldcb + MR + 1);
      /** Taps r … r + n − 1 against every panel of output channels. */
      const taps = (n: number): Code => [
        range(n).map((q) =>
          set(o[q]!, i32.add(img, i32load(i32.add(offs, i32.shl(r, i32c(2))), q * 4))),
        ),
        set(j, i32c(0)),
        until(i32.geU(j, np), [
          set(cp, i32.add(c, i32.add(i32.mul(r, ldcb), i32.shl(j, i32c(5))))),
          iff(acc, tl.load(cp, ldcb, n), tl.zero(n)),
          set(bp, i32.add(pu, i32.mul(j, ub))),
          set(y, i32c(0)),
          until(i32.geU(y, oh), [
            set(xr, i32.mul(y, rowstep)),
            set(xe, i32.add(xr, i32.mul(ow, colstep))),
            until(i32.geU(xr, xe), [
              tl.step(
                (v) => v128load(bp, v * 16),
                (q) => load32Splat(i32.add(o[q]!, xr)),
                n,
              ),
              inc(bp, NR * 4),
              set(xr, i32.add(xr, colstep)),
            ]),
            inc(y, 1),
          ]),
          tl.store(cp, ldcb, false, n),
          inc(j, 1),
        ]),
        inc(r, n),
      ];
      return [
        set(ldcb, i32.shl(ldc, i32c(2))),
        // Taps in whole panels: K rounded down to a multiple of MR, up when 3 are left.
        set(whole, i32.and(i32.add(K, i32c(1)), i32c(-MR))),
        until(i32.geU(r, whole), taps(MR)),
        until(i32.geU(r, K), taps(1)),
      ];
    },
  );

  // The transposed convolution of one image (conv's input gradient), unit
  // column stride: for NR adjacent positions of an output row and MR taps r,
  // the tile Σ_o W[o, r] · U[o, ·] (the GEMM Wᵀ·U of im2col's columns, k = og
  // output channels, U's rows P floats apart) is added straight into the image
  // at offs[r] from the positions' origin (col2im, fused): rows in order, so
  // taps that overlap add one after another. Only taps r < K are written, and
  // of a row's last, partial panel only its live lanes.
  const convScatter = func(
    'conv_scatter',
    'i'.repeat(11),
    '',
    `${'i'.repeat(11)}${TILE}`,
    (
      _tp,
      K,
      pa,
      sa,
      offs,
      u,
      og,
      oh,
      ow,
      img,
      rowstep,
      y,
      x0,
      live,
      r,
      ap,
      bp,
      ub,
      xb,
      xo,
      o,
      pb,
    ) => {
      const tl = tile(pb + 1);
      /** Adds the tile's row q (NR lanes at xo) into memory, all lanes or the first `live`. */
      const scatterRow = (q: number): Code => {
        const part = {};
        return iff(i32.ltU(i32.add(r, i32c(q)), K), [
          set(xo, i32.add(xb, i32load(i32.add(offs, i32.shl(r, i32c(2))), q * 4))),
          iff(
            i32.eq(live, i32c(NR)),
            vecs.map((v) => v128store(xo, f32x4.add(v128load(xo, v * 16), tl.acc(q, v)), v * 16)),
            block(
              part,
              range(NR).map((l) => [
                brIf(part, i32.leU(live, i32c(l))),
                f32store(
                  xo,
                  f32.add(
                    f32load(xo, l * 4),
                    f32x4.extractLane(l % 4, get(tl.acc(q, Math.floor(l / 4)))),
                  ),
                  l * 4,
                ),
              ]),
            ),
          ),
        ]);
      };
      return [
        set(pb, i32.shl(i32.mul(oh, ow), i32c(2))),
        until(i32.geU(y, oh), [
          set(x0, i32c(0)),
          until(i32.geU(x0, ow), [
            set(live, i32.sub(ow, x0)),
            set(ub, i32.add(u, i32.shl(i32.add(i32.mul(y, ow), x0), i32c(2)))),
            set(xb, i32.add(img, i32.add(i32.mul(y, rowstep), i32.shl(x0, i32c(2))))),
            set(r, i32c(0)),
            until(i32.geU(r, K), [
              tl.zero(),
              set(ap, i32.add(pa, i32.mul(i32.divU(r, i32c(MR)), sa))),
              set(bp, ub),
              set(o, i32c(0)),
              until(i32.geU(o, og), [
                tl.step(
                  (v) => v128load(bp, v * 16),
                  (q) => load32Splat(ap, q * 4),
                ),
                inc(ap, MR * 4),
                set(bp, i32.add(bp, pb)),
                inc(o, 1),
              ]),
              rows.map(scatterRow),
              inc(r, MR),
            ]),
            inc(x0, NR),
          ]),
          inc(y, 1),
        ]),
      ];
    },
  );

  // Max pooling over 2×2 windows at stride 2 (no padding): for each output,
  // the index within its plane of the largest input, the first in row-major
  // window order among ties, a NaN over any number (the first NaN). Four
  // outputs at a time, without a branch on the data; a row's last outputs one
  // at a time. src: planes of h×w; dst: int32 indices, planes of oh×ow.
  const maxpool2 = func(
    'maxpool2',
    'iiiiiii',
    '',
    `iiiiiii${'v'.repeat(11)}ffii`,
    (src, planes, h, w, oh, ow, dst, p, y, t, r0, r1, base, wb, ...rest) => {
      const [a, b, e0, o0, e1, o1, best, bi, m, i0, wv, sv, sb, si, q] = rest as [
        number,
        number,
        number,
        number,
        number,
        number,
        number,
        number,
        number,
        number,
        number,
        number,
        number,
        number,
        number,
      ];
      const ones = i32x4c(1, 1, 1, 1);
      /**
       * Takes candidate v (index vi) over best (index bi) where it is larger, or
       * NaN over a number: where best is a number and v ≤ best is false (v
       * larger, or NaN). Three operations where v > best ∨ (v ≠ v ∧ best = best)
       * took five.
       */
      const better = (v: number, vi: Code): Code => [
        set(m, v128.andnot(f32x4.eq(best, best), f32x4.le(v, best))),
        set(best, v128.bitselect(v, best, m)),
        set(bi, v128.bitselect(vi, bi, m)),
      ];
      const betterScalar = (v: Code, vi: Code): Code => [
        set(sv, v),
        iff(i32.or(f32.gt(sv, sb), i32.and(f32.ne(sv, sv), f32.eq(sb, sb))), [
          set(sb, sv),
          set(si, vi),
        ]),
      ];
      const halves = (row: number, even: number, odd: number): Code => [
        set(a, v128load(row)),
        set(b, v128load(row, 16)),
        set(even, pick([0, 2, 4, 6], a, b)),
        set(odd, pick([1, 3, 5, 7], a, b)),
      ];
      return [
        set(wb, i32.shl(w, i32c(2))),
        set(wv, i32x4.splat(w)),
        until(i32.geU(p, planes), [
          set(y, i32c(0)),
          until(i32.geU(y, oh), [
            set(base, i32.mul(i32.shl(y, i32c(1)), w)),
            set(r0, i32.add(src, i32.shl(i32.add(i32.mul(p, i32.mul(h, w)), base), i32c(2)))),
            set(r1, i32.add(r0, wb)),
            set(t, i32c(0)),
            until(i32.gtU(i32.add(t, i32c(4)), ow), [
              halves(r0, e0, o0),
              halves(r1, e1, o1),
              set(
                i0,
                i32x4.add(i32x4.splat(i32.add(base, i32.shl(t, i32c(1)))), i32x4c(0, 2, 4, 6)),
              ),
              set(best, e0),
              set(bi, i0),
              better(o0, i32x4.add(i0, ones)),
              better(e1, i32x4.add(i0, wv)),
              better(o1, i32x4.add(i32x4.add(i0, wv), ones)),
              v128store(dst, bi),
              inc(dst, 16),
              inc(r0, 32),
              inc(r1, 32),
              inc(t, 4),
            ]),
            until(i32.geU(t, ow), [
              set(q, i32.add(base, i32.shl(t, i32c(1)))),
              set(sb, f32load(r0)),
              set(si, q),
              betterScalar(f32load(r0, 4), i32.add(q, i32c(1))),
              betterScalar(f32load(r1), i32.add(q, w)),
              betterScalar(f32load(r1, 4), i32.add(i32.add(q, w), i32c(1))),
              i32store(dst, si),
              inc(dst, 4),
              inc(r0, 8),
              inc(r1, 8),
              inc(t, 1),
            ]),
            inc(y, 1),
          ]),
          inc(p, 1),
        ]),
      ];
    },
  );

  /**
   * Row-by-row copies between planes of h×w and planes of hp×wp at (top,
   * left): `pad` fills dst with zeros and copies src in (the zero padding a
   * convolution reads, made once per image); `crop` takes the planes back out.
   */
  const planes = (name: 'pad' | 'crop') =>
    func(
      name,
      'i'.repeat(9),
      '',
      'iii',
      (src, nplanes, h1, w1, dst, h2, w2, top, left, p, y, at) => {
        const padding = name === 'pad';
        // pad(src, planes, h, w, dst, hp, wp, …); crop(src, planes, hp, wp, dst, h, w, …)
        const [hp, wp, w] = padding ? [h2, w2, w1] : [h1, w1, w2];
        const [h, big, small] = padding ? [h1, dst, src] : [h2, src, dst];
        const [to, from] = padding ? [at, src] : [dst, at];
        return [
          padding
            ? memoryFill(dst, i32c(0), i32.shl(i32.mul(nplanes, i32.mul(hp, wp)), i32c(2)))
            : [],
          until(i32.geU(p, nplanes), [
            set(
              at,
              i32.add(
                big,
                i32.shl(i32.add(i32.mul(i32.add(i32.mul(p, hp), top), wp), left), i32c(2)),
              ),
            ),
            set(y, i32c(0)),
            until(i32.geU(y, h), [
              memoryCopy(to, from, i32.shl(w, i32c(2))),
              set(small, i32.add(small, i32.shl(w, i32c(2)))),
              set(at, i32.add(at, i32.shl(wp, i32c(2)))),
              inc(y, 1),
            ]),
            inc(p, 1),
          ]),
        ];
      },
    );

  // dst[r, 0..cols) = src[r, 0..cols) for rows of stride wide floats: drops
  // the columns past a row's end that whole panels computed.
  const compact = func('compact', 'iiiii', '', 'i', (src, nrows, cols, wide, dst, r) =>
    until(i32.geU(r, nrows), [
      memoryCopy(dst, src, i32.shl(cols, i32c(2))),
      set(src, i32.add(src, i32.shl(wide, i32c(2)))),
      set(dst, i32.add(dst, i32.shl(cols, i32c(2)))),
      inc(r, 1),
    ]),
  );

  return wasmModule(
    [
      pack('pack_a', MR),
      pack('pack_b', NR),
      tiles,
      convRows,
      convGrad,
      convScatter,
      maxpool2,
      planes('pad'),
      planes('crop'),
      compact,
    ],
    shared,
  );
}
