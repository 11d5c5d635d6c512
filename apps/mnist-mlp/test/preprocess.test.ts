import { crc32 } from 'node:zlib';
import { encode } from 'fast-png';
import { describe, expect, it } from 'vitest';
import { InputError } from '../src/core/errors.js';
import { decodePng, toGray } from '../src/core/image.js';
import { preprocess } from '../src/core/preprocess.js';

/** A `width × height` gray picture with a filled rectangle of `ink` on `paper`. */
function rectangle(
  width: number,
  height: number,
  rect: { x: number; y: number; w: number; h: number },
  paper: number,
  ink: number,
): Uint8Array {
  const data = new Uint8Array(width * height).fill(paper);
  for (let y = rect.y; y < rect.y + rect.h; y++)
    for (let x = rect.x; x < rect.x + rect.w; x++) data[y * width + x] = ink;
  return data;
}

function centreOfMass(pixels: Float32Array, side = 28): [number, number] {
  let m = 0;
  let cx = 0;
  let cy = 0;
  for (let y = 0; y < side; y++)
    for (let x = 0; x < side; x++) {
      const v = pixels[y * side + x]!;
      m += v;
      cx += v * (x + 0.5);
      cy += v * (y + 0.5);
    }
  return [cx / m, cy / m];
}

function inkBox(pixels: Float32Array, side = 28) {
  let x0 = side;
  let x1 = -1;
  let y0 = side;
  let y1 = -1;
  for (let y = 0; y < side; y++)
    for (let x = 0; x < side; x++)
      if (pixels[y * side + x]! > 0) {
        x0 = Math.min(x0, x);
        x1 = Math.max(x1, x);
        y0 = Math.min(y0, y);
        y1 = Math.max(y1, y);
      }
  return { width: x1 - x0 + 1, height: y1 - y0 + 1 };
}

describe('preprocess', () => {
  it('inverts dark ink on a light background, scales the box to 20 and centres the mass', () => {
    // A tall bar, off-centre, on white paper: 200×120 px, bar 20×80 at (150, 10).
    const gray = rectangle(200, 120, { x: 150, y: 10, w: 20, h: 80 }, 255, 0);
    const png = encode({ width: 200, height: 120, data: gray, channels: 1, depth: 8 });
    const out = preprocess(decodePng(png));
    expect(out.inverted).toBe(true);
    expect(out.background).toBe('light');
    expect(out.empty).toBe(false);
    expect(out.box).toEqual({ x: 150, y: 10, width: 20, height: 80 });
    expect(inkBox(out.pixels)).toEqual({ width: 5, height: 20 });
    const [cx, cy] = centreOfMass(out.pixels);
    expect(Math.abs(cx - 14)).toBeLessThanOrEqual(0.5);
    expect(Math.abs(cy - 14)).toBeLessThanOrEqual(0.5);
    expect(Math.max(...out.pixels)).toBeCloseTo(1, 5);
    expect(out.pixels[0]).toBe(0);
  });

  it('keeps light ink on a dark background, and stretches a gray background to 0', () => {
    const gray = rectangle(50, 50, { x: 10, y: 5, w: 30, h: 30 }, 40, 220);
    const out = preprocess(
      toGray({ width: 50, height: 50, channels: 1, data: gray, maxValue: 255 }),
    );
    expect(out.inverted).toBe(false);
    expect(out.background).toBe('dark');
    expect(inkBox(out.pixels)).toEqual({ width: 20, height: 20 });
    // Background 40 maps to 0, ink 220 to 1: a uniform square stays uniform inside.
    expect(out.pixels[14 * 28 + 14]).toBeCloseTo(1, 5);
    expect(out.pixels[0]).toBe(0);
  });

  it('reads colour PNGs by luminance (red ink on white)', () => {
    const w = 40;
    const h = 40;
    const rgb = new Uint8Array(w * h * 3).fill(255);
    for (let y = 5; y < 35; y++)
      for (let x = 18; x < 22; x++) {
        rgb[(y * w + x) * 3 + 1] = 0;
        rgb[(y * w + x) * 3 + 2] = 0;
      }
    const out = preprocess(
      decodePng(encode({ width: w, height: h, data: rgb, channels: 3, depth: 8 })),
    );
    expect(out.inverted).toBe(true);
    expect(inkBox(out.pixels).height).toBe(20);
  });

  it('treats a transparent canvas as background, whatever the colour of the strokes', () => {
    const w = 30;
    const h = 30;
    const rgba = new Uint8Array(w * h * 4); // transparent black
    for (let y = 3; y < 27; y++)
      for (let x = 12; x < 18; x++) rgba.set([255, 255, 255, 255], (y * w + x) * 4);
    const out = preprocess(
      decodePng(encode({ width: w, height: h, data: rgba, channels: 4, depth: 8 })),
    );
    expect(out.empty).toBe(false);
    expect(out.background).toBe('transparent');
    expect(inkBox(out.pixels)).toEqual({ width: 5, height: 20 });
  });

  it('reads 16-bit gray and 1-bit gray PNGs', () => {
    const g16 = new Uint16Array(20 * 20).fill(65535);
    for (let y = 2; y < 18; y++) for (let x = 8; x < 12; x++) g16[y * 20 + x] = 0;
    const a = preprocess(
      decodePng(encode({ width: 20, height: 20, data: g16, channels: 1, depth: 16 })),
    );
    expect(inkBox(a.pixels)).toEqual({ width: 5, height: 20 });

    // 1-bit: 16 px wide = 2 bytes a row; a vertical bar at x = 6..9 is 0 on 1 (white).
    const rows = 16;
    const packed = new Uint8Array(rows * 2).fill(0xff);
    for (let y = 0; y < rows; y++) packed[y * 2] = 0b11111100 | 0; // x 6,7 dark
    for (let y = 0; y < rows; y++) packed[y * 2 + 1] = 0b00111111; // x 8,9 dark
    const b = preprocess(
      decodePng(encode({ width: 16, height: rows, data: packed, channels: 1, depth: 1 })),
    );
    expect(b.inverted).toBe(true);
    expect(b.box).toEqual({ x: 6, y: 0, width: 4, height: 16 });
  });

  it('reports a blank picture as empty (all zeros)', () => {
    const out = preprocess(
      toGray({
        width: 10,
        height: 10,
        channels: 1,
        data: new Uint8Array(100).fill(200),
        maxValue: 255,
      }),
    );
    expect(out.empty).toBe(true);
    expect(out.pixels.every((v) => v === 0)).toBe(true);
  });

  it('refuses bytes that are not a PNG, naming the file', () => {
    expect(() => decodePng(new TextEncoder().encode('GIF89a not a png'), 'digit.png')).toThrow(
      InputError,
    );
    expect(() => decodePng(new TextEncoder().encode('GIF89a not a png'), 'digit.png')).toThrow(
      /digit\.png: not a PNG/,
    );
    const png = encode({ width: 4, height: 4, data: new Uint8Array(16), channels: 1, depth: 8 });
    expect(() => decodePng(png.slice(0, 30), 'cut.png')).toThrow(/cut\.png: corrupt PNG/);
  });

  /** The PNG with chunk `type`'s data changed by `edit` and its CRC made right again. */
  function edited(png: Uint8Array, type: string, edit: (data: Uint8Array) => void): Uint8Array {
    const out = png.slice();
    const view = new DataView(out.buffer);
    for (let at = 8; at < out.length; ) {
      const length = view.getUint32(at);
      if (String.fromCharCode(...out.subarray(at + 4, at + 8)) === type) {
        edit(out.subarray(at + 8, at + 8 + length));
        view.setUint32(at + 8 + length, crc32(out.subarray(at + 4, at + 8 + length)) >>> 0);
        return out;
      }
      at += 12 + length;
    }
    throw new Error(`no ${type} chunk`);
  }

  it('checks chunk CRCs and the Adler-32 of the image data', () => {
    const png = encode({
      width: 6,
      height: 6,
      data: new Uint8Array(36).fill(9),
      channels: 1,
      depth: 8,
    });
    expect(decodePng(png).gray[0]).toBeCloseTo(9 / 255, 6);
    const flipped = png.slice();
    flipped[flipped.length - 20]! ^= 1; // inside IDAT: its CRC no longer matches
    expect(() => decodePng(flipped, 'crc.png')).toThrow(/crc\.png: corrupt PNG: CRC mismatch/);
    // A right CRC over a wrong checksum: what a broken encoder writes.
    const adler = edited(png, 'IDAT', (d) => {
      d[d.length - 1]! ^= 0xff;
    });
    expect(() => decodePng(adler, 'adler.png')).toThrow(/adler\.png: corrupt PNG: Adler-32/);
  });

  it('refuses a PNG whose header declares too many pixels, before decoding it', () => {
    const png = encode({ width: 4, height: 4, data: new Uint8Array(16), channels: 1, depth: 8 });
    const huge = edited(png, 'IHDR', (d) => {
      new DataView(d.buffer, d.byteOffset).setUint32(0, 20000);
      new DataView(d.buffer, d.byteOffset).setUint32(4, 20000);
    });
    expect(() => decodePng(huge, 'huge.png')).toThrow(
      /huge\.png: the PNG is 20000×20000 pixels, more than the 16777216 this reads/,
    );
    expect(() => decodePng(png, 'small.png', { maxPixels: 15 })).toThrow(
      /4×4 pixels, more than the 15/,
    );
  });
});
