import { convertIndexedToRgb, decode, hasPngSignature } from 'fast-png';
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
export function decodePng(bytes: Uint8Array, name = 'image'): GrayImage {
  if (bytes.length < 8 || !hasPngSignature(bytes)) {
    throw new InputError(`${name}: not a PNG file (the first 8 bytes are not the PNG signature)`);
  }
  let png: ReturnType<typeof decode>;
  try {
    png = decode(bytes);
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
