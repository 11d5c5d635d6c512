import type { EpochRecord } from '../../src/core/history.js';
import type { RecipeName } from '../../src/recipes.js';
import { drawCurves, type Plot, type Series } from './curves.js';
import type { Network } from './network.js';
import { paintWeightGallery } from './paint.js';
import type { FromWorker, ToWorker, WeightSnapshot } from './train-protocol.js';

/** The name the page gives the network trained here. */
export const TRAINED_HERE = 'Trained here';

const percent = (x: number) => `${(100 * x).toFixed(1)}%`;

/** The elements of the "train here" section. */
export interface TrainElements {
  readonly recipe: HTMLSelectElement;
  readonly examples: HTMLSelectElement;
  readonly epochs: HTMLInputElement;
  readonly start: HTMLButtonElement;
  readonly stop: HTMLButtonElement;
  /** Announced to screen readers: each phase of a run (starting, training, done, failed). */
  readonly status: HTMLElement;
  /** The figures of the batch under way, updated many times a second, so not announced. */
  readonly progress: HTMLElement;
  readonly curves: HTMLCanvasElement;
  readonly curvesTitle: HTMLElement;
  readonly weights: HTMLCanvasElement;
  readonly weightsCaption: HTMLElement;
  /** Saves the network trained here as a checkpoint file. */
  readonly download: HTMLButtonElement;
}

/**
 * "Train here": runs the CLI's training loop in a Web Worker on the
 * embedded digits and shows it live (loss and accuracy curves, the first
 * layer's 16 weight images). The finished network is handed to `onTrained`
 * as a checkpoint. The status element carries the figures as data
 * attributes (`data-state`, `data-initial-accuracy`, `data-accuracy`).
 */
export class TrainPanel {
  private worker: Worker | null = null;
  private epochs = 1;
  private loss: [number, number][] = [];
  private trainAccuracy: [number, number][] = [];
  private testAccuracy: [number, number][] = [];
  private snapshot: WeightSnapshot | null = null;
  private frame = 0;
  private checkpoint: Uint8Array | null = null;
  private recipe: RecipeName = 'modern';
  /** While nothing trains here, the figures show the network the page is drawing. */
  private shown: Network | null = null;
  private training = false;

  constructor(
    private readonly el: TrainElements,
    private readonly onTrained: (checkpoint: Uint8Array, recipe: RecipeName) => void,
  ) {
    el.start.addEventListener('click', () => this.start());
    el.stop.addEventListener('click', () => this.post({ type: 'stop' }));
    el.download.addEventListener('click', () => this.save());
    new ResizeObserver(() => this.redraw()).observe(el.curves);
    this.setState('idle', 'Press Train: the network starts from random weights.');
    this.redraw();
  }

  /**
   * Shows how `network` was trained (the history in its checkpoint) and its
   * first layer, unless a run here is under way.
   */
  showNetwork(network: Network): void {
    this.shown = network;
    if (!this.training) this.redraw();
  }

  private post(message: ToWorker): void {
    this.worker?.postMessage(message);
  }

  private start(): void {
    if (!this.worker) {
      this.worker = new Worker(new URL('./train-worker.ts', import.meta.url), { type: 'module' });
      this.worker.onmessage = (e: MessageEvent<FromWorker>) => this.receive(e.data);
      this.worker.onerror = (e) => {
        e.preventDefault();
        this.fail(`the training worker failed: ${e.message || 'it could not start'}`);
      };
    }
    const epochs = Number(this.el.epochs.value);
    if (!Number.isInteger(epochs) || epochs < 1 || epochs > 100) {
      this.setState(
        'error',
        `Epochs: give a whole number from 1 to 100 (got '${this.el.epochs.value}').`,
      );
      return;
    }
    this.epochs = epochs;
    this.recipe = this.el.recipe.value as RecipeName;
    this.training = true;
    this.loss = [];
    this.trainAccuracy = [];
    this.testAccuracy = [];
    this.snapshot = null;
    delete this.el.status.dataset.initialAccuracy;
    delete this.el.status.dataset.accuracy;
    this.el.download.hidden = true;
    this.el.start.disabled = true;
    this.el.stop.hidden = false;
    this.setState('loading', 'Starting the worker…');
    this.redraw();
    this.post({
      type: 'start',
      recipe: this.recipe,
      examples: Number(this.el.examples.value),
      epochs,
      seed: 1,
    });
  }

  private receive(message: FromWorker): void {
    switch (message.type) {
      case 'status':
        this.setState('loading', message.text);
        break;
      case 'ready':
        this.snapshot = message.snapshot;
        this.testAccuracy.push([0, message.accuracy]);
        this.el.status.dataset.initialAccuracy = String(message.accuracy);
        this.setState(
          'training',
          `Training on ${message.trainExamples.toLocaleString('en')} digits, ${message.batches} batches an epoch; random weights score ${percent(message.accuracy)} on the ${message.testExamples.toLocaleString('en')} test digits.`,
        );
        break;
      case 'batch':
        this.loss.push([message.at, message.loss]);
        this.trainAccuracy.push([message.at, message.accuracy]);
        if (message.snapshot) this.snapshot = message.snapshot;
        this.el.progress.textContent = `Epoch ${Math.min(this.epochs, Math.ceil(message.at))} of ${this.epochs}: loss ${message.loss.toFixed(3)}, training accuracy ${percent(message.accuracy)}, ${Math.round(message.samplesPerSecond).toLocaleString('en')} digits/s.`;
        break;
      case 'epoch':
        this.testAccuracy.push([message.epoch, message.testAccuracy]);
        break;
      case 'done': {
        this.snapshot = message.snapshot;
        this.el.status.dataset.accuracy = String(message.testAccuracy);
        const initial = Number(this.el.status.dataset.initialAccuracy);
        this.setState(
          'done',
          `${message.stopped ? 'Stopped' : 'Done'} in ${message.seconds.toFixed(1)} s: test accuracy ${percent(initial)} → ${percent(message.testAccuracy)}. The network above now uses these weights.`,
        );
        this.finish();
        this.checkpoint = message.checkpoint;
        this.el.download.hidden = false;
        this.onTrained(message.checkpoint, this.recipe);
        break;
      }
      case 'error':
        this.fail(message.message);
        break;
    }
    this.redraw();
  }

  private save(): void {
    if (!this.checkpoint) return;
    const url = URL.createObjectURL(
      new Blob([this.checkpoint as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' }),
    );
    const link = document.createElement('a');
    link.href = url;
    link.download = `trained-here-${this.recipe}.safetensors`;
    link.click();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  }

  private fail(text: string): void {
    this.setState('error', `Training failed: ${text}`);
    this.finish();
  }

  private finish(): void {
    this.training = false;
    this.el.start.disabled = false;
    this.el.stop.hidden = true;
  }

  private setState(state: string, text: string): void {
    this.el.status.dataset.state = state;
    this.el.status.textContent = text;
    if (state !== 'training') this.el.progress.textContent = '';
  }

  private redraw(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      // The live figures stay while the network trained here is the one shown.
      const live = this.training || (this.snapshot !== null && this.shown?.label === TRAINED_HERE);
      const history = this.shown?.meta?.history ?? [];
      if (live || !this.shown) {
        this.el.curvesTitle.textContent = this.training
          ? 'Training here, live'
          : this.snapshot
            ? 'How the network above was trained, here'
            : 'Press Train to watch the network learn';
        drawCurves(
          this.el.curves,
          livePlots(this.loss, this.trainAccuracy, this.testAccuracy),
          this.epochs,
        );
      } else {
        this.el.curvesTitle.textContent =
          history.length > 0
            ? `How “${this.shown.label}” was trained (the history in its checkpoint)`
            : `“${this.shown.label}” carries no training history`;
        drawCurves(this.el.curves, historyPlots(history), Math.max(1, history.length));
      }
      const weights = live ? this.snapshot : this.shown && firstLayer(this.shown);
      if (weights) paintWeightGallery(this.el.weights, weights.weight, weights.neurons);
      const neurons = weights?.neurons ?? 16;
      this.el.weightsCaption.textContent = live
        ? `First layer, as it learns: what each of its ${neurons} neurons looks for`
        : `First layer of the network above: what each of its ${neurons} neurons looks for`;
    });
  }
}

function firstLayer(network: Network): WeightSnapshot {
  const layer = network.layers[0]!;
  return { weight: layer.weight, neurons: layer.outputs };
}

const accuracyFormat = (y: number) => `${Math.round(100 * y)}%`;

function livePlots(
  loss: Series['points'],
  trainAccuracy: Series['points'],
  testAccuracy: Series['points'],
): Plot[] {
  return [
    {
      title: 'loss',
      series: [{ label: 'training (moving average)', colour: '#7aa2ff', points: loss }],
      format: (y) => y.toFixed(2),
    },
    {
      title: 'accuracy',
      series: [
        { label: 'training', colour: '#7aa2ff', points: trainAccuracy },
        { label: 'test', colour: '#ffc94a', points: testAccuracy, dots: true },
      ],
      yRange: [0, 1],
      format: accuracyFormat,
    },
  ];
}

function historyPlots(history: readonly EpochRecord[]): Plot[] {
  const at = (f: (r: EpochRecord) => number | null) =>
    history.flatMap((r) => {
      const y = f(r);
      return y === null ? [] : [[r.epoch, y] as const];
    });
  const accuracies = history.flatMap((r) => [r.trainAccuracy, r.testAccuracy]);
  const floor = accuracies.length === 0 ? 0 : Math.floor(10 * Math.min(...accuracies)) / 10;
  return [
    {
      title: 'loss',
      series: [{ label: 'training', colour: '#7aa2ff', points: at((r) => r.trainLoss) }],
      format: (y) => y.toFixed(2),
    },
    {
      title: 'accuracy',
      series: [
        { label: 'training', colour: '#7aa2ff', points: at((r) => r.trainAccuracy) },
        { label: 'validation', colour: '#9be39b', points: at((r) => r.valAccuracy) },
        { label: 'test', colour: '#ffc94a', points: at((r) => r.testAccuracy) },
      ],
      yRange: [floor, 1],
      format: accuracyFormat,
    },
  ];
}
