import { convertIndexedToRgb, decode, hasPngSignature } from 'fast-png';
import { inflateSync } from 'fflate';
import { InputError } from './errors.js';

/**
 * A picture reduced to what digit recognition needs: luminance and opacity,
 * both in [0, 1], row-major.
 */
export interface GrayImage {
  readonly width: number;
  readonly height: number;
  /** Luminance, 0 black … 1 white. */
  readonly gray: Float32Array;
  /** Opacity, 0 transparent … 1 opaque (all ones for images without alpha). */
  readonly alpha: Float32Array;
}

/** Pixels as canvases and PNG decoders hand them out: `channels` values per pixel. */
export interface RasterPixels {
  readonly width: number;
  readonly height: number;
  /** 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA. */
  readonly channels: number;
  /** One value per channel per pixel, already unpacked (no sub-byte packing). */
  readonly data: ArrayLike<number>;
  /** The largest channel value: 255 for 8-bit data, 65535 for 16-bit. */
  readonly maxValue: number;
}

/**
 * Luminance (ITU-R BT.601 weights, as most image libraries use) and opacity
 * of unpacked pixels, e.g. a canvas's `ImageData` (`channels: 4, maxValue: 255`).
 *
 * @example
 * const img = toGray({ width: c.width, height: c.height, channels: 4, data: ctx.getImageData(0, 0, c.width, c.height).data, maxValue: 255 });
 */
export function toGray(pixels: RasterPixels): GrayImage {
  const { width, height, channels, data, maxValue } = pixels;
  const n = width * height;
  if (![1, 2, 3, 4].includes(channels))
    throw new InputError(`image: ${channels} channels per pixel; expected 1, 2, 3 or 4`);
  if (data.length !== n * channels)
    throw new InputError(
      `image: ${data.length} values for ${width}x${height} pixels with ${channels} channels (expected ${n * channels})`,
    );
  const gray = new Float32Array(n);
  const alpha = new Float32Array(n).fill(1);
  const scale = 1 / maxValue;
  for (let i = 0; i < n; i++) {
    const p = i * channels;
    if (channels <= 2) {
      gray[i] = data[p]! * scale;
    } else {
      gray[i] = (0.299 * data[p]! + 0.587 * data[p + 1]! + 0.114 * data[p + 2]!) * scale;
    }
    if (channels === 2 || channels === 4) alpha[i] = data[p + channels - 1]! * scale;
  }
  return { width, height, gray, alpha };
}

/**
 * Decodes a PNG file of any colour type and bit depth (gray, gray+alpha,
 * RGB, RGBA, palette; 1 to 16 bits) into luminance and opacity.
 * `name` is only used in error messages.
 *
 * @example
 * const img = decodePng(await fs.readFile('digit.png'), 'digit.png');
 */
export function decodePng(
  bytes: Uint8Array,
  name = 'image',
  { maxPixels = DEFAULT_MAX_PIXELS }: { maxPixels?: number } = {},
): GrayImage {
  if (bytes.length < 8 || !hasPngSignature(bytes)) {
    throw new InputError(`${name}: not a PNG file (the first 8 bytes are not the PNG signature)`);
  }
  // The size is checked from the header before anything is decoded: a small
  // file can declare an image of gigabytes.
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 33 || String.fromCharCode(...bytes.subarray(12, 16)) !== 'IHDR') {
    throw new InputError(`${name}: corrupt PNG: no IHDR chunk at byte 8, where the header must be`);
  }
  const declaredWidth = view.getUint32(16);
  const declaredHeight = view.getUint32(20);
  if (declaredWidth * declaredHeight > maxPixels) {
    throw new InputError(
      `${name}: the PNG is ${declaredWidth}×${declaredHeight} pixels, more than the ${maxPixels} ` +
        'this reads (a digit needs far fewer: scale it down)',
    );
  }
  let png: ReturnType<typeof decode>;
  try {
    png = decode(bytes, { checkCrc: true });
    checkAdler32(bytes, view);
  } catch (error) {
    throw new InputError(`${name}: corrupt PNG: ${(error as Error).message}`);
  }
  const { width, height, depth } = png;
  if (width === 0 || height === 0) throw new InputError(`${name}: the PNG has no pixels`);
  if (png.palette) {
    const rgb = convertIndexedToRgb(png);
    const channels = png.palette[0]?.length ?? 3;
    return toGray({ width, height, channels, data: rgb, maxValue: 255 });
  }
  const channels = png.channels;
  const data = depth < 8 ? unpackBits(png.data, width, height, depth) : png.data;
  return toGray({ width, height, channels, data, maxValue: 2 ** depth - 1 });
}

/** 4096×4096: far more than a digit needs, far less than memory holds. */
const DEFAULT_MAX_PIXELS = 4096 * 4096;

/**
 * Checks the Adler-32 that ends the image's zlib stream, which the decoder
 * skips: chunk CRCs catch damage in transit, this catches data a broken
 * encoder wrote.
 */
function checkAdler32(bytes: Uint8Array, view: DataView): void {
  const parts: Uint8Array[] = [];
  for (let at = 8; at + 8 <= bytes.length; ) {
    const length = view.getUint32(at);
    if (String.fromCharCode(...bytes.subarray(at + 4, at + 8)) === 'IDAT') {
      parts.push(bytes.subarray(at + 8, at + 8 + length));
    }
    at += 12 + length;
  }
  const stream = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let filled = 0;
  for (const p of parts) {
    stream.set(p, filled);
    filled += p.length;
  }
  if (stream.length < 6) throw new Error('the image data is too short for a zlib stream');
  const data = inflateSync(stream.subarray(2, -4));
  let a = 1;
  let b = 0;
  for (let i = 0; i < data.length; ) {
    // 5552 bytes is the most that can be summed before the sums overflow 2^32.
    for (const end = Math.min(data.length, i + 5552); i < end; i++) {
      a += data[i]!;
      b += a;
    }
    a %= 65521;
    b %= 65521;
  }
  const stored = new DataView(stream.buffer, stream.length - 4, 4).getUint32(0);
  if (((b << 16) | a) >>> 0 !== stored) {
    throw new Error(
      `Adler-32 of the image data is ${(((b << 16) | a) >>> 0).toString(16)}, the stream says ${stored.toString(16)}`,
    );
  }
}

/** Gray PNGs of 1, 2 or 4 bits pack several pixels per byte, each row padded to a byte. */
function unpackBits(packed: ArrayLike<number>, width: number, height: number, depth: number) {
  const out = new Uint8Array(width * height);
  const rowBytes = Math.ceil((width * depth) / 8);
  const mask = (1 << depth) - 1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const bit = x * depth;
      const byte = packed[y * rowBytes + (bit >> 3)]!;
      out[y * width + x] = (byte >> (8 - depth - (bit & 7))) & mask;
    }
  }
  return out;
}
