import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { InputError } from '../core/errors.js';
import { type Output, percent } from '../output.js';
import { runTraining } from './train.js';
import { writeFigures } from './visualize.js';

export interface DemoOptions {
  out: string;
  /** Default: the recipe's. */
  epochs?: number;
  seed: number;
}

/**
 * `mnist-mlp demo`: trains the `modern` recipe with its defaults on the
 * embedded digits, draws the pictures, and says where everything went.
 */
export async function demoCommand(options: DemoOptions, out: Output): Promise<number> {
  try {
    await mkdir(options.out, { recursive: true });
  } catch (error) {
    throw new InputError(
      `--out ${options.out}: cannot make the folder: ${(error as Error).message}`,
    );
  }
  const model = join(options.out, 'model.safetensors');
  const report = await runTraining(
    {
      recipe: 'modern',
      epochs: options.epochs,
      seed: options.seed,
      data: 'embedded',
      out: model,
      compile: true,
    },
    out,
  );
  out.line();
  out.line('pictures:');
  await writeFigures({ model, out: options.out }, out);
  out.line();
  out.line(`test accuracy ${percent(report.test_accuracy)} on the 2,000 held-out embedded digits`);
  out.line(`checkpoint: ${resolve(model)}`);
  out.line(`pictures:   ${resolve(options.out)}`);
  out.line(`next: mnist-mlp predict --model ${resolve(model)} your-digit.png`);
  out.result({ ...report, out: options.out });
  return report.stopped ? 130 : 0;
}
