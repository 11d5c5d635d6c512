import { readFile, stat } from 'node:fs/promises';
import { tensor } from '@neurite/tensor';
import { readCheckpoint } from '../checkpoint.js';
import { InputError } from '../core/errors.js';
import { decodePng } from '../core/image.js';
import { outputActivations, outputsLogits } from '../core/inference.js';
import { preprocess } from '../core/preprocess.js';
import { inputSize } from '../core/spec-info.js';
import type { Output } from '../output.js';

export interface PredictOptions {
  model: string;
  image: string;
}

const SHADES = ' .:-=+*#%@';
const INK = {
  light: 'dark ink on a light background (inverted)',
  dark: 'light ink on a dark background',
  transparent: 'ink on a transparent background',
} as const;

/**
 * `mnist-mlp predict`: any PNG made to look like an MNIST digit, then the
 * network's 10 output activations and its answer.
 */
export async function predictCommand(options: PredictOptions, out: Output): Promise<number> {
  const { model, spec } = await readCheckpoint(options.model);
  const info = await stat(options.image).catch(() => null);
  if (!info?.isFile()) throw new InputError(`${options.image}: no such file`);
  const image = decodePng(new Uint8Array(await readFile(options.image)), options.image);
  const side = Math.round(Math.sqrt(inputSize(spec)));
  if (side * side !== inputSize(spec)) {
    throw new InputError(
      `--model ${options.model}: the network takes ${inputSize(spec)} inputs, not a square image`,
    );
  }
  const digit = preprocess(image, { side, fit: Math.round((side * 20) / 28) });
  const activations = Array.from(
    outputActivations(model, spec, tensor(digit.pixels, { shape: [1, side * side] })).data,
  );
  let predicted = 0;
  activations.forEach((v, i) => {
    if (v > activations[predicted]!) predicted = i;
  });

  out.line(
    `${options.image}: ${image.width}×${image.height}, ${INK[digit.background]}, as the network sees it:`,
  );
  for (let y = 0; y < side; y++) {
    let row = '';
    for (let x = 0; x < side; x++) {
      const v = digit.pixels[y * side + x]!;
      row += SHADES[Math.min(SHADES.length - 1, Math.floor(v * SHADES.length))]!.repeat(2);
    }
    out.line(`  |${row}|`);
  }
  if (digit.empty) out.line('  (no ink found: the picture is blank)');
  out.line(
    outputsLogits(spec) ? 'output activations (softmax probabilities):' : 'output activations:',
  );
  activations.forEach((v, i) => {
    const bar = '#'.repeat(Math.round(Math.max(0, Math.min(1, v)) * 30));
    out.line(`  ${i}  ${v.toFixed(4)}  ${bar}${i === predicted ? '  <' : ''}`);
  });
  out.line(`predicted digit: ${predicted}`);
  out.result({
    image: options.image,
    predicted,
    activations,
    inverted: digit.inverted,
    empty: digit.empty,
  });
  return 0;
}
