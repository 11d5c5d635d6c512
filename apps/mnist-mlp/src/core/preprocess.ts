import type { GrayImage } from './image.js';

/** An image made to look like an MNIST digit. */
export interface MnistLike {
  /** `side × side` ink intensities in [0, 1], row-major: ink bright, background 0, as in MNIST. */
  readonly pixels: Float32Array;
  readonly side: number;
  /** What the ink was found on: a light background (the picture was inverted), a dark one, or transparency. */
  readonly background: 'light' | 'dark' | 'transparent';
  /** Whether the source had dark ink on a light background (and was inverted). */
  readonly inverted: boolean;
  /** Whether no ink was found (the result is all zeros). */
  readonly empty: boolean;
  /** The ink's bounding box in the source image. */
  readonly box: { x: number; y: number; width: number; height: number };
}

export interface PreprocessOptions {
  /** Side of the output square (MNIST: 28). */
  side?: number;
  /** Side of the square the ink is scaled to fit (MNIST: 20). */
  fit?: number;
}

/** Below this stretched intensity a pixel is background for the bounding box (noise, paper grain). */
const INK_THRESHOLD = 0.1;
/** A picture whose ink barely differs from its background has no digit in it. */
const MIN_CONTRAST = 0.1;

/**
 * Turns any picture of a digit into MNIST's format, following how MNIST was
 * made: ink bright on black; the ink's bounding box scaled (area average,
 * aspect ratio kept) to fit 20×20; placed in 28×28 with its centre of mass
 * at the centre.
 *
 * Background: a picture whose border is mostly transparent is ink-by-opacity
 * (a drawing on a transparent canvas); otherwise the border's mean
 * luminance decides whether the background is light (the picture is
 * inverted) or dark, and intensities are stretched so the background maps
 * to 0 and the strongest ink to 1, which removes paper tint.
 *
 * @example
 * const { pixels } = preprocess(decodePng(bytes)); // Float32Array(784)
 */
export function preprocess(image: GrayImage, options: PreprocessOptions = {}): MnistLike {
  const side = options.side ?? 28;
  const fit = options.fit ?? 20;
  const { width, height } = image;
  const ink = inkOf(image);
  const { inverted, background, values } = ink;

  let x0 = width;
  let y0 = height;
  let x1 = -1;
  let y1 = -1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (values[y * width + x]! > INK_THRESHOLD) {
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
      }
    }
  }
  const pixels = new Float32Array(side * side);
  if (x1 < 0 || ink.empty) {
    return {
      pixels,
      side,
      background,
      inverted,
      empty: true,
      box: { x: 0, y: 0, width: 0, height: 0 },
    };
  }
  const bw = x1 - x0 + 1;
  const bh = y1 - y0 + 1;
  const scale = fit / Math.max(bw, bh);
  const tw = Math.max(1, Math.round(bw * scale));
  const th = Math.max(1, Math.round(bh * scale));
  const scaled = resampleArea(values, width, x0, y0, bw, bh, tw, th);

  // Centre of mass of the scaled digit, pixel centres at i + 0.5.
  let mass = 0;
  let mx = 0;
  let my = 0;
  for (let y = 0; y < th; y++) {
    for (let x = 0; x < tw; x++) {
      const v = scaled[y * tw + x]!;
      mass += v;
      mx += v * (x + 0.5);
      my += v * (y + 0.5);
    }
  }
  const centre = side / 2;
  const ox = clampInt(Math.round(centre - mx / mass), 0, side - tw);
  const oy = clampInt(Math.round(centre - my / mass), 0, side - th);
  for (let y = 0; y < th; y++) {
    for (let x = 0; x < tw; x++) {
      pixels[(y + oy) * side + x + ox] = scaled[y * tw + x]!;
    }
  }
  return {
    pixels,
    side,
    background,
    inverted,
    empty: false,
    box: { x: x0, y: y0, width: bw, height: bh },
  };
}

function clampInt(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}

/** Ink intensity per pixel in [0, 1], background 0. */
function inkOf(image: GrayImage): {
  values: Float32Array;
  background: MnistLike['background'];
  inverted: boolean;
  empty: boolean;
} {
  const { width, height, gray, alpha } = image;
  const n = width * height;
  const values = new Float32Array(n);
  if (borderMean(alpha, width, height) < 0.5) {
    // Transparent background: whatever was painted is the ink, whatever its colour.
    values.set(alpha);
    return {
      values,
      background: 'transparent',
      inverted: false,
      empty: max(values) < MIN_CONTRAST,
    };
  }
  // Semi-transparent pixels over an opaque border: flatten onto white, as viewers show them.
  const flat = new Float32Array(n);
  for (let i = 0; i < n; i++) flat[i] = gray[i]! * alpha[i]! + (1 - alpha[i]!);
  const background = borderMean(flat, width, height);
  const inverted = background > 0.5;
  const bg = inverted ? 1 - background : background;
  let peak = 0;
  for (let i = 0; i < n; i++) {
    const v = inverted ? 1 - flat[i]! : flat[i]!;
    values[i] = v;
    if (v > peak) peak = v;
  }
  const range = peak - bg;
  const kind = inverted ? 'light' : 'dark';
  if (range < MIN_CONTRAST) return { values, background: kind, inverted, empty: true };
  for (let i = 0; i < n; i++) values[i] = Math.min(1, Math.max(0, (values[i]! - bg) / range));
  return { values, background: kind, inverted, empty: false };
}

function max(values: Float32Array): number {
  let m = 0;
  for (const v of values) if (v > m) m = v;
  return m;
}

/** Mean over the outermost ring of pixels. */
function borderMean(values: Float32Array, width: number, height: number): number {
  let sum = 0;
  let count = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (y === 0 || y === height - 1 || x === 0 || x === width - 1) {
        sum += values[y * width + x]!;
        count++;
      }
    }
  }
  return sum / count;
}

/**
 * Box-filter resampling of a `bw × bh` window at (x0, y0) to `tw × th`:
 * every output pixel is the area-weighted mean of the source pixels it
 * covers (separable, so done along x then along y).
 */
function resampleArea(
  src: Float32Array,
  stride: number,
  x0: number,
  y0: number,
  bw: number,
  bh: number,
  tw: number,
  th: number,
): Float32Array {
  const wx = areaWeights(bw, tw);
  const wy = areaWeights(bh, th);
  const rows = new Float32Array(bh * tw);
  for (let y = 0; y < bh; y++) {
    for (let t = 0; t < tw; t++) {
      let s = 0;
      for (const [i, w] of wx[t]!) s += w * src[(y0 + y) * stride + x0 + i]!;
      rows[y * tw + t] = s;
    }
  }
  const out = new Float32Array(th * tw);
  for (let t = 0; t < th; t++) {
    for (let x = 0; x < tw; x++) {
      let s = 0;
      for (const [i, w] of wy[t]!) s += w * rows[i * tw + x]!;
      out[t * tw + x] = s;
    }
  }
  return out;
}

/** For each of `m` output cells over `n` input cells: [input index, weight] pairs summing to 1. */
function areaWeights(n: number, m: number): [number, number][][] {
  const ratio = n / m;
  const result: [number, number][][] = [];
  for (let t = 0; t < m; t++) {
    const a = t * ratio;
    const b = (t + 1) * ratio;
    const cells: [number, number][] = [];
    for (let i = Math.floor(a); i < Math.min(n, Math.ceil(b)); i++) {
      const overlap = Math.min(b, i + 1) - Math.max(a, i);
      if (overlap > 0) cells.push([i, overlap / ratio]);
    }
    result.push(cells);
  }
  return result;
}
