import type { Tensor } from '@neurite/tensor';
import { StateDictError } from './errors.js';
import {
  type ActivationName,
  ELU,
  GELU,
  Identity,
  LeakyReLU,
  ReLU,
  Sigmoid,
  SiLU,
  Softmax,
  Softplus,
  Tanh,
} from './layers/activations.js';
import { Conv1d, Conv2d } from './layers/conv.js';
import { Dropout } from './layers/dropout.js';
import { Embedding } from './layers/embedding.js';
import { Flatten } from './layers/flatten.js';
import { Dense, Linear } from './layers/linear.js';
import { BatchNorm1d, BatchNorm2d, LayerNorm } from './layers/normalization.js';
import { AdaptiveAvgPool2d, AvgPool2d, MaxPool2d } from './layers/pooling.js';
import type { Sequential } from './layers/sequential.js';
import type { LoadStateDictResult, Module } from './module.js';

/**
 * The PyTorch side of a `Sequential`: the `torch.nn.Sequential` that computes
 * the same function, and the state-dict names its parameters have there. The
 * names differ only where a neurite layer is two PyTorch modules: a `Dense`
 * with an activation is `nn.Linear` followed by the activation's module, so
 * the layers after it move up one index (`0.weight`, `2.weight`, … for the
 * 784-16-16-10 network).
 */
export interface TorchLayout {
  /** Each neurite state-dict name and its name in the PyTorch module. */
  readonly names: Readonly<Record<string, string>>;
  /** Python that builds the equivalent module: `model = nn.Sequential(…)`. */
  readonly code: string;
}

const py = (v: number | boolean | null): string =>
  v === null ? 'None' : typeof v === 'boolean' ? (v ? 'True' : 'False') : String(v);

function activationModule(name: ActivationName): string | null {
  const modules: Record<ActivationName, string | null> = {
    sigmoid: 'nn.Sigmoid()',
    relu: 'nn.ReLU()',
    tanh: 'nn.Tanh()',
    leakyRelu: 'nn.LeakyReLU(0.01)',
    softmax: 'nn.Softmax(dim=-1)',
    gelu: 'nn.GELU()',
    silu: 'nn.SiLU()',
    softplus: 'nn.Softplus()',
    elu: 'nn.ELU()',
    linear: null,
  };
  return modules[name];
}

/** The PyTorch modules one neurite layer becomes, first the one that holds its parameters. */
function torchModules(layer: Module, index: number): string[] {
  if (layer instanceof Dense || layer instanceof Linear) {
    const linear = `nn.Linear(${layer.inFeatures}, ${layer.outFeatures}, bias=${py(layer.bias !== null)})`;
    const act = layer instanceof Dense ? activationModule(layer.activation) : null;
    return act ? [linear, act] : [linear];
  }
  if (layer instanceof BatchNorm1d || layer instanceof BatchNorm2d) {
    const kind = layer instanceof BatchNorm1d ? 'BatchNorm1d' : 'BatchNorm2d';
    return [
      `nn.${kind}(${layer.numFeatures}, eps=${layer.eps}, momentum=${py(layer.momentum)}, affine=${py(layer.affine)}, track_running_stats=${py(layer.trackRunningStats)})`,
    ];
  }
  if (layer instanceof LayerNorm) {
    return [
      `nn.LayerNorm([${layer.normalizedShape.join(', ')}], eps=${layer.eps}, elementwise_affine=${py(layer.weight !== null)})`,
    ];
  }
  if (layer instanceof Embedding) {
    return [
      `nn.Embedding(${layer.numEmbeddings}, ${layer.embeddingDim}, padding_idx=${py(layer.paddingIdx)})`,
    ];
  }
  if (layer instanceof Conv2d || layer instanceof Conv1d) {
    const two = layer instanceof Conv2d;
    const tuple = (v: number | readonly number[]) =>
      typeof v === 'number' ? String(v) : `(${v.join(', ')})`;
    const padding = typeof layer.padding === 'string' ? `'${layer.padding}'` : tuple(layer.padding);
    return [
      `nn.Conv${two ? 2 : 1}d(${layer.inChannels}, ${layer.outChannels}, kernel_size=${tuple(layer.kernelSize)}, stride=${tuple(layer.stride)}, padding=${padding}, dilation=${tuple(layer.dilation)}, groups=${layer.groups}, bias=${py(layer.bias !== null)}, padding_mode='${layer.paddingMode}')`,
    ];
  }
  if (layer instanceof MaxPool2d || layer instanceof AvgPool2d) {
    const tuple = (v: number | readonly number[]) =>
      typeof v === 'number' ? String(v) : `(${v.join(', ')})`;
    const { stride, padding } = layer.options;
    const common = `${tuple(layer.kernelSize)}, stride=${stride === undefined ? 'None' : tuple(stride)}, padding=${tuple(padding ?? 0)}`;
    return layer instanceof MaxPool2d
      ? [`nn.MaxPool2d(${common}, dilation=${tuple(layer.options.dilation ?? 1)})`]
      : [`nn.AvgPool2d(${common}, count_include_pad=${py(layer.options.countIncludePad ?? true)})`];
  }
  if (layer instanceof AdaptiveAvgPool2d) {
    const size = layer.outputSize;
    return [`nn.AdaptiveAvgPool2d(${typeof size === 'number' ? size : `(${size.join(', ')})`})`];
  }
  if (layer instanceof Dropout) return [`nn.Dropout(${layer.rate})`];
  if (layer instanceof Flatten) return [`nn.Flatten(${layer.startDim}, ${layer.endDim})`];
  if (layer instanceof Sigmoid) return ['nn.Sigmoid()'];
  if (layer instanceof ReLU) return ['nn.ReLU()'];
  if (layer instanceof Tanh) return ['nn.Tanh()'];
  if (layer instanceof LeakyReLU) return [`nn.LeakyReLU(${layer.alpha})`];
  if (layer instanceof Softmax) return [`nn.Softmax(dim=${layer.axis})`];
  if (layer instanceof GELU) return [`nn.GELU(approximate='${layer.approximate}')`];
  if (layer instanceof SiLU) return ['nn.SiLU()'];
  if (layer instanceof Softplus)
    return [`nn.Softplus(beta=${layer.beta}, threshold=${layer.threshold})`];
  if (layer instanceof ELU) return [`nn.ELU(${layer.alpha})`];
  if (layer instanceof Identity) return ['nn.Identity()'];
  throw new StateDictError(
    `torchLayout: layer ${index} (${layer.constructor.name}) has no torch.nn module of the same function; export its state dict under neurite's names`,
  );
}

/**
 * Where a `Sequential`'s parameters and buffers sit in the `torch.nn.Sequential`
 * that computes the same function, and the Python that builds that module.
 *
 * @example
 * const { names, code } = torchLayout(model);
 * names['1.weight']; // '2.weight': layer 0 is nn.Linear then nn.Sigmoid
 * console.log(code);  // model = nn.Sequential(nn.Linear(784, 16, bias=True), nn.Sigmoid(), …)
 */
export function torchLayout(model: Sequential): TorchLayout {
  const names: Record<string, string> = {};
  const modules: string[] = [];
  model.layers.forEach((layer, i) => {
    const own = torchModules(layer, i);
    const at = modules.length;
    for (const [name] of [...layer.namedParameters(), ...layer.namedBuffers()])
      names[`${i}.${name}`] = `${at}.${name}`;
    modules.push(...own);
  });
  const code = [
    'import torch.nn as nn',
    '',
    'model = nn.Sequential(',
    ...modules.map((m, i) => `    ${m},  # ${i}`),
    ')',
  ].join('\n');
  return { names, code };
}

/**
 * The model's state dict under the names `torch.nn.Sequential` gives the same
 * stack (see `torchLayout`): save it with `toSafetensors(dict, { format: 'pt' })`
 * and PyTorch loads it with `load_state_dict(strict=True)`.
 *
 * @example
 * const bytes = toSafetensors(toTorchStateDict(model), { format: 'pt' });
 * // python: model.load_state_dict(safetensors.torch.load_file('model.safetensors'))
 */
export function toTorchStateDict(model: Sequential): Record<string, Tensor> {
  const { names } = torchLayout(model);
  const out: Record<string, Tensor> = {};
  for (const [name, t] of Object.entries(model.stateDict())) out[names[name] ?? name] = t;
  return out;
}

/**
 * Loads a PyTorch state dict of the equivalent `torch.nn.Sequential` into the
 * model, without renaming by hand. Every problem is listed at once under
 * PyTorch's names (missing, unexpected, wrong shape), and nothing changes
 * unless everything fits. Names that are already neurite's load as they are.
 *
 * @example
 * const { tensors } = fromSafetensors(bytes, 'torch-model.safetensors');
 * loadTorchStateDict(model, tensors);
 */
export function loadTorchStateDict(
  model: Sequential,
  tensors: Record<string, Tensor>,
  { strict = true }: { strict?: boolean } = {},
): LoadStateDictResult {
  const { names } = torchLayout(model);
  const toNeurite = new Map(Object.entries(names).map(([n, t]) => [t, n]));
  const keys = Object.keys(tensors);
  // A dict already in neurite's names (a neurite checkpoint) is taken as it is.
  const native = keys.every((k) => k in names) && keys.some((k) => names[k] !== k);
  const mapped: Record<string, Tensor> = {};
  for (const [name, t] of Object.entries(tensors))
    mapped[native ? name : (toNeurite.get(name) ?? name)] = t;
  try {
    const result = model.loadStateDict(mapped, { strict });
    if (native) return result;
    const back = (n: string) => names[n] ?? n;
    return { missing: result.missing.map(back), unexpected: result.unexpected };
  } catch (e) {
    if (!(e instanceof StateDictError) || native) throw e;
    let message = e.message;
    for (const [n, t] of Object.entries(names)) message = message.replaceAll(`'${n}'`, `'${t}'`);
    throw new StateDictError(`${message.replace(/^loadStateDict/, 'loadTorchStateDict')}`);
  }
}
