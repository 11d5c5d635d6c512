import './style.css';
import type { RecipeName } from '../../src/recipes.js';
import type {} from './debug-hook.js';
import { DrawPad } from './draw-pad.js';
import {
  type Network,
  NetworkError,
  networkFromCheckpoint,
  type Reading,
  read,
  SIDE,
} from './network.js';
import { NetworkView, type NeuronRef } from './network-view.js';
import { paintInput, paintWeights } from './paint.js';
import { SAMPLES } from './samples.js';
import { TRAINED_HERE, TrainPanel } from './train-panel.js';

const $ = <T extends HTMLElement>(id: string) => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`page: no element #${id}`);
  return el as T;
};

/** The two networks shipped with the page, trained by `mnist-mlp train` on the full MNIST. */
const SHIPPED = {
  modern: { file: 'models/modern.safetensors', label: 'ReLU' },
  classic: { file: 'models/classic.safetensors', label: 'Sigmoid' },
} as const;
type Slot = keyof typeof SHIPPED | 'custom';

const networks = new Map<Slot, Network>();
let selected: Slot = 'modern';
let input: Float32Array = new Float32Array(SIDE * SIDE);
let reading: Reading | null = null;
let hovered: { neuron: NeuronRef; at: { x: number; y: number } } | null = null;
let pending = 0;

const errorBox = $('error');
const modelInfo = $('model-info');
const prediction = $('prediction');
const confidence = $('confidence');
const tooltip = $('tooltip');
const netSection = $('net');

const pad = new DrawPad($<HTMLCanvasElement>('pad'), () => schedule());
const view = new NetworkView($<HTMLCanvasElement>('network'), (neuron, at) => {
  hovered = neuron ? { neuron, at } : null;
  showTooltip();
});
$('clear').addEventListener('click', () => pad.clear());

/** Draws the sample of `digit` on a cleared pad: the keyboard's way to draw. */
function drawSample(digit: number): void {
  pad.clear();
  pad.drawStrokes(SAMPLES[digit]!);
}

// While a stroke is drawn the verdict changes at every move: busy, a screen reader waits for
// the stroke's end and then says the verdict once.
const verdict = prediction.parentElement!;
pad.canvas.addEventListener('pointerdown', () => verdict.setAttribute('aria-busy', 'true'));
for (const type of ['pointerup', 'pointercancel'] as const) {
  window.addEventListener(type, () => verdict.setAttribute('aria-busy', 'false'));
}

const sample = $<HTMLSelectElement>('sample');
sample.addEventListener('change', () => {
  if (sample.value !== '') drawSample(Number(sample.value));
});
pad.canvas.addEventListener('keydown', (e) => {
  if (e.ctrlKey || e.metaKey || e.altKey) return;
  if (/^[0-9]$/.test(e.key)) drawSample(Number(e.key));
  else if (e.key === 'Delete' || e.key === 'Backspace' || e.key === 'Escape') pad.clear();
  else return;
  e.preventDefault();
});

function schedule(): void {
  if (!pending) pending = requestAnimationFrame(update);
}

function update(): void {
  pending = 0;
  const like = pad.mnistLike();
  input = like.pixels;
  paintInput($<HTMLCanvasElement>('input'), input, SIDE);
  const network = networks.get(selected);
  if (!network) return;
  reading = read(network, input, like.empty);
  view.show(network, reading);
  const p = reading.prediction;
  prediction.textContent = p === null ? '–' : String(p);
  prediction.dataset.digit = p === null ? '' : String(p);
  const output = reading.activations[reading.activations.length - 1]!;
  confidence.textContent =
    p === null ? 'draw a digit' : `${(100 * output[p]!).toFixed(1)}% ${confidenceWord(network)}`;
  if (p === null) sample.value = '';
  view.canvas.setAttribute('aria-label', describeView(network, p));
  showTooltip();
}

/** The network picture in words, for a screen reader. */
function describeView(network: Network, p: number | null): string {
  const sizes = network.sizes;
  const hidden = sizes.slice(1, -1);
  return (
    `The network ${network.label}: ${sizes[0]} input pixels` +
    (hidden.length > 0 ? `, hidden layers of ${hidden.join(' and ')} neurons` : '') +
    `, ${sizes[sizes.length - 1]} outputs` +
    (p === null ? '; nothing drawn.' : `; output ${p} is the strongest.`)
  );
}

function confidenceWord(network: Network): string {
  return network.layers[network.layers.length - 1]!.activation === 'linear'
    ? 'probability'
    : 'activation';
}

function showTooltip(): void {
  const network = networks.get(selected);
  if (!hovered || !network || !reading) {
    tooltip.hidden = true;
    return;
  }
  const { layer, index } = hovered.neuron;
  const dense = network.layers[layer - 1]!;
  const weights = dense.weight.subarray(index * dense.inputs, (index + 1) * dense.inputs);
  const last = layer === network.layers.length;
  const name = last ? `output ${index}` : `hidden ${layer} · neuron ${index + 1}`;
  const from = layer === 1 ? `the ${dense.inputs} input pixels` : `hidden ${layer - 1}`;
  const heat = tooltip.querySelector('canvas')!;
  paintWeights(heat, weights);
  tooltip.dataset.layer = String(layer);
  tooltip.dataset.index = String(index);
  tooltip.querySelector('h3')!.textContent = name;
  tooltip.querySelector('p')!.textContent =
    `Weights from ${from}${layer === 1 ? `, as the ${SIDE}×${SIDE} image they multiply` : ` (${heat.width}×${heat.height})`}: blue positive, red negative. ` +
    `Activation ${reading.activations[layer]![index]!.toFixed(3)}, bias ${dense.bias[index]!.toFixed(3)}.`;
  tooltip.hidden = false;
  const box = netSection.getBoundingClientRect();
  const width = tooltip.offsetWidth;
  const height = tooltip.offsetHeight;
  const centre = view.centre(hovered.neuron) ?? hovered.at;
  const left = Math.max(8, centre.x - box.left - width - 28);
  const top = Math.min(Math.max(8, centre.y - box.top - height / 2), box.height - height - 8);
  tooltip.style.left = `${left}px`;
  tooltip.style.top = `${top}px`;
}

function describe(network: Network): string {
  const { meta } = network;
  const shape = network.sizes.join('-');
  const params = network.model.parameterCount().toLocaleString('en');
  if (!meta)
    return `${network.label}: ${shape}, ${params} parameters (the file holds no training record).`;
  const count = (n: number) => n.toLocaleString('en');
  const data = meta.data === 'embedded' ? 'embedded' : 'MNIST';
  const kept =
    meta.keptEpoch !== null && meta.keptEpoch !== meta.epochsRun
      ? ` (kept epoch ${meta.keptEpoch}, best on validation)`
      : '';
  return (
    `${network.label}: ${shape}, ${params} parameters, ${meta.recipe} recipe, ` +
    `${meta.epochsRun} epoch${meta.epochsRun === 1 ? '' : 's'} on ${count(meta.trainExamples)} ${data} digits${kept}: ` +
    `${(100 * meta.testAccuracy).toFixed(1)}% right on ${count(meta.testExamples)} test digits it never saw.`
  );
}

function showError(message: string | null): void {
  errorBox.hidden = message === null;
  errorBox.textContent = message ?? '';
}

function renderPicker(): void {
  for (const button of document.querySelectorAll<HTMLButtonElement>('[data-slot]')) {
    const slot = button.dataset.slot as Slot;
    const network = networks.get(slot);
    if (slot === 'custom') button.hidden = !network;
    if (network) {
      const accuracy = network.meta ? `${(100 * network.meta.testAccuracy).toFixed(1)}%` : '';
      button.replaceChildren(network.label);
      if (accuracy && slot !== 'custom') {
        const small = document.createElement('small');
        small.textContent = accuracy;
        button.append(' ', small);
      }
    }
    button.setAttribute('aria-pressed', String(slot === selected));
    button.disabled = !network;
  }
}

function select(slot: Slot): void {
  const network = networks.get(slot);
  if (!network) return;
  selected = slot;
  hovered = null;
  modelInfo.textContent = describe(network);
  document.body.dataset.model = network.label;
  renderPicker();
  update();
  panel.showNetwork(network);
}

function install(slot: Slot, bytes: Uint8Array, name: string, label: string): void {
  try {
    networks.set(slot, networkFromCheckpoint(bytes, name, label));
    showError(null);
    select(slot);
  } catch (error) {
    if (!(error instanceof NetworkError)) throw error;
    showError(error.message);
  }
}

async function loadShipped(slot: keyof typeof SHIPPED): Promise<void> {
  const { file, label } = SHIPPED[slot];
  const response = await fetch(file);
  if (!response.ok) throw new Error(`${file}: HTTP ${response.status}`);
  const bytes = new Uint8Array(await response.arrayBuffer());
  networks.set(slot, networkFromCheckpoint(bytes, file, label));
}

async function loadFile(file: File): Promise<void> {
  install('custom', new Uint8Array(await file.arrayBuffer()), file.name, file.name);
}

for (const button of document.querySelectorAll<HTMLButtonElement>('[data-slot]')) {
  button.addEventListener('click', () => select(button.dataset.slot as Slot));
}

const fileInput = $<HTMLInputElement>('checkpoint-file');
$('load-checkpoint').addEventListener('click', () => fileInput.click());
fileInput.addEventListener('change', () => {
  const file = fileInput.files?.[0];
  if (file) void loadFile(file);
  fileInput.value = '';
});

// Drop a checkpoint anywhere on the page.
const overlay = $('drop-overlay');
let dragDepth = 0;
const carriesFiles = (e: DragEvent) => e.dataTransfer?.types.includes('Files') ?? false;
document.addEventListener('dragenter', (e) => {
  if (!carriesFiles(e)) return;
  dragDepth++;
  overlay.hidden = false;
});
document.addEventListener('dragleave', () => {
  dragDepth = Math.max(0, dragDepth - 1);
  if (dragDepth === 0) overlay.hidden = true;
});
document.addEventListener('dragover', (e) => {
  if (carriesFiles(e)) e.preventDefault();
});
document.addEventListener('drop', (e) => {
  e.preventDefault();
  dragDepth = 0;
  overlay.hidden = true;
  const file = e.dataTransfer?.files[0];
  if (file) void loadFile(file);
});

const panel = new TrainPanel(
  {
    recipe: $<HTMLSelectElement>('train-recipe'),
    examples: $<HTMLSelectElement>('train-examples'),
    epochs: $<HTMLInputElement>('train-epochs'),
    start: $<HTMLButtonElement>('train-start'),
    stop: $<HTMLButtonElement>('train-stop'),
    status: $('train-status'),
    progress: $('train-progress'),
    curves: $<HTMLCanvasElement>('train-curves'),
    curvesTitle: $('train-curves-title'),
    weights: $<HTMLCanvasElement>('train-weights'),
    weightsCaption: $('train-weights-caption'),
    download: $<HTMLButtonElement>('train-download'),
  },
  (checkpoint: Uint8Array, recipe: RecipeName) =>
    install('custom', checkpoint, `trained here (${recipe})`, TRAINED_HERE),
);

window.__neurite = {
  snapshot: () => ({
    model: networks.get(selected)?.label ?? '',
    sizes: [...(networks.get(selected)?.sizes ?? [])],
    input: Array.from(input),
    activations: reading?.activations.map((a) => Array.from(a)) ?? [],
    prediction: reading?.prediction ?? null,
  }),
  neuronCentre: (layer, index) => view.centre({ layer, index }),
};

Promise.all([loadShipped('modern'), loadShipped('classic')])
  .then(() => {
    select('modern');
    document.body.dataset.ready = 'true';
  })
  .catch((error: unknown) => {
    showError(`Could not load the shipped networks: ${(error as Error).message}`);
  });
