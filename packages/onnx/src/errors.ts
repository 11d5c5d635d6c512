import { NeuriteError } from '@neurite/tensor';

/** Thrown when a function cannot be written as ONNX: it names the op, where it is used and why. */
export class OnnxExportError extends NeuriteError {
  override name = 'OnnxExportError';
}
