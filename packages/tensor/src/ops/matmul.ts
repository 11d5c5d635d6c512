import { promote } from '../dtype.js';
import { apply } from '../engine.js';
import { DTypeError, fmt, ShapeError } from '../errors.js';
import { gemm, gemmRowSplit } from '../kernels/gemm.js';
import { simdOuter } from '../kernels/outer-simd.js';
import { broadcastStrides } from '../kernels/strided.js';
import { defineOp, type Op } from '../op.js';
import { broadcastShapes, sizeOf } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { batchAll, lifted, linear } from '../transforms/rules.js';

/** Whether each operand is read transposed (its last two axes swapped) in place. */
export interface MatmulAttrs {
  readonly transA: boolean;
  readonly transB: boolean;
}

function dims(x: Tensor, trans: boolean): [number, number] {
  const r = x.shape[x.ndim - 2]!;
  const c = x.shape[x.ndim - 1]!;
  return trans ? [c, r] : [r, c];
}

function show(x: Tensor, trans: boolean): string {
  return trans ? `${fmt(x.shape)}ᵀ` : fmt(x.shape);
}

/**
 * Batched matrix product over the last two axes, batch axes broadcast as
 * NumPy does. Backward reuses it with transposed flags, so no transpose is
 * ever materialised.
 */
export const matmulOp: Op<MatmulAttrs> = defineOp<MatmulAttrs>({
  name: 'matmul',
  infer: ([a, b], { transA, transB }) => {
    if (a!.ndim < 2 || b!.ndim < 2) {
      throw new ShapeError(
        `matmul: operands must have at least 2 dimensions: ${fmt(a!.shape)} @ ${fmt(b!.shape)}`,
      );
    }
    if (a!.dtype === 'int32' || b!.dtype === 'int32') {
      throw new DTypeError(`matmul: expected float operands, got ${a!.dtype} @ ${b!.dtype}`);
    }
    const [m, k1] = dims(a!, transA);
    const [k2, n] = dims(b!, transB);
    if (k1 !== k2) {
      throw new ShapeError(
        `matmul: inner dimensions differ: ${show(a!, transA)} @ ${show(b!, transB)}`,
      );
    }
    let batch: number[];
    try {
      batch = broadcastShapes('matmul', a!.shape.slice(0, -2), b!.shape.slice(0, -2));
    } catch {
      // The batch axes alone would not tell the user which operands were meant.
      throw new ShapeError(
        `matmul: batch dimensions cannot be broadcast together: ${show(a!, transA)} @ ${show(b!, transB)}`,
      );
    }
    return { shape: [...batch, m, n], dtype: promote(a!.dtype, b!.dtype) };
  },
  kernel: ([a, b], out, { transA, transB }) => {
    const m = out.shape.at(-2)!;
    const n = out.shape.at(-1)!;
    const k = transA ? a!.shape[a!.shape.length - 2]! : a!.shape[a!.shape.length - 1]!;
    const batchShape = out.shape.slice(0, -2);
    const batches = sizeOf(batchShape);
    // Offsets of each batch's matrix in A and B, broadcast over the batch axes.
    const aStrides = broadcastStrides(a!.shape.slice(0, -2), batchShape);
    const bStrides = broadcastStrides(b!.shape.slice(0, -2), batchShape);
    const aMat = a!.shape.at(-1)! * a!.shape.at(-2)!;
    const bMat = b!.shape.at(-1)! * b!.shape.at(-2)!;
    const offsets = new Int32Array(batches * 2);
    for (let t = 0; t < batches; t++) {
      let rest = t;
      let oa = 0;
      let ob = 0;
      for (let d = batchShape.length - 1; d >= 0; d--) {
        const i = rest % batchShape[d]!;
        rest = (rest - i) / batchShape[d]!;
        oa += i * aStrides[d]!;
        ob += i * bStrides[d]!;
      }
      offsets[2 * t] = oa * aMat;
      offsets[2 * t + 1] = ob * bMat;
    }
    return (o, [A, B]) => {
      for (let t = 0; t < batches; t++) {
        gemm(transA, transB, m, n, k, A!, offsets[2 * t]!, B!, offsets[2 * t + 1]!, o, t * m * n);
      }
    };
  },
  // A layer's product over a batch of rows: a compiled plan may run it in
  // blocks of rows with the steps after it.
  rowSplit: ([a, b], out, { transA, transB }) => {
    const float32 = [a!, b!, out].every((s) => s.dtype === 'float32');
    if (!float32 || out.shape.length !== 2) return null;
    const k = transA ? a!.shape[0]! : a!.shape[1]!;
    return gemmRowSplit(transA, transB, out.shape[0]!, out.shape[1]!, k);
  },
  vjp: (g, [a, b], _out, { transA, transB }) => {
    if (!transA && !transB) return [() => mm(g, b!, false, true), () => mm(a!, g, true, false)];
    if (!transA && transB) return [() => mm(g, b!, false, false), () => mm(g, a!, true, false)];
    if (transA && !transB) return [() => mm(b!, g, false, true), () => mm(a!, g, false, false)];
    return [() => mm(b!, g, true, true), () => mm(g, a!, true, true)];
  },
  jvp: linear(() => matmulOp),
  batch: ([a, b], [ba, bb], { transA, transB }, size) => {
    // A batch of inputs times one matrix is one product over the folded rows.
    if (ba && !bb && b!.ndim === 2 && !transA) {
      const out = mm(a!.reshape([-1, a!.shape.at(-1)!]), b!, false, transB);
      return out.reshape([size, ...a!.shape.slice(1, -1), out.shape.at(-1)!]);
    }
    const rank = Math.max(a!.ndim - (ba ? 1 : 0), b!.ndim - (bb ? 1 : 0));
    const [x, y] = [ba ? lifted(a!, rank) : a!, bb ? lifted(b!, rank) : b!];
    // Per-example outer products (a weight's gradient for one example) are
    // one pass of the outer-product primitive, not a product of inner
    // dimension 1 per example.
    if ((transA ? a!.shape.at(-2) : a!.shape.at(-1)) === 1) {
      const lead = broadcastShapes('matmul', x.shape.slice(0, -2), y.shape.slice(0, -2));
      const col = x.reshape([...x.shape.slice(0, -2), transA ? x.shape.at(-1)! : x.shape.at(-2)!]);
      const row = y.reshape([...y.shape.slice(0, -2), transB ? y.shape.at(-2)! : y.shape.at(-1)!]);
      return outer(col, row, lead);
    }
    return mm(x, y, transA, transB);
  },
  describe: ({ transA, transB }) =>
    transA || transB ? `${transA ? 'Aᵀ' : 'A'}·${transB ? 'Bᵀ' : 'B'}` : '',
});

/**
 * Outer products row by row: a[..., m] and b[..., n] of one leading shape
 * give out[..., i, j] = a[..., i] · b[..., j]. What vmap turns a matrix
 * product of inner dimension 1 into (per-example weight gradients), and
 * faster than a broadcast multiply there. In float32 it runs four lanes at
 * a time (WebAssembly SIMD); elsewhere it skips b's zeros (MNIST pixels are
 * ~80% zeros), unless a holds a non-finite value, which a zero must turn
 * into NaN.
 */
export const outerOp: Op = defineOp({
  name: 'outer',
  infer: ([a, b]) => {
    if (
      a!.ndim < 1 ||
      b!.ndim < 1 ||
      a!.ndim !== b!.ndim ||
      !a!.shape.slice(0, -1).every((d, i) => d === b!.shape[i])
    ) {
      throw new ShapeError(`outer: leading shapes differ: ${fmt(a!.shape)} and ${fmt(b!.shape)}`);
    }
    if (a!.dtype === 'int32' || b!.dtype === 'int32') {
      throw new DTypeError(`outer: expected float operands, got ${a!.dtype} and ${b!.dtype}`);
    }
    return { shape: [...a!.shape, b!.shape.at(-1)!], dtype: promote(a!.dtype, b!.dtype) };
  },
  kernel: ([a, b], out) => {
    const m = a!.shape.at(-1)!;
    const n = b!.shape.at(-1)!;
    const rows = sizeOf(a!.shape.slice(0, -1));
    const simd =
      out.dtype === 'float32' && a!.dtype === 'float32' && b!.dtype === 'float32'
        ? simdOuter(rows, m, n)
        : null;
    if (simd) return simd;
    const nonzero = new Int32Array(n);
    return (o, [A, B]) => {
      o.fill(0);
      for (let r = 0; r < rows; r++) {
        const ao = r * m;
        const bo = r * n;
        let finite = true;
        for (let i = 0; i < m; i++) if (!Number.isFinite(A![ao + i]!)) finite = false;
        let count = 0;
        for (let j = 0; j < n; j++) if (!finite || B![bo + j] !== 0) nonzero[count++] = j;
        for (let i = 0; i < m; i++) {
          const ai = A![ao + i]!;
          const oi = (r * m + i) * n;
          for (let t = 0; t < count; t++) {
            const j = nonzero[t]!;
            // + 0: a zero factor times a pixel is +0 on both paths, as a sum from 0 gives.
            o[oi + j] = ai * B![bo + j]! + 0;
          }
        }
      }
    };
  },
  vjp: (g, [a, b]) => [
    () => mm(g, b!.expandDims(-1), false, false).squeeze(-1),
    () => mm(a!.expandDims(-1), g, true, false).squeeze(-2),
  ],
  jvp: linear(() => outerOp),
  // Every leading axis is a row: the batch is one more.
  batch: (inputs, batched, _a, size) => apply(outerOp, batchAll(inputs, batched, size), undefined),
});

/** Outer products of a[..., m] and b[..., n], their leading axes broadcast to `lead`. */
function outer(a: Tensor, b: Tensor, lead: readonly number[]): Tensor {
  return apply(
    outerOp,
    [a.broadcastTo([...lead, a.shape.at(-1)!]), b.broadcastTo([...lead, b.shape.at(-1)!])],
    undefined,
  );
}

function mm(a: Tensor, b: Tensor, transA: boolean, transB: boolean): Tensor {
  return apply(matmulOp, [a, b], { transA, transB });
}

/**
 * Matrix product with NumPy's rules: 1-D operands are promoted to a row
 * (left) or column (right) and the added axis is dropped again; batch axes
 * broadcast. `transA`/`transB` read an operand transposed without copying.
 *
 * @example
 * matmul(x, w, { transB: true }); // x · wᵀ, as a dense layer computes it
 */
export function matmul(a: Tensor, b: Tensor, { transA = false, transB = false } = {}): Tensor {
  if (a.ndim === 0 || b.ndim === 0) {
    throw new ShapeError(
      `matmul: scalars cannot be multiplied as matrices: ${fmt(a.shape)} @ ${fmt(b.shape)}`,
    );
  }
  const va = a.ndim === 1;
  const vb = b.ndim === 1;
  const A = va ? a.reshape([1, a.shape[0]!]) : a;
  const B = vb ? b.reshape([b.shape[0]!, 1]) : b;
  if (va || vb) {
    const [, k1] = dims(A, transA && !va);
    const [k2] = dims(B, transB && !vb);
    if (k1 !== k2)
      throw new ShapeError(`matmul: inner dimensions differ: ${fmt(a.shape)} @ ${fmt(b.shape)}`);
  }
  const out = mm(A, B, transA && !va, transB && !vb);
  if (!va && !vb) return out;
  const shape = out.shape.slice();
  if (vb) shape.splice(shape.length - 1, 1);
  if (va) shape.splice(shape.length - (vb ? 1 : 2), 1);
  return out.reshape(shape);
}
