/**
 * @neurite/onnx: ONNX export of any neurite forward function.
 *
 * @example
 * import { toOnnx } from '@neurite/onnx';
 * const bytes = toOnnx(model, { inputShape: ['batch', 784] });
 */
export { OnnxExportError } from './errors.js';
export {
  DEFAULT_OPSET,
  type Exportable,
  type ForwardModule,
  type ToOnnxOptions,
  toOnnx,
} from './export.js';
export { type Dim, supportedOpsets } from './graph.js';
