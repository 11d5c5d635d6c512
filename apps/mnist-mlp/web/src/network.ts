import {
  fromSafetensors,
  type ModelSpec,
  restoreCheckpoint,
  type Sequential,
  SPEC_KEY,
} from '@neurite/nn';
import { layerActivations } from '../../src/core/inference.js';
import { readMeta, type TrainingMeta } from '../../src/core/meta.js';
import { architecture, inputSize } from '../../src/core/spec-info.js';

/** The side of the square images the page draws and feeds in. */
export const SIDE = 28;

/** One dense layer as the picture needs it. */
export interface DenseLayer {
  /** [out × in] row-major: row j holds the weights into neuron j. */
  readonly weight: Float32Array;
  readonly bias: Float32Array;
  readonly inputs: number;
  readonly outputs: number;
  /** The activation that follows it (`linear` for logits). */
  readonly activation: string;
}

/** A checkpoint made ready for the page. */
export interface Network {
  /** Shown in the model picker: `ReLU`, a file name, `trained here`. */
  readonly label: string;
  readonly model: Sequential;
  readonly spec: ModelSpec;
  readonly meta: TrainingMeta | null;
  readonly layers: readonly DenseLayer[];
  /** Layer sizes, input first: [784, 16, 16, 10]. */
  readonly sizes: readonly number[];
}

/** A checkpoint the page cannot show, with the reason in words for the page's reader. */
export class NetworkError extends Error {
  override name = 'NetworkError';
}

/** An error's message without the file name it starts with (the page's sentence names the file). */
function reason(error: unknown, name: string): string {
  const message = (error as Error).message;
  return message.startsWith(`${name}: `) ? message.slice(name.length + 2) : message;
}

/**
 * Rebuilds the network a safetensors checkpoint holds (its spec travels in
 * the file) and checks it is one the page can draw: 28×28 inputs, then
 * dense layers.
 */
export function networkFromCheckpoint(bytes: Uint8Array, name: string, label: string): Network {
  let metadata: Record<string, string>;
  try {
    ({ metadata } = fromSafetensors(bytes, name));
  } catch (error) {
    throw new NetworkError(
      `${name} is not a .safetensors checkpoint, so this page cannot show it (${reason(error, name)}).`,
    );
  }
  if (metadata[SPEC_KEY] === undefined) {
    throw new NetworkError(
      `${name} holds weights but not the description of the network they belong to, so this page cannot rebuild it. ` +
        "It shows checkpoints written by mnist-mlp train, by Train here below, or by neurite's checkpoint functions, which store that description; " +
        'a PyTorch state dict has to be given its architecture in code first (see the README linked at the foot of the page).',
    );
  }
  let restored: ReturnType<typeof restoreCheckpoint>;
  try {
    restored = restoreCheckpoint(bytes, name);
  } catch (error) {
    throw new NetworkError(`Cannot show ${name}: ${reason(error, name)}`);
  }
  const { model, spec } = restored;
  if (inputSize(spec) !== SIDE * SIDE) {
    throw new NetworkError(
      `${name}: the network ${architecture(spec)} takes ${inputSize(spec)} inputs; this page feeds it ${SIDE}×${SIDE} = ${SIDE * SIDE} pixels`,
    );
  }
  const layers: DenseLayer[] = [];
  const params = model.stateDict();
  spec.layers.forEach((layer, i) => {
    if (layer.type === 'dense') {
      const weight = params[`${i}.weight`];
      const bias = params[`${i}.bias`];
      if (weight?.ndim !== 2) {
        throw new NetworkError(
          `Cannot show ${name}: dense layer ${i} has no 2-D weight '${i}.weight'`,
        );
      }
      const [outputs, inputs] = weight.shape as [number, number];
      const fedWith = layers.length === 0 ? SIDE * SIDE : layers[layers.length - 1]!.outputs;
      if (inputs !== fedWith) {
        throw new NetworkError(
          `Cannot show ${name}: dense layer ${i} takes ${inputs} inputs but is fed ${fedWith}; this page draws flat 784-input networks`,
        );
      }
      layers.push({
        weight: Float32Array.from(weight.data),
        bias: bias ? Float32Array.from(bias.data) : new Float32Array(outputs),
        inputs,
        outputs,
        activation: layer.activation ?? 'linear',
      });
    } else if (layer.type === 'activation' && layers.length > 0) {
      const last = layers[layers.length - 1]!;
      layers[layers.length - 1] = { ...last, activation: layer.activation };
    } else if (layer.type !== 'dropout' && layer.type !== 'flatten') {
      throw new NetworkError(
        `Cannot show ${name}: layer ${i} is '${layer.type}'; this page draws networks of dense layers only`,
      );
    }
  });
  if (layers.length === 0)
    throw new NetworkError(`Cannot show ${name}: the network has no dense layer`);
  model.eval();
  return {
    label,
    model,
    spec,
    meta: readMeta(restored.meta),
    layers,
    sizes: [inputSize(spec), ...layers.map((l) => l.outputs)],
  };
}

/** What the network makes of one 28×28 input. */
export interface Reading {
  /** Activations per layer, input first; the output as probabilities if the network emits logits. */
  readonly activations: readonly Float32Array[];
  /** The index of the largest output, or null for an empty drawing. */
  readonly prediction: number | null;
}

/** Runs the network on one input (784 values in [0, 1]); an empty drawing predicts nothing. */
export function read(network: Network, input: Float32Array, empty: boolean): Reading {
  const activations = layerActivations(network.model, network.spec, input).map((l) => l.values);
  const output = activations[activations.length - 1]!;
  let best = 0;
  for (let i = 1; i < output.length; i++) if (output[i]! > output[best]!) best = i;
  return { activations, prediction: empty ? null : best };
}
