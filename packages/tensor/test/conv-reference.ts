/**
 * Direct-loop reference convolutions and pools, written from the definitions
 * (PyTorch's documentation of F.conv2d, F.conv_transpose2d, F.max_pool2d,
 * F.avg_pool2d, F.adaptive_avg_pool2d), independent of im2col and the GEMM.
 */
import type { Tensor } from '../src/index.js';

export interface Ref {
  shape: number[];
  data: number[];
}

type P = [number, number];

export function conv2dRef(
  x: Tensor,
  w: Tensor,
  bias: Tensor | null,
  stride: P,
  padding: P | 'same',
  dilation: P,
  groups: number,
): Ref {
  const [N, C, H, W] = x.shape as number[] as [number, number, number, number];
  const [O, Cg, KH, KW] = w.shape as number[] as [number, number, number, number];
  let pt: number;
  let pl: number;
  let OH: number;
  let OW: number;
  if (padding === 'same') {
    pt = Math.floor((dilation[0] * (KH - 1)) / 2);
    pl = Math.floor((dilation[1] * (KW - 1)) / 2);
    OH = H;
    OW = W;
  } else {
    [pt, pl] = padding;
    OH = Math.floor((H + 2 * pt - dilation[0] * (KH - 1) - 1) / stride[0]) + 1;
    OW = Math.floor((W + 2 * pl - dilation[1] * (KW - 1) - 1) / stride[1]) + 1;
  }
  const Og = O / groups;
  const data: number[] = [];
  for (let n = 0; n < N; n++)
    for (let o = 0; o < O; o++)
      for (let oh = 0; oh < OH; oh++)
        for (let ow = 0; ow < OW; ow++) {
          let s = bias ? bias.data[o]! : 0;
          const g = Math.floor(o / Og);
          for (let c = 0; c < Cg; c++)
            for (let i = 0; i < KH; i++)
              for (let j = 0; j < KW; j++) {
                const ih = oh * stride[0] - pt + i * dilation[0];
                const iw = ow * stride[1] - pl + j * dilation[1];
                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                const xc = g * Cg + c;
                s +=
                  x.data[((n * C + xc) * H + ih) * W + iw]! *
                  w.data[((o * Cg + c) * KH + i) * KW + j]!;
              }
          data.push(s);
        }
  return { shape: [N, O, OH, OW], data };
}

export function convTranspose2dRef(
  x: Tensor,
  w: Tensor,
  bias: Tensor | null,
  stride: P,
  padding: P,
  outputPadding: P,
  dilation: P,
  groups: number,
): Ref {
  const [N, C, H, W] = x.shape as number[] as [number, number, number, number];
  const [, Og, KH, KW] = w.shape as number[] as [number, number, number, number];
  const O = Og * groups;
  const Cg = C / groups;
  const OH = (H - 1) * stride[0] - 2 * padding[0] + dilation[0] * (KH - 1) + outputPadding[0] + 1;
  const OW = (W - 1) * stride[1] - 2 * padding[1] + dilation[1] * (KW - 1) + outputPadding[1] + 1;
  const data = new Array<number>(N * O * OH * OW).fill(0);
  for (let n = 0; n < N; n++)
    for (let c = 0; c < C; c++) {
      const g = Math.floor(c / Cg);
      for (let h = 0; h < H; h++)
        for (let ww = 0; ww < W; ww++)
          for (let o = 0; o < Og; o++)
            for (let i = 0; i < KH; i++)
              for (let j = 0; j < KW; j++) {
                const oh = h * stride[0] - padding[0] + i * dilation[0];
                const ow = ww * stride[1] - padding[1] + j * dilation[1];
                if (oh < 0 || oh >= OH || ow < 0 || ow >= OW) continue;
                const oc = g * Og + o;
                data[((n * O + oc) * OH + oh) * OW + ow]! +=
                  x.data[((n * C + c) * H + h) * W + ww]! *
                  w.data[((c * Og + o) * KH + i) * KW + j]!;
              }
    }
  if (bias) {
    for (let f = 0; f < data.length; f++) data[f]! += bias.data[Math.floor(f / (OH * OW)) % O]!;
  }
  return { shape: [N, O, OH, OW], data };
}

/**
 * PyTorch's pooling output size (aten's pooling_output_shape): rounded down,
 * or up in ceil mode as long as the last window starts inside the input or
 * its left padding.
 */
export function poolSize(
  n: number,
  k: number,
  s: number,
  p: number,
  d: number,
  ceil: boolean,
): number {
  const span = n + 2 * p - d * (k - 1) - 1;
  let out = (ceil ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
  if (ceil && (out - 1) * s >= n + p) out--;
  return out;
}

/** Max pooling; also the arg-max of each window (first among ties) for gradient checks. */
export function maxPool2dRef(
  x: Tensor,
  k: P,
  s: P,
  p: P,
  d: P,
  ceil = false,
): Ref & { argmax: number[] } {
  const [N, C, H, W] = x.shape as number[] as [number, number, number, number];
  const OH = poolSize(H, k[0], s[0], p[0], d[0], ceil);
  const OW = poolSize(W, k[1], s[1], p[1], d[1], ceil);
  const data: number[] = [];
  const argmax: number[] = [];
  for (let n = 0; n < N * C; n++)
    for (let oh = 0; oh < OH; oh++)
      for (let ow = 0; ow < OW; ow++) {
        let best = Number.NEGATIVE_INFINITY;
        let at = -1;
        for (let i = 0; i < k[0]; i++)
          for (let j = 0; j < k[1]; j++) {
            const ih = oh * s[0] - p[0] + i * d[0];
            const iw = ow * s[1] - p[1] + j * d[1];
            if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
            const v = x.data[(n * H + ih) * W + iw]!;
            if (at < 0 || v > best) {
              best = v;
              at = (n * H + ih) * W + iw;
            }
          }
        data.push(best);
        argmax.push(at);
      }
  return { shape: [N, C, OH, OW], data, argmax };
}

export function avgPool2dRef(
  x: Tensor,
  k: P,
  s: P,
  p: P,
  countIncludePad: boolean,
  ceil = false,
  divisorOverride?: number,
): Ref {
  const [N, C, H, W] = x.shape as number[] as [number, number, number, number];
  const OH = poolSize(H, k[0], s[0], p[0], 1, ceil);
  const OW = poolSize(W, k[1], s[1], p[1], 1, ceil);
  const data: number[] = [];
  for (let n = 0; n < N * C; n++)
    for (let oh = 0; oh < OH; oh++)
      for (let ow = 0; ow < OW; ow++) {
        let sum = 0;
        let count = 0;
        let padded = 0;
        for (let i = 0; i < k[0]; i++)
          for (let j = 0; j < k[1]; j++) {
            const ih = oh * s[0] - p[0] + i;
            const iw = ow * s[1] - p[1] + j;
            if (ih >= -p[0] && ih < H + p[0] && iw >= -p[1] && iw < W + p[1]) padded++;
            if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
            sum += x.data[(n * H + ih) * W + iw]!;
            count++;
          }
        data.push(sum / (divisorOverride ?? (countIncludePad ? padded : count)));
      }
  return { shape: [N, C, OH, OW], data };
}

export function adaptiveAvgPool2dRef(x: Tensor, out: P): Ref {
  const [N, C, H, W] = x.shape as number[] as [number, number, number, number];
  const data: number[] = [];
  for (let n = 0; n < N * C; n++)
    for (let i = 0; i < out[0]; i++)
      for (let j = 0; j < out[1]; j++) {
        const h0 = Math.floor((i * H) / out[0]);
        const h1 = Math.ceil(((i + 1) * H) / out[0]);
        const w0 = Math.floor((j * W) / out[1]);
        const w1 = Math.ceil(((j + 1) * W) / out[1]);
        let sum = 0;
        for (let h = h0; h < h1; h++)
          for (let w = w0; w < w1; w++) sum += x.data[(n * H + h) * W + w]!;
        data.push(sum / ((h1 - h0) * (w1 - w0)));
      }
  return { shape: [N, C, ...out], data };
}
