import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { readCheckpoint } from '../checkpoint.js';
import { InputError } from '../core/errors.js';
import { figures } from '../core/figures.js';
import { checkFits, datasetForCheckpoint } from '../dataset.js';
import type { Output } from '../output.js';

export interface VisualizeOptions {
  model: string;
  out: string;
  data?: string;
}

/** Writes the four pictures of a checkpoint into `dir`; returns their paths. */
export async function writeFigures(options: VisualizeOptions, out: Output): Promise<string[]> {
  const { model, spec, meta } = await readCheckpoint(options.model);
  const { test, source } = await datasetForCheckpoint(options.data, meta?.data);
  checkFits(spec, { test }, source);
  try {
    await mkdir(options.out, { recursive: true });
  } catch (error) {
    throw new InputError(
      `--out ${options.out}: cannot make the folder: ${(error as Error).message}`,
    );
  }
  if (!meta) out.line(`${options.model} has no training history: curves.png stays empty`);
  const paths: string[] = [];
  for (const figure of figures(model, spec, meta?.history ?? [], test, meta?.keptEpoch)) {
    const path = join(options.out, figure.file);
    await writeFile(path, figure.raster.toPng());
    out.line(`${resolve(path)}  ${figure.raster.width}×${figure.raster.height}  ${figure.title}`);
    paths.push(path);
  }
  return paths;
}

/** `mnist-mlp visualize`. */
export async function visualizeCommand(options: VisualizeOptions, out: Output): Promise<number> {
  const files = await writeFigures(options, out);
  out.result({ model: options.model, files });
  return 0;
}
