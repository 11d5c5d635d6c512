import { gridColumns, weightColour } from '../../src/core/pictures.js';

/**
 * Pixels of a picture as CSS sees them: colour per cell, laid out
 * `cols × rows`. Painting goes through an ImageData at one pixel per cell;
 * CSS (`image-rendering: pixelated`) scales it up crisply.
 */
function putCells(
  canvas: HTMLCanvasElement,
  cols: number,
  rows: number,
  colour: (i: number) => readonly [number, number, number],
): void {
  canvas.width = cols;
  canvas.height = rows;
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  const image = ctx.createImageData(cols, rows);
  for (let i = 0; i < cols * rows; i++) {
    const [r, g, b] = colour(i);
    image.data[4 * i] = r;
    image.data[4 * i + 1] = g;
    image.data[4 * i + 2] = b;
    image.data[4 * i + 3] = 255;
  }
  ctx.putImageData(image, 0, 0);
}

/** Ink in [0, 1] as white on black, `side × side`. */
export function paintInput(canvas: HTMLCanvasElement, pixels: Float32Array, side: number): void {
  putCells(canvas, side, side, (i) => {
    const v = Math.round(255 * Math.min(1, Math.max(0, pixels[i]!)));
    return [v, v, v];
  });
}

/**
 * A neuron's incoming weights as the video pictures them: blue positive,
 * red negative, black near zero, scaled by the neuron's largest |weight|.
 * 784 weights become the 28×28 image they multiply; other counts a
 * near-square grid (16 → 4×4), cells past the end left dark.
 */
export function paintWeights(canvas: HTMLCanvasElement, weights: Float32Array): void {
  const cols = gridColumns(weights.length);
  const rows = Math.ceil(weights.length / cols);
  let peak = 0;
  for (const w of weights) peak = Math.max(peak, Math.abs(w));
  putCells(canvas, cols, rows, (i) =>
    i < weights.length ? weightColour(peak === 0 ? 0 : weights[i]! / peak) : [24, 24, 28],
  );
}

/**
 * Every neuron's incoming weights, one tile each, in a near-square grid of
 * tiles on a dark background (16 neurons of 784 weights: 4×4 tiles of 28×28).
 */
export function paintWeightGallery(
  canvas: HTMLCanvasElement,
  weight: Float32Array,
  neurons: number,
): void {
  const inputs = weight.length / neurons;
  const tile = gridColumns(inputs);
  const tileRows = Math.ceil(inputs / tile);
  const gap = 2;
  const cols = gridColumns(neurons);
  const rows = Math.ceil(neurons / cols);
  const width = cols * tile + (cols - 1) * gap;
  const height = rows * tileRows + (rows - 1) * gap;
  const peaks = Array.from({ length: neurons }, (_, n) => {
    let peak = 0;
    for (let i = 0; i < inputs; i++) peak = Math.max(peak, Math.abs(weight[n * inputs + i]!));
    return peak;
  });
  putCells(canvas, width, height, (p) => {
    const x = p % width;
    const y = Math.floor(p / width);
    const cx = Math.floor(x / (tile + gap));
    const cy = Math.floor(y / (tileRows + gap));
    const tx = x - cx * (tile + gap);
    const ty = y - cy * (tileRows + gap);
    const n = cy * cols + cx;
    const i = ty * tile + tx;
    if (tx >= tile || ty >= tileRows || n >= neurons || i >= inputs) return [14, 16, 22];
    const peak = peaks[n]!;
    return weightColour(peak === 0 ? 0 : weight[n * inputs + i]! / peak);
  });
}
