import type { ConvGeometry } from './conv.js';
import { denseAvailable, heap, MR, NR } from './dense.js';
import { pointerOf } from './memory.js';
import {
  type Lane,
  maxParts,
  onceRegistered,
  parallel,
  registerFunction,
  share,
} from './threads.js';
import {
  f32x4,
  func,
  get,
  i32,
  i32c,
  inc,
  memoryFill,
  set,
  until,
  v128load,
  v128store,
} from './wasm/emit.js';

/**
 * Float32 convolutions on the dense WebAssembly SIMD kernels, as implicit
 * GEMMs: the register tile reads the (zero-padded) image in place through a
 * table of tap offsets, so no im2col columns are written or read back.
 *
 * - forward, unit column stride: 8 adjacent outputs of a row are one vector
 *   of the image per tap;
 * - the transposed convolution (conv's input gradient), unit strides: the
 *   forward kernel over the zero-padded output gradient with the weights
 *   flipped and their channel axes swapped;
 * - the weight gradient, any stride: 4 taps × 8 output channels a tile (a
 *   last one or two taps one at a time), summed over output positions, images in order, in up to 16 runs of images
 *   (whatever the thread count) whose sums are added in order.
 * Each returns null for a geometry it does not cover, and the caller keeps
 * its own path. Every output is a float32 sum in a fixed order, so the same
 * inputs give the same bits.
 */
/** The geometry of conv.ts: that of y = conv(x, w), whichever of the three is computed. */
export type Geometry = ConvGeometry;

type F32Kernel = (out: Float32Array, a: Float32Array, b: Float32Array) => void;

const up = (v: number, m: number) => Math.ceil(v / m) * m;

/**
 * A region's float offset, rounded up to a cache line (16 floats): the
 * images' rows are then read from the same offsets within lines as a pinned
 * array's (64-byte aligned). The small CNN's input, copied in 25 floats past
 * a line (after the 25 tap offsets), made its first convolution ~6% slower.
 */
const line = (v: number) => up(v, 16);

/**
 * Extent of an axis with its padding: `before` zeros, the input, and zeros
 * after as far as the last window reaches (padding may be uneven, as 'same'
 * with an even kernel makes it).
 */
function paddedSize(n: number, before: number, out: number, s: number, k: number, d: number) {
  return Math.max(before + n, (out - 1) * s + (k - 1) * d + 1);
}

/** Byte offsets of the taps (c, i, j) of `channels` planes of hp×wp, in weight order. */
function tapOffsets(
  channels: number,
  kh: number,
  kw: number,
  dh: number,
  dw: number,
  hp: number,
  wp: number,
  count: number,
): Int32Array {
  const offs = new Int32Array(count);
  let r = 0;
  for (let c = 0; c < channels; c++)
    for (let i = 0; i < kh; i++)
      for (let j = 0; j < kw; j++) offs[r++] = (c * hp * wp + i * dh * wp + j * dw) * 4;
  return offs;
}

/** Tap indices (c, i, j) of weight order, listed as (i, j, c): channels fastest. */
function tapsChannelsFastest(channels: number, kh: number, kw: number): Int32Array {
  const order = new Int32Array(channels * kh * kw);
  let r = 0;
  for (let i = 0; i < kh; i++)
    for (let j = 0; j < kw; j++)
      for (let c = 0; c < channels; c++) order[r++] = (c * kh + i) * kw + j;
  return order;
}

/**
 * Runs `conv_rows` for every image and group: `pa` holds each group's packed
 * weights (mp panels of K taps), `src` the padded planes (`planes` per image,
 * `inPlane` floats each), and the result [n, outC, rows, cols] lands at `dst`.
 */
interface RowsPlan {
  readonly n: number;
  readonly groups: number;
  /** Output channels per group (rows of the packed weights), and panels of them. */
  readonly og: number;
  readonly K: number;
  readonly planesPerGroup: number;
  readonly planesPerImage: number;
  readonly inPlane: number;
  readonly rows: number;
  readonly cols: number;
  readonly rowstep: number;
  readonly colsPadded: number;
}

/**
 * [from, to) of part t of `count` images cut into `parts` runs, in order,
 * longest at both ends and shortest in the middle (sizes in proportion to
 * 1 + h − min(t, parts − 1 − t), h = ⌊(parts − 1) / 2⌋). The caller claims
 * parts from the front while the workers claim them from the back
 * (threads.ts): the last parts taken meet in the middle, so whichever thread
 * finishes first waits for a short one. Equal runs of 4 images of the small
 * CNN left one thread idle for about half a run at the end of every pass.
 */
export function taper(count: number, t: number, parts: number): [number, number] {
  const h = (parts - 1) >> 1;
  const weight = (s: number) => 1 + h - Math.min(s, parts - 1 - s);
  let before = 0;
  let total = 0;
  for (let s = 0; s < parts; s++) {
    if (s === t) before = total;
    total += weight(s);
  }
  const end = before + weight(t);
  return [Math.floor((count * before) / total), Math.floor((count * end) / total)];
}

/** Runs `conv_rows` for images [b0, b1), every group, through `lane`. */
function runRows(
  lane: Lane,
  p: RowsPlan,
  b0: number,
  b1: number,
  pa: number,
  offs: number,
  src: number,
  scratch: number,
  dst: number,
): void {
  const mp = Math.ceil(p.og / MR);
  const sa = MR * p.K * 4;
  const plane = p.rows * p.cols;
  // Straight into the result when whole tiles fit it; else through scratch.
  const direct = p.og % MR === 0 && p.colsPadded === p.cols;
  const outC = p.og * p.groups;
  for (let b = b0; b < b1; b++) {
    for (let q = 0; q < p.groups; q++) {
      const img = src + (b * p.planesPerImage + q * p.planesPerGroup) * p.inPlane * 4;
      const out = dst + (b * outC + q * p.og) * plane * 4;
      const wq = pa + q * mp * sa;
      const rp = p.colsPadded / NR;
      if (direct) {
        lane.call('conv_rows', mp, wq, sa, p.K, offs, img, p.rows, p.rowstep, rp, out, plane);
      } else {
        const ldc = p.rows * p.colsPadded;
        lane.call('conv_rows', mp, wq, sa, p.K, offs, img, p.rows, p.rowstep, rp, scratch, ldc);
        lane.call('compact', scratch, p.og * p.rows, p.cols, p.colsPadded, out);
      }
    }
  }
}

/** y = conv(x, w) for unit column stride; null otherwise. */
export function wasmConvForward(g: Geometry): F32Kernel | null {
  if (g.sw !== 1 || !denseAvailable()) return null;
  const { n: N, c: C, h: H, w: W, o: O, oh: OH, ow: OW, groups } = g;
  const cg = C / groups;
  const og = O / groups;
  const K = cg * g.kh * g.kw;
  const owp = up(OW, NR);
  const hp = paddedSize(H, g.ph, OH, g.sh, g.kh, g.dh);
  const wp = Math.max(paddedSize(W, g.pw, OW, 1, g.kw, g.dw), owp + (g.kw - 1) * g.dw);
  const padded = hp !== H || wp !== W;
  const offs = tapOffsets(cg, g.kh, g.kw, g.dh, g.dw, hp, wp, K);
  const mp = Math.ceil(og / MR);
  const plan: RowsPlan = {
    n: N,
    groups,
    og,
    K,
    planesPerGroup: cg,
    planesPerImage: C,
    inPlane: hp * wp,
    rows: OH,
    cols: OW,
    rowstep: g.sh * wp * 4,
    colsPadded: owp,
  };
  const scratch = line(mp * MR * OH * owp + 2 * NR);
  const inImage = C * H * W;
  const outImage = O * OH * OW;
  return (y, x, wt) => {
    const h = heap()!;
    // Float offsets of the regions, laid out from the scratch region's start
    // at each call (blocks below it may come and go); a scratch region per part.
    const oW = h.arena.start;
    const oPA = line(oW + O * K);
    const oOffs = line(oPA + groups * mp * MR * K);
    const oX = line(oOffs + K);
    const oXP = line(oX + N * C * H * W);
    const oY = line(oXP + (padded ? N * C * hp * wp : 0));
    const end = line(oY + N * O * OH * OW);
    const f = h.reserve(end + maxParts() * scratch);
    const k = h.kernels;
    f.set(wt, oW);
    for (let q = 0; q < groups; q++) {
      k.pack_a((oW + q * og * K) * 4, og, K, K * 4, 4, (oPA + q * mp * MR * K) * 4);
    }
    new Int32Array(f.buffer, oOffs * 4, K).set(offs);
    // x and y in the kernels' memory (a compiled plan's) are read and written
    // in place; else each part copies its images in and its results out.
    const px = pointerOf(x);
    const py = pointerOf(y);
    const xAt = px >= 0 ? px : oX * 4;
    const yAt = py >= 0 ? py : oY * 4;
    // Parts take runs of images: each pads its own.
    parallel(
      N * O * OH * OW * K,
      (lane, t, parts) => {
        const [b0, b1] = taper(N, t, parts);
        if (b0 === b1) return;
        if (px < 0) f.set(x.subarray(b0 * inImage, b1 * inImage), oX + b0 * inImage);
        if (padded) {
          const from = xAt + b0 * inImage * 4;
          const to = (oXP + b0 * C * hp * wp) * 4;
          lane.call('pad', from, (b1 - b0) * C, H, W, to, hp, wp, g.ph, g.pw);
        }
        const src = padded ? oXP * 4 : xAt;
        const sc = (end + t * scratch) * 4;
        runRows(lane, plan, b0, b1, oPA * 4, oOffs * 4, src, sc, yAt);
      },
      py >= 0
        ? undefined
        : (t, parts) => {
            const [b0, b1] = taper(N, t, parts);
            y.set(f.subarray(oY + b0 * outImage, oY + b1 * outImage), b0 * outImage);
          },
    );
  };
}

/**
 * The transposed convolution of the geometry (x-shaped result from a
 * y-shaped u), for unit column stride: per image, tiles of the GEMM Wᵀ·U
 * added straight into the (padded) result; null for other strides.
 */
export function wasmConvTranspose(g: Geometry): F32Kernel | null {
  if (g.sw !== 1 || !denseAvailable()) return null;
  const { n: N, c: C, h: H, w: W, o: O, oh: OH, ow: OW, groups } = g;
  const cg = C / groups;
  const og = O / groups;
  const K = cg * g.kh * g.kw;
  const K4 = up(K, MR);
  const P = OH * OW;
  const hp = paddedSize(H, g.ph, OH, g.sh, g.kh, g.dh);
  const wp = paddedSize(W, g.pw, OW, 1, g.kw, g.dw);
  const padded = hp !== H || wp !== W;
  // Taps ordered (i, j, c), channels fastest: the MR rows of a tile then add
  // into MR different planes. In weight order (c, i, j) they are MR adjacent
  // columns of one row, each load overlapping the previous row's store by all
  // but 4 bytes, and every such load waited for that store to reach the cache
  // (about a quarter of the kernel's time). A position's own taps (one channel)
  // keep their order, so each sum is the same.
  const order = tapsChannelsFastest(cg, g.kh, g.kw);
  const weightOrder = tapOffsets(cg, g.kh, g.kw, g.dh, g.dw, hp, wp, K);
  const offs = new Int32Array(K4);
  for (let r = 0; r < K; r++) offs[r] = weightOrder[order[r]!]!;
  const sa = MR * og * 4;
  const inImage = C * H * W;
  const outImage = O * P;
  const padImage = C * hp * wp;
  return (x, u, wt) => {
    const h = heap()!;
    const oW = h.arena.start;
    const oPA = line(oW + O * K);
    const oOffs = line(oPA + groups * K4 * og);
    const oU = line(oOffs + K4);
    // A row's last panel reads up to 7 floats past the gradient's end.
    const oX = line(oU + N * O * P + NR);
    const oXC = line(oX + N * C * hp * wp);
    const end = oXC + (padded ? N * C * H * W : 0);
    const f = h.reserve(end);
    const k = h.kernels;
    for (let o = 0; o < O; o++) {
      const row = o * K;
      for (let r = 0; r < K; r++) f[oW + row + r] = wt[row + order[r]!]!;
    }
    // Taps as rows: element (r, o) of group q's Wᵀ is w[q·og + o, r].
    for (let q = 0; q < groups; q++) {
      k.pack_a((oW + q * og * K) * 4, K, og, 4, K * 4, (oPA + q * K4 * og) * 4);
    }
    new Int32Array(f.buffer, oOffs * 4, K4).set(offs);
    // The result's images, cropped where padded (else padImage is inImage).
    const from = padded ? oXC : oX;
    // u and x in the kernels' memory (a compiled plan's) are read and written
    // in place (a row's last panel may read past u's end: other arrays or the
    // scratch, into lanes that are dropped); else copied in and out by part.
    const pu = pointerOf(u);
    const px = pointerOf(x);
    const uAt = pu >= 0 ? pu : oU * 4;
    const inPlace = !padded && px >= 0;
    const acc = inPlace ? px : oX * 4; // where the images' sums are made
    const cropAt = px >= 0 ? px : oXC * 4;
    // Parts take runs of images: each image's result is its own region.
    const part = (lane: Lane, t: number, parts: number) => {
      const [b0, b1] = taper(N, t, parts);
      if (b0 === b1) return;
      if (pu < 0) f.set(u.subarray(b0 * outImage, b1 * outImage), oU + b0 * outImage);
      // The images' sums start at zero: zeroed on the thread that makes them.
      const zero = zeroing();
      const z = acc + b0 * padImage * 4;
      if (zero !== null) lane.call(zero, z, (b1 - b0) * padImage * 4);
      else f.fill(0, z / 4, z / 4 + (b1 - b0) * padImage);
      for (let b = b0; b < b1; b++) {
        for (let q = 0; q < groups; q++) {
          const img = acc + (b * padImage + q * cg * hp * wp) * 4;
          const ub = uAt + (b * O + q * og) * P * 4;
          const pa = (oPA + q * K4 * og) * 4;
          lane.call(
            'conv_scatter',
            K4 / MR,
            K,
            pa,
            sa,
            oOffs * 4,
            ub,
            og,
            OH,
            OW,
            img,
            g.sh * wp * 4,
          );
        }
      }
      if (padded) {
        const at = (oX + b0 * padImage) * 4;
        lane.call('crop', at, (b1 - b0) * C, hp, wp, cropAt + b0 * inImage * 4, H, W, g.ph, g.pw);
      }
    };
    const collect = (t: number, parts: number) => {
      const [b0, b1] = taper(N, t, parts);
      x.set(f.subarray(from + b0 * inImage, from + b1 * inImage), b0 * inImage);
    };
    parallel(N * C * H * W * O * g.kh * g.kw, part, px >= 0 ? undefined : collect);
  };
}

/** f(dst, bytes): zeroes `bytes` bytes from dst. */
const zeroFunction = func('f', 'ii', '', '', (dst, bytes) => [
  memoryFill(get(dst!), i32c(0), get(bytes!)),
]);

/** The number `register` gave zeroFunction; null where it cannot run (then this thread zeroes). */
const zeroing = onceRegistered(() => registerFunction(zeroFunction));

/**
 * Images per part of a weight gradient: the images are cut into this many
 * runs whatever the thread count, each run's gradient summed on its own and
 * the runs' gradients then added in order, so results are the same bits for
 * every thread count. 16: on 2 threads the last run a thread waits for is
 * one of the small CNN's 64 images (8 equal runs of 8 left one thread idle
 * ~10% of the pass); adding 16 runs' gradients costs a few microseconds.
 */
const IMAGE_RUNS = 16;

/**
 * f(src, runs, stride, bytes, dst): dst[i] = src[i] + src[i + stride] + …
 * over `runs` arrays `stride` bytes apart, added in order, four floats at a
 * time (`bytes` a multiple of 16): the float32 sums JavaScript's float32
 * arrays round to, so the same bits. dst may be src.
 */
const sumRunsFunction = func(
  'f',
  'iiiii',
  '',
  'iiiv',
  (src, runs, stride, bytes, dst, i, r, p, acc) =>
    until(i32.geU(i, bytes), [
      set(p, i32.add(src, i)),
      set(acc, v128load(p)),
      set(r, i32c(1)),
      until(i32.geU(r, runs), [
        set(p, i32.add(p, stride)),
        set(acc, f32x4.add(acc, v128load(p))),
        inc(r, 1),
      ]),
      v128store(i32.add(dst, i), acc),
      inc(i, 16),
    ]),
);

/** The number `register` gave sumRunsFunction; null where it cannot run (then JavaScript adds). */
const sumRuns = onceRegistered(() => registerFunction(sumRunsFunction));

/** The weight gradient of the geometry (w-shaped, from x and a y-shaped u); null without the kernels. */
export function wasmConvWeight(g: Geometry): F32Kernel | null {
  if (!denseAvailable()) return null;
  const { n: N, c: C, h: H, w: W, o: O, oh: OH, ow: OW, groups } = g;
  const cg = C / groups;
  const og = O / groups;
  const K = cg * g.kh * g.kw;
  const K4 = up(K, MR);
  const og8 = up(og, NR);
  const P = OH * OW;
  const hp = paddedSize(H, g.ph, OH, g.sh, g.kh, g.dh);
  const wp = paddedSize(W, g.pw, OW, g.sw, g.kw, g.dw);
  const padded = hp !== H || wp !== W;
  // Taps past K (to fill the last panel) read the image's first value into rows that are dropped.
  const offs = tapOffsets(cg, g.kh, g.kw, g.dh, g.dw, hp, wp, K4);
  const runs = Math.min(N, IMAGE_RUNS);
  // Runs tapered as taper cuts parts (on 2 threads each part is one run, and
  // the last two taken are one image each), where no run is left empty; else equal.
  const tapered = Array.from({ length: runs }, (_, r) => taper(N, r, runs));
  const runOf = tapered.every(([a, b]) => b > a)
    ? (r: number) => tapered[r]!
    : (r: number) => share(N, r, runs);
  const inImage = C * H * W;
  const padImage = C * hp * wp;
  const outImage = O * P;
  const packedImage = groups * og8 * P;
  const runGrad = groups * K4 * og8;
  const np = og8 / NR;
  const sum = new Float32Array(runGrad);
  return (dw, x, u) => {
    if (N === 0) {
      dw.fill(0); // a sum over no images
      return;
    }
    const h = heap()!;
    // Float offsets of the regions, from the scratch region's start.
    const oOffs = h.arena.start;
    const oX = line(oOffs + K4);
    const oXP = line(oX + N * inImage);
    const oU = line(oXP + (padded ? N * padImage : 0));
    const oPU = line(oU + N * outImage);
    // One gradient per run of images: the runs' sums, added in order at the end.
    const oG = line(oPU + runs * packedImage);
    const end = oG + runs * runGrad;
    const f = h.reserve(end);
    new Int32Array(f.buffer, oOffs * 4, K4).set(offs);
    // x and u in the kernels' memory (a compiled plan's) are read in place.
    const px = pointerOf(x);
    const pu = pointerOf(u);
    const xAt = px >= 0 ? px : oX * 4;
    const uAt = pu >= 0 ? pu : oU * 4;
    const src = padded ? oXP * 4 : xAt;
    // Parts take runs of images: each copies its images in, pads and packs them.
    parallel(N * O * P * K, (lane, t, parts) => {
      const [r0, r1] = share(runs, t, parts);
      if (r0 === r1) return;
      const b0 = runOf(r0)[0];
      const b1 = runOf(r1 - 1)[1];
      if (px < 0) f.set(x.subarray(b0 * inImage, b1 * inImage), oX + b0 * inImage);
      if (pu < 0) f.set(u.subarray(b0 * outImage, b1 * outImage), oU + b0 * outImage);
      if (padded) {
        const from = xAt + b0 * inImage * 4;
        const to = (oXP + b0 * padImage) * 4;
        lane.call('pad', from, (b1 - b0) * C, H, W, to, hp, wp, g.ph, g.pw);
      }
      for (let run = r0; run < r1; run++) {
        const [c0, c1] = runOf(run);
        for (let b = c0; b < c1; b++) {
          for (let q = 0; q < groups; q++) {
            // One image's packed gradient a run, reused image after image:
            // it stays in cache instead of a whole batch of it streaming out.
            const packed = (oPU + run * packedImage + q * og8 * P) * 4;
            lane.call('pack_b', uAt + (b * outImage + q * og * P) * 4, og, P, P * 4, 4, packed);
            const img = src + (b * padImage + q * cg * hp * wp) * 4;
            const out = (oG + run * runGrad + q * K4 * og8) * 4;
            lane.call(
              'conv_grad',
              K,
              oOffs * 4,
              np,
              packed,
              P * NR * 4,
              img,
              OH,
              OW,
              g.sh * wp * 4,
              g.sw * 4,
              out,
              og8,
              b > c0 ? 1 : 0,
            );
          }
        }
      }
    });
    // The runs' gradients added in order (float32 sums), into the first run's
    // place (a few microseconds: below the work that wakes a worker)...
    const id = sumRuns();
    let total: Float32Array = f;
    let at = oG;
    if (id !== null) {
      parallel(runs * runGrad, (lane, t, parts) => {
        // Parts (where tests cut even this small) take runs of vectors.
        const [v0, v1] = share(runGrad / 4, t, parts);
        const from = (oG + 4 * v0) * 4;
        if (v0 < v1) lane.call(id, from, runs, runGrad * 4, (v1 - v0) * 16, from);
      });
    } else {
      sum.set(f.subarray(oG, oG + runGrad));
      for (let run = 1; run < runs; run++) {
        const base = oG + run * runGrad;
        for (let i = 0; i < runGrad; i++) sum[i]! += f[base + i]!;
      }
      total = sum;
      at = 0;
    }
    // ... and transposed: dw[q·og + o, r] = G_q[r, o]
    for (let q = 0; q < groups; q++) {
      const base = at + q * K4 * og8;
      for (let o = 0; o < og; o++) {
        const row = (q * og + o) * K;
        for (let r = 0; r < K; r++) dw[row + r] = total[base + r * og8 + o]!;
      }
    }
  };
}
