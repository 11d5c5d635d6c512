import { encode } from 'fast-png';
import { GLYPH_WIDTH, glyph } from './font.js';

/** An RGB colour, 0–255 per channel. */
export type Rgb = readonly [number, number, number];

/**
 * An RGBA pixel buffer with the few drawing operations the pictures need.
 * Pictures are drawn by hand rather than with a charting library: they are
 * simple, and the same code runs in Node and in a browser.
 *
 * @example
 * const r = new Raster(100, 50, [255, 255, 255]);
 * r.text('ACC 96%', 4, 4, [0, 0, 0], 2);
 * const png = r.toPng();
 */
export class Raster {
  readonly data: Uint8Array;

  constructor(
    readonly width: number,
    readonly height: number,
    background: Rgb = [255, 255, 255],
  ) {
    this.data = new Uint8Array(width * height * 4);
    this.fillRect(0, 0, width, height, background);
  }

  /** Sets one pixel; coordinates outside the picture are ignored. */
  set(x: number, y: number, [r, g, b]: Rgb): void {
    x = Math.round(x);
    y = Math.round(y);
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return;
    const p = (y * this.width + x) * 4;
    this.data[p] = r;
    this.data[p + 1] = g;
    this.data[p + 2] = b;
    this.data[p + 3] = 255;
  }

  /** The colour at (x, y). */
  get(x: number, y: number): Rgb {
    const p = (y * this.width + x) * 4;
    return [this.data[p]!, this.data[p + 1]!, this.data[p + 2]!];
  }

  fillRect(x: number, y: number, w: number, h: number, colour: Rgb): void {
    for (let yy = y; yy < y + h; yy++) for (let xx = x; xx < x + w; xx++) this.set(xx, yy, colour);
  }

  strokeRect(x: number, y: number, w: number, h: number, colour: Rgb): void {
    this.fillRect(x, y, w, 1, colour);
    this.fillRect(x, y + h - 1, w, 1, colour);
    this.fillRect(x, y, 1, h, colour);
    this.fillRect(x + w - 1, y, 1, h, colour);
  }

  /** A straight line `thickness` pixels wide (a square brush walked along the segment). */
  line(x0: number, y0: number, x1: number, y1: number, colour: Rgb, thickness = 1): void {
    const steps = Math.max(1, Math.ceil(Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0)) * 2));
    const half = Math.floor(thickness / 2);
    for (let s = 0; s <= steps; s++) {
      const x = Math.round(x0 + ((x1 - x0) * s) / steps);
      const y = Math.round(y0 + ((y1 - y0) * s) / steps);
      this.fillRect(x - half, y - half, thickness, thickness, colour);
    }
  }

  /** Draws `text` in the built-in 3×5 font, top-left corner at (x, y). */
  text(text: string, x: number, y: number, colour: Rgb, scale = 1): void {
    let cx = x;
    for (const char of text) {
      for (const [gx, gy] of glyph(char))
        this.fillRect(cx + gx * scale, y + gy * scale, scale, scale, colour);
      cx += (GLYPH_WIDTH + 1) * scale;
    }
  }

  /** Copies `width × height` colours given by `colourAt(x, y)` at (x, y), each source pixel as a `scale × scale` block. */
  blit(
    x: number,
    y: number,
    width: number,
    height: number,
    colourAt: (sx: number, sy: number) => Rgb,
    scale = 1,
  ): void {
    for (let sy = 0; sy < height; sy++) {
      for (let sx = 0; sx < width; sx++) {
        this.fillRect(x + sx * scale, y + sy * scale, scale, scale, colourAt(sx, sy));
      }
    }
  }

  /** The picture as PNG file bytes. */
  toPng(): Uint8Array {
    return encode({
      width: this.width,
      height: this.height,
      data: this.data,
      channels: 4,
      depth: 8,
    });
  }
}
