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
  if (options.format === 'onnx') {
    const opset = options.opset ?? DEFAULT_OPSET;
    bytes = toOnnx(model, { inputShape: ['batch', ...spec.input], opset });
    details = { opset, input: ['batch', ...spec.input] };
    out.line(
      `${options.out}: ONNX opset ${opset}, input 'input' [batch, ${spec.input.join(', ')}], output 'output' (${bytes.length} bytes)`,
    );
  } else {
    const { code } = torchLayout(model);
    bytes = toSafetensors(toTorchStateDict(model), { format: 'pt' });
    details = { code };
    out.line(`${options.out}: PyTorch state dict (${bytes.length} bytes); load it into`);
    out.line();
    out.line(code);
    out.line('model.load_state_dict(safetensors.torch.load_file(path), strict=True)');
  }
  try {
    await writeFileAtomic(options.out, bytes);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR' || code === 'ENOTDIR')
      throw new InputError(`--out ${options.out}: cannot write: ${(error as Error).message}`);
    throw error;
  }
  out.result({
    model: options.model,
    format: options.format,
    out: options.out,
    bytes: bytes.length,
    ...details,
  });
  return 0;
}
