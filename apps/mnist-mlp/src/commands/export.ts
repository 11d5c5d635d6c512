import { torchLayout, toSafetensors, toTorchStateDict } from '@neurite/nn';
import { writeFileAtomic } from '@neurite/nn/node';
import { DEFAULT_OPSET, toOnnx } from '@neurite/onnx';
import { readCheckpoint } from '../checkpoint.js';
import { InputError } from '../core/errors.js';
import type { Output } from '../output.js';

export const exportFormats = ['onnx', 'torch'] as const;
export type ExportFormat = (typeof exportFormats)[number];

export interface ExportOptions {
  model: string;
  format: ExportFormat;
  out: string;
  opset?: number;
}

/**
 * `mnist-mlp export`: a checkpoint as an ONNX model (any batch size) for ONNX
 * Runtime, or as a PyTorch state dict (safetensors, `torch.nn.Sequential`
 * names) with the Python that rebuilds the module.
 */
export async function exportCommand(options: ExportOptions, out: Output): Promise<number> {
  const { model, spec } = await readCheckpoint(options.model);
  let bytes: Uint8Array;
  let details: Record<string, unknown>;
  let lines: string[];
  if (options.format === 'onnx') {
    const opset = options.opset ?? DEFAULT_OPSET;
    bytes = toOnnx(model, { inputShape: ['batch', ...spec.input], opset });
    details = { opset, input: ['batch', ...spec.input] };
    lines = [
      `${options.out}: ONNX opset ${opset}, input 'input' [batch, ${spec.input.join(', ')}], output 'output' (${bytes.length} bytes)`,
    ];
  } else {
    const { code } = torchLayout(model);
    bytes = toSafetensors(toTorchStateDict(model), { format: 'pt' });
    details = { code };
    lines = [
      `${options.out}: PyTorch state dict (${bytes.length} bytes); load it into`,
      '',
      code,
      'model.load_state_dict(safetensors.torch.load_file(path), strict=True)',
    ];
  }
  // Written before anything is printed: a reader that closes the pipe early must not stop the write.
  try {
    await writeFileAtomic(options.out, bytes);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR' || code === 'ENOTDIR')
      throw new InputError(`--out ${options.out}: cannot write: ${(error as Error).message}`);
    throw error;
  }
  for (const line of lines) out.line(line);
  out.result({
    model: options.model,
    format: options.format,
    out: options.out,
    bytes: bytes.length,
    ...details,
  });
  return 0;
}
