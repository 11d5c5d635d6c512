import { GLYPH_HEIGHT, textWidth } from './font.js';
import type { EpochRecord } from './history.js';
import { Raster, type Rgb } from './raster.js';

const WHITE: Rgb = [255, 255, 255];
const BLACK: Rgb = [0, 0, 0];
const GRID: Rgb = [225, 225, 225];
const AXIS: Rgb = [90, 90, 90];
const TRAIN: Rgb = [31, 119, 180];
const VAL: Rgb = [255, 127, 14];
const TEST: Rgb = [44, 160, 44];

/**
 * Weight colour as in the video's pictures of what neurons look for: blue
 * for positive weights, red for negative, black near zero; `t` in [-1, 1] is
 * the weight divided by the largest |weight| of its neuron.
 */
export function weightColour(t: number): Rgb {
  const a = Math.min(1, Math.abs(t));
  return t >= 0
    ? [Math.round(40 * a), Math.round(110 * a), Math.round(255 * a)]
    : [Math.round(255 * a), Math.round(40 * a), Math.round(30 * a)];
}

export interface HeatmapOptions {
  /** Side of each square input image (MNIST: 28). */
  side?: number;
  /** Each weight becomes a `scale × scale` block, so that 28×28 is viewable. */
  scale?: number;
  /** Pixels between tiles. */
  gap?: number;
}

/** Columns of a near-square grid of `n` tiles. */
export function gridColumns(n: number): number {
  return Math.max(1, Math.ceil(Math.sqrt(n)));
}

/** Height of a line of text at scale 2, with the space below it. */
const LINE = GLYPH_HEIGHT * 2 + 6;

/** `text` at scale 2 if it fits `width`, else at scale 1. */
function fitText(r: Raster, text: string, x: number, y: number, width: number, colour: Rgb): void {
  r.text(text, x, y, colour, textWidth(text, 2) <= width ? 2 : 1);
}

/** A weight for a caption: two significant digits, never in exponent notation. */
function formatWeight(v: number): string {
  return v >= 1 ? v.toFixed(2) : v.toPrecision(2);
}

/**
 * One tile per neuron: its incoming weights laid out as the `side × side`
 * input image, coloured by `weightColour` with a symmetric scale per neuron
 * (max |w| is full colour), so every neuron's pattern is visible however
 * large its weights. Each tile is captioned with the neuron's number (from 1,
 * as the page numbers them) and that full-colour value; a colour bar under
 * the grid reads the colours.
 *
 * @example
 * weightHeatmaps(neurons).toPng(); // 16 neurons: 4×4 tiles of 112×112, captioned
 */
export function weightHeatmaps(
  neurons: readonly Float32Array[],
  options: HeatmapOptions = {},
): Raster {
  const side = options.side ?? 28;
  const scale = options.scale ?? 4;
  const gap = options.gap ?? 4;
  const cols = gridColumns(neurons.length);
  const rows = Math.ceil(neurons.length / cols);
  const tile = side * scale;
  const width = cols * tile + (cols + 1) * gap;
  const top = LINE + gap;
  const cell = tile + LINE + gap;
  const legendTop = top + rows * cell + 4;
  const r = new Raster(width, legendTop + 12 + 4 + LINE + LINE + 4, WHITE);
  fitText(r, 'FIRST-LAYER WEIGHTS, ONE TILE PER NEURON', gap, 4, width - 2 * gap, BLACK);
  neurons.forEach((w, n) => {
    if (w.length !== side * side) {
      throw new RangeError(
        `weightHeatmaps: neuron ${n} has ${w.length} weights, not ${side}x${side}`,
      );
    }
    let peak = 0;
    for (const v of w) peak = Math.max(peak, Math.abs(v));
    const x = gap + (n % cols) * (tile + gap);
    const y = top + Math.floor(n / cols) * cell;
    r.blit(
      x,
      y,
      side,
      side,
      (sx, sy) => weightColour(peak === 0 ? 0 : w[sy * side + sx]! / peak),
      scale,
    );
    // "3: ±0.52", left under the tile: neuron 3, whose largest |weight| 0.52 is full colour.
    const number = `${n + 1}:`;
    const value = `±${formatWeight(peak)}`;
    const s = textWidth(`${number} ${value}`, 2) <= tile ? 2 : 1;
    r.text(number, x, y + tile + 3, BLACK, s);
    r.text(value, x + textWidth(`${number} `, s), y + tile + 3, AXIS, s);
  });
  // The colour bar: −full … 0 … +full, the same mapping as every tile.
  const barX = gap;
  const barW = width - 2 * gap;
  for (let i = 0; i < barW; i++) {
    r.fillRect(barX + i, legendTop, 1, 12, weightColour((2 * i) / (barW - 1) - 1));
  }
  const labelY = legendTop + 16;
  r.text('-FULL  RED', barX, labelY, BLACK, 2);
  r.text('0', barX + barW / 2 - textWidth('0', 2) / 2, labelY, BLACK, 2);
  r.text('BLUE  +FULL', barX + barW - textWidth('BLUE  +FULL', 2), labelY, BLACK, 2);
  fitText(r, 'FULL COLOUR: THE ±VALUE UNDER EACH TILE', barX, labelY + LINE, barW, AXIS);
  return r;
}

interface Series {
  readonly label: string;
  readonly colour: Rgb;
  readonly values: readonly (number | null)[];
}

const PANEL_W = 360;
const PANEL_H = 260;
const MARGIN = { left: 44, right: 12, top: 28, bottom: 34 };
const KEPT: Rgb = [150, 60, 200];

/** The round step (1, 2 or 5 × 10^k) nearest above `span / count`. */
export function niceStep(span: number, count: number): number {
  const raw = span / Math.max(1, count);
  if (!(raw > 0) || !Number.isFinite(raw)) return 1;
  const power = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (m * power >= raw * (1 - 1e-9)) return m * power;
  return 10 * power;
}

/** Options of `curvesPicture`. */
export interface CurvesOptions {
  /** The epoch whose weights were kept (best on validation), marked in every panel. */
  keptEpoch?: number | null;
}

/**
 * Training curves from a checkpoint's history, per epoch: mean training
 * loss; training / validation / test accuracy in percent from 0 to 100; and
 * the same accuracies zoomed (from 90% once they pass it), where a good run
 * spends its epochs. Ticks are round numbers; the kept epoch is marked.
 *
 * @example
 * curvesPicture(meta.history, { keptEpoch: meta.keptEpoch }).toPng(); // 1080×260
 */
export function curvesPicture(
  history: readonly EpochRecord[],
  options: CurvesOptions = {},
): Raster {
  const r = new Raster(PANEL_W * 3, PANEL_H, WHITE);
  const kept = options.keptEpoch ?? null;
  const accuracies: Series[] = [
    { label: 'TRAIN', colour: TRAIN, values: history.map((h) => h.trainAccuracy * 100) },
    {
      label: 'VAL',
      colour: VAL,
      values: history.map((h) => (h.valAccuracy === null ? null : h.valAccuracy * 100)),
    },
    { label: 'TEST', colour: TEST, values: history.map((h) => h.testAccuracy * 100) },
  ];
  drawPanel(r, 0, 'TRAIN LOSS', history, kept, [
    { label: 'TRAIN', colour: TRAIN, values: history.map((h) => h.trainLoss) },
  ]);
  drawPanel(r, PANEL_W, 'ACCURACY %', history, kept, accuracies, [0, 100]);
  const best = Math.max(
    0,
    ...accuracies
      .flatMap((s) => s.values)
      .filter((v): v is number => v !== null && Number.isFinite(v)),
  );
  // From 90% once the best accuracy passes 92%; below that, the top 10 points under the best.
  const floor = best > 92 ? 90 : Math.max(0, Math.floor(best / 5) * 5 - 10);
  drawPanel(r, 2 * PANEL_W, `ACCURACY FROM ${floor}%`, history, kept, accuracies, [floor, 100]);
  return r;
}

/** A tick label with as many decimals as the step needs. */
function formatTick(v: number, step: number): string {
  const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  return v.toFixed(decimals);
}

function drawPanel(
  r: Raster,
  x0: number,
  title: string,
  history: readonly EpochRecord[],
  kept: number | null,
  series: readonly Series[],
  range?: readonly [number, number],
): void {
  const left = x0 + MARGIN.left;
  const right = x0 + PANEL_W - MARGIN.right;
  const top = MARGIN.top;
  const bottom = PANEL_H - MARGIN.bottom;
  r.text(title, left, 8, BLACK, 2);
  const finite = series
    .flatMap((s) => s.values)
    .filter((v): v is number => v !== null && Number.isFinite(v));
  let lo: number;
  let hi: number;
  let step: number;
  if (range) {
    [lo, hi] = range;
    step = niceStep(hi - lo, 5);
  } else {
    // Reduced, not spread: a long history has more values than a call takes arguments.
    lo = finite.length ? finite.reduce((a, b) => Math.min(a, b)) : 0;
    hi = finite.length ? finite.reduce((a, b) => Math.max(a, b)) : 1;
    if (hi - lo < 1e-9) {
      lo -= 0.5;
      hi += 0.5;
    }
    step = niceStep(hi - lo, 4);
    lo = Math.floor(lo / step + 1e-9) * step;
    hi = Math.ceil(hi / step - 1e-9) * step;
  }
  const n = history.length;
  const first = history[0]?.epoch ?? 1;
  const last = history[n - 1]?.epoch ?? 1;
  const xAt = (epoch: number) =>
    last === first
      ? (left + right) / 2
      : left + ((right - left) * (epoch - first)) / (last - first);
  const yAt = (v: number) => bottom - ((bottom - top) * (v - lo)) / (hi - lo);

  for (let k = 0; lo + k * step <= hi + step * 1e-6; k++) {
    const v = lo + k * step;
    const y = Math.round(yAt(v));
    r.fillRect(left, y, right - left, 1, GRID);
    const label = formatTick(v, step);
    r.text(label, left - 4 - textWidth(label), y - 2, AXIS);
  }
  r.fillRect(left, top, 1, bottom - top + 1, AXIS);
  r.fillRect(left, bottom, right - left + 1, 1, AXIS);
  // Epoch ticks on round numbers: the first epoch, then multiples of a round step.
  const every = niceStep(last - first, 6);
  const ticks = [first];
  for (let e = Math.ceil((first + 1) / every) * every; e <= last; e += every) {
    if (xAt(e) - xAt(ticks[ticks.length - 1]!) >= 14) ticks.push(e);
  }
  for (const e of n === 0 ? [] : ticks) {
    const x = Math.round(xAt(e));
    r.fillRect(x, bottom, 1, 4, AXIS);
    const label = String(e);
    r.text(label, x - Math.floor(textWidth(label) / 2), bottom + 6, AXIS);
  }
  r.text('EPOCH', (left + right) / 2 - textWidth('EPOCH') / 2, bottom + 16, AXIS);

  if (kept !== null && n > 0 && kept >= first && kept <= last) {
    const x = Math.round(xAt(kept));
    for (let y = top; y < bottom; y += 6) r.fillRect(x, y, 1, 3, KEPT);
    const label = `KEPT ${kept}`;
    const lx = x + 3 + textWidth(label) <= right ? x + 3 : x - 3 - textWidth(label);
    r.text(label, lx, bottom - 8, KEPT);
  }

  let legendX = right;
  for (const s of [...series].reverse()) {
    if (!s.values.some((v) => v !== null)) continue;
    legendX -= textWidth(s.label) + 14;
    r.fillRect(legendX, 10, 8, 3, s.colour);
    r.text(s.label, legendX + 11, 9, s.colour);
  }
  for (const s of series) {
    let prev: [number, number] | null = null;
    s.values.forEach((v, i) => {
      // Off a fixed range (the zoomed panel), a curve breaks rather than hugging the edge.
      if (v === null || !Number.isFinite(v) || v < lo || v > hi) {
        prev = null;
        return;
      }
      const point: [number, number] = [xAt(history[i]?.epoch ?? i + 1), yAt(v)];
      if (prev) r.line(prev[0], prev[1], point[0], point[1], s.colour, 2);
      const dot = n > 40 ? 3 : 5;
      const h = Math.floor(dot / 2);
      r.fillRect(Math.round(point[0]) - h, Math.round(point[1]) - h, dot, dot, s.colour);
      prev = point;
    });
  }
}

const CELL = 40;
const LABEL = 28;

/**
 * The confusion matrix as a grid: rows are true classes, columns predicted
 * ones, each cell shaded by its share of its row (green on the diagonal,
 * red off it) and labelled with its count.
 *
 * @example
 * confusionPicture(evaluation.confusion).toPng(); // 10 classes: 428×448
 */
export function confusionPicture(confusion: readonly (readonly number[])[]): Raster {
  const k = confusion.length;
  const width = LABEL + k * CELL + 8;
  const height = LABEL + 20 + k * CELL + 8;
  const r = new Raster(width, height, WHITE);
  const gridTop = LABEL + 20;
  r.text('PREDICTED', LABEL + (k * CELL) / 2 - textWidth('PREDICTED', 2) / 2, 4, BLACK, 2);
  r.text('TRUE', 2, 4 + GLYPH_HEIGHT * 2 + 6, AXIS);
  for (let c = 0; c < k; c++) {
    const label = String(c);
    r.text(label, LABEL + c * CELL + CELL / 2 - textWidth(label, 2) / 2, gridTop - 14, AXIS, 2);
    r.text(
      label,
      LABEL / 2 - textWidth(label, 2) / 2,
      gridTop + c * CELL + CELL / 2 - GLYPH_HEIGHT,
      AXIS,
      2,
    );
  }
  for (let t = 0; t < k; t++) {
    const row = confusion[t]!;
    const total = row.reduce((a, b) => a + b, 0);
    for (let p = 0; p < k; p++) {
      const count = row[p] ?? 0;
      // A square root makes the few off-diagonal mistakes visible next to the large diagonal.
      const share = total === 0 ? 0 : Math.sqrt(count / total);
      const base: Rgb = t === p ? [30, 150, 60] : [210, 40, 40];
      const colour: Rgb = [
        Math.round(255 + (base[0] - 255) * share),
        Math.round(255 + (base[1] - 255) * share),
        Math.round(255 + (base[2] - 255) * share),
      ];
      const x = LABEL + p * CELL;
      const y = gridTop + t * CELL;
      r.fillRect(x, y, CELL, CELL, colour);
      r.strokeRect(x, y, CELL + 1, CELL + 1, GRID);
      const label = String(count);
      const scale = textWidth(label, 2) <= CELL - 4 ? 2 : 1;
      const ink: Rgb = share > 0.6 ? WHITE : BLACK;
      r.text(
        label,
        x + CELL / 2 - textWidth(label, scale) / 2,
        y + CELL / 2 - (GLYPH_HEIGHT * scale) / 2,
        ink,
        scale,
      );
    }
  }
  return r;
}

/** A misclassified example for `mistakesPicture`. */
export interface Mistake {
  /** The input image, `side × side` intensities in [0, 1] (or 0–255 bytes). */
  readonly pixels: ArrayLike<number>;
  readonly label: number;
  readonly predicted: number;
  /** The network's output for the predicted class, in [0, 1]. */
  readonly confidence: number;
}

export interface MistakesOptions {
  side?: number;
  scale?: number;
  columns?: number;
  rows?: number;
  /** Whether pixel values are bytes (0–255) rather than [0, 1]. */
  bytes?: boolean;
}

/**
 * A fixed grid of misclassified digits, white ink on black as MNIST stores
 * them, each captioned "true>predicted confidence%" under a one-line legend
 * saying so. Cells beyond the list stay empty, so the picture's size depends
 * only on the options.
 *
 * @example
 * mistakesPicture(worst, { bytes: true }).toPng(); // 8×4 cells
 */
export function mistakesPicture(
  mistakes: readonly Mistake[],
  options: MistakesOptions = {},
): Raster {
  const side = options.side ?? 28;
  const scale = options.scale ?? 3;
  const columns = options.columns ?? 8;
  const rows = options.rows ?? 4;
  const norm = options.bytes ? 1 / 255 : 1;
  const tile = side * scale;
  const gap = 8;
  const caption = GLYPH_HEIGHT * 2 + 6;
  const width = columns * (tile + gap) + gap;
  const legend = LINE + gap;
  const r = new Raster(width, legend + rows * (tile + caption + gap) + gap, WHITE);
  fitText(
    r,
    '4>9 87% MEANS: A 4 THE NETWORK READ AS 9, GIVING 9 AN OUTPUT OF 87%',
    gap,
    gap + 2,
    width - 2 * gap,
    BLACK,
  );
  mistakes.slice(0, columns * rows).forEach((m, i) => {
    const x = gap + (i % columns) * (tile + gap);
    const y = legend + gap + Math.floor(i / columns) * (tile + caption + gap);
    r.blit(
      x,
      y,
      side,
      side,
      (sx, sy) => {
        const v = Math.round(Math.min(1, Math.max(0, m.pixels[sy * side + sx]! * norm)) * 255);
        return [v, v, v];
      },
      scale,
    );
    const label = `${m.label}>${m.predicted} ${Math.round(m.confidence * 100)}%`;
    r.text(label, x + tile / 2 - textWidth(label, 2) / 2, y + tile + 4, [200, 30, 30], 2);
  });
  return r;
}
