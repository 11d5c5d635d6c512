import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeIdx } from '@neurite/data';
import { Rng } from '@neurite/tensor';
import { glyph } from '../src/core/font.js';

const app = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Easy synthetic digits: digit d is the 3×5 font's glyph of d drawn with
 * `cell`-pixel blocks near the centre of a `side × side` image, moved by up
 * to one pixel, with faint noise: learnable in an epoch or two, and a big
 * rendering of the same glyph preprocesses to nearly the same picture.
 */
export function glyphDigits(count: number, seed: number, side = 28, cell = 4) {
  const rng = new Rng(seed);
  const pixels = new Uint8Array(count * side * side);
  const labels = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const d = i % 10;
    labels[i] = d;
    const base = i * side * side;
    for (let p = 0; p < side * side; p++) pixels[base + p] = rng.int(30);
    const ox = Math.floor((side - 3 * cell) / 2) + rng.int(3) - 1;
    const oy = Math.floor((side - 5 * cell) / 2) + rng.int(3) - 1;
    for (const [gx, gy] of glyph(String(d))) {
      for (let y = 0; y < cell; y++)
        for (let x = 0; x < cell; x++) {
          const px = ox + gx * cell + x;
          const py = oy + gy * cell + y;
          if (px >= 0 && py >= 0 && px < side && py < side)
            pixels[base + py * side + px] = 200 + rng.int(56);
        }
    }
  }
  return { pixels, labels };
}

/** Writes the four IDX files of a dataset of glyph digits into `dir` (gzipped or raw). */
export async function writeGlyphMnist(
  dir: string,
  { train = 600, test = 200, side = 28, gzip = true } = {},
): Promise<void> {
  await mkdir(dir, { recursive: true });
  const suffix = gzip ? '.gz' : '';
  const sets = [
    ['train', glyphDigits(train, 1, side)],
    ['t10k', glyphDigits(test, 2, side)],
  ] as const;
  for (const [prefix, set] of sets) {
    const n = set.labels.length;
    await writeFile(
      join(dir, `${prefix}-images-idx3-ubyte${suffix}`),
      encodeIdx({ dims: [n, side, side], data: set.pixels }, { gzip }),
    );
    await writeFile(
      join(dir, `${prefix}-labels-idx1-ubyte${suffix}`),
      encodeIdx({ dims: [n], data: set.labels }, { gzip }),
    );
  }
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI from its TypeScript sources, as a child process. */
export function cli(args: readonly string[], cwd = app): Promise<CliResult> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      ['--conditions=@neurite/source', '--import', 'tsx', join(app, 'src/cli.ts'), ...args],
      { cwd, maxBuffer: 16 * 1024 * 1024, env: { ...process.env, NO_COLOR: '1' } },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        done({ code, stdout, stderr });
      },
    );
  });
}

/** The last line of stdout parsed as JSON. */
export function lastJson(stdout: string): Record<string, unknown> {
  const lines = stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]!) as Record<string, unknown>;
}
