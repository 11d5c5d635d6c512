import { weightColour } from '../../src/core/pictures.js';
import { type Network, type Reading, SIDE } from './network.js';

/**
 * The picture's own coordinate system (the canvas scales it to fit): where
 * the input grid and the columns of neurons go, and the title sizes.
 */
interface Geometry {
  readonly width: number;
  readonly height: number;
  readonly gridX: number;
  readonly cell: number;
  readonly gridY: number;
  readonly firstColumn: number;
  readonly lastColumn: number;
  readonly top: number;
  readonly bottom: number;
  readonly titleSize: number;
  readonly subtitleSize: number;
}

const WIDE: Geometry = {
  width: 960,
  height: 600,
  gridX: 28,
  cell: 9,
  gridY: (600 - SIDE * 9) / 2 + 10,
  firstColumn: 480,
  lastColumn: 810,
  top: 64,
  bottom: 28,
  titleSize: 14,
  subtitleSize: 12,
};

/**
 * For a phone: taller than wide, drawn at close to its own size (about 360
 * CSS pixels wide), so the titles stay legible where the wide picture would
 * shrink them to a third.
 */
const NARROW: Geometry = {
  width: 420,
  height: 380,
  gridX: 4,
  cell: 4.8,
  gridY: (380 - SIDE * 4.8) / 2 + 18,
  firstColumn: 178,
  lastColumn: 346,
  top: 58,
  bottom: 8,
  titleSize: 14,
  subtitleSize: 13,
};

/** Below this many CSS pixels of width, the narrow picture is drawn. */
const NARROW_BELOW = 560;
/** Input-to-first-layer lines drawn per neuron: the strongest contributions. */
const LINES_PER_NEURON = 14;
const ACCENT = '#ffc94a';

/** A neuron of the picture: layer 0 is the input, 1 the first dense layer … */
export interface NeuronRef {
  readonly layer: number;
  readonly index: number;
}

interface Place {
  readonly x: number;
  readonly y: number;
  readonly r: number;
}

const rgba = ([r, g, b]: readonly [number, number, number], a: number) =>
  `rgba(${r},${g},${b},${a.toFixed(3)})`;

/**
 * The network drawn as in "But what is a neural network?": the 784 inputs
 * as the 28×28 grid they come from, every other neuron a circle whose
 * brightness is its activation, connections blue (positive weight) or red
 * (negative), thicker and brighter the larger the weight, the predicted
 * output ringed. Hovering (or tapping) a neuron reports it to `onHover`;
 * so does the keyboard on the focused canvas (arrow keys move between the
 * neurons, Escape lets go).
 */
export class NetworkView {
  private readonly ctx: CanvasRenderingContext2D;
  private network: Network | null = null;
  private reading: Reading | null = null;
  private places: Place[][] = [];
  private hovered: NeuronRef | null = null;
  private g: Geometry = WIDE;

  constructor(
    readonly canvas: HTMLCanvasElement,
    private readonly onHover: (neuron: NeuronRef | null, at: { x: number; y: number }) => void,
  ) {
    const ctx = canvas.getContext('2d');
    if (!ctx) throw new Error('network view: this browser gives no 2D canvas context');
    this.ctx = ctx;
    new ResizeObserver(() => this.draw()).observe(canvas);
    canvas.addEventListener('pointermove', (e) => {
      if (e.pointerType === 'mouse') this.hover(e);
    });
    canvas.addEventListener('pointerdown', (e) => this.hover(e));
    canvas.addEventListener('pointerleave', (e) => {
      if (e.pointerType === 'mouse') this.setHovered(null, { x: 0, y: 0 });
    });
    canvas.addEventListener('keydown', (e) => this.key(e));
    canvas.addEventListener('blur', () => this.setHovered(null, { x: 0, y: 0 }));
  }

  /** Arrow keys walk the neurons (up and down a layer, left and right across layers). */
  private key(e: KeyboardEvent): void {
    if (!this.network || e.ctrlKey || e.metaKey || e.altKey) return;
    const last = this.places.length - 1;
    const at = this.hovered ?? { layer: 1, index: -1 };
    let next: NeuronRef | null;
    switch (e.key) {
      case 'ArrowDown':
        next = {
          layer: at.layer,
          index: Math.min(at.index + 1, this.places[at.layer]!.length - 1),
        };
        break;
      case 'ArrowUp':
        next = { layer: at.layer, index: Math.max(at.index - 1, 0) };
        break;
      case 'ArrowRight':
      case 'ArrowLeft': {
        const layer = Math.min(last, Math.max(1, at.layer + (e.key === 'ArrowRight' ? 1 : -1)));
        next = { layer, index: Math.min(Math.max(at.index, 0), this.places[layer]!.length - 1) };
        break;
      }
      case 'Escape':
        next = null;
        break;
      default:
        return;
    }
    e.preventDefault();
    this.setHovered(next, (next && this.centre(next)) ?? { x: 0, y: 0 });
  }

  show(network: Network, reading: Reading): void {
    if (network !== this.network) {
      this.network = network;
      this.places = this.layout(network, this.g);
      this.hovered = null;
    }
    this.reading = reading;
    this.draw();
  }

  /** The centre of a neuron in client (viewport) coordinates. */
  centre(neuron: NeuronRef): { x: number; y: number } | null {
    const place = this.places[neuron.layer]?.[neuron.index];
    if (!place) return null;
    const rect = this.canvas.getBoundingClientRect();
    return {
      x: rect.left + (place.x / this.g.width) * rect.width,
      y: rect.top + (place.y / this.g.height) * rect.height,
    };
  }

  private layout(network: Network, g: Geometry): Place[][] {
    const input: Place[] = [];
    for (let i = 0; i < SIDE * SIDE; i++) {
      input.push({
        x: g.gridX + ((i % SIDE) + 0.5) * g.cell,
        y: g.gridY + (Math.floor(i / SIDE) + 0.5) * g.cell,
        r: g.cell / 2,
      });
    }
    const columns = network.sizes.length - 1;
    const places = [input];
    for (let l = 1; l <= columns; l++) {
      const n = network.sizes[l]!;
      const x =
        columns === 1
          ? g.lastColumn
          : g.firstColumn + ((g.lastColumn - g.firstColumn) * (l - 1)) / (columns - 1);
      const room = g.height - g.top - g.bottom;
      const spacing = Math.min(52, room / n);
      const r = Math.max(1.5, Math.min(17, spacing * 0.36));
      const top = g.top + (room - spacing * n) / 2 + spacing / 2;
      places.push(Array.from({ length: n }, (_, i) => ({ x, y: top + i * spacing, r })));
    }
    return places;
  }

  /** Brightness in [0, 1] of every neuron of layer `l`. */
  private brightness(l: number): Float32Array {
    const network = this.network!;
    const values = this.reading!.activations[l]!;
    const last = l === network.sizes.length - 1;
    const bounded = l === 0 || last || network.layers[l - 1]!.activation === 'sigmoid';
    // Unbounded activations (ReLU) are shown relative to the layer's strongest neuron,
    // and never brighter than their value where all are small.
    let scale = 1;
    if (!bounded) for (const v of values) scale = Math.max(scale, Math.abs(v));
    return values.map((v) => Math.min(1, Math.max(0, v / scale)));
  }

  private hover(e: PointerEvent): void {
    if (!this.network) return;
    const rect = this.canvas.getBoundingClientRect();
    const x = ((e.clientX - rect.left) / rect.width) * this.g.width;
    const y = ((e.clientY - rect.top) / rect.height) * this.g.height;
    let found: NeuronRef | null = null;
    for (let l = 1; l < this.places.length && !found; l++) {
      this.places[l]!.forEach((p, index) => {
        if (Math.hypot(p.x - x, p.y - y) <= Math.max(p.r + 4, 8)) found = { layer: l, index };
      });
    }
    this.setHovered(found, { x: e.clientX, y: e.clientY });
  }

  private setHovered(neuron: NeuronRef | null, at: { x: number; y: number }): void {
    const same = neuron?.layer === this.hovered?.layer && neuron?.index === this.hovered?.index;
    this.hovered = neuron;
    if (!same) this.draw();
    this.onHover(neuron, at);
  }

  draw(): void {
    const { canvas, ctx } = this;
    const cssWidth = canvas.clientWidth;
    if (cssWidth === 0) return;
    const g = cssWidth < NARROW_BELOW ? NARROW : WIDE;
    if (g !== this.g) {
      this.g = g;
      canvas.dataset.layout = g === NARROW ? 'narrow' : 'wide';
      if (this.network) this.places = this.layout(this.network, g);
    }
    const dpr = window.devicePixelRatio || 1;
    const width = Math.round(cssWidth * dpr);
    const height = Math.round((cssWidth * g.height * dpr) / g.width);
    if (canvas.width !== width || canvas.height !== height) {
      canvas.width = width;
      canvas.height = height;
    }
    // The canvas's CSS height follows the picture's shape (wide or narrow).
    canvas.style.aspectRatio = `${g.width} / ${g.height}`;
    // The smallest text drawn, in CSS pixels: what a reader of this screen gets.
    canvas.dataset.smallestText = ((g.subtitleSize * cssWidth) / g.width).toFixed(1);
    ctx.setTransform(width / g.width, 0, 0, height / g.height, 0, 0);
    ctx.clearRect(0, 0, g.width, g.height);
    if (!this.network || !this.reading) return;
    const bright = this.network.sizes.map((_, l) => this.brightness(l));
    this.drawFirstConnections(bright[0]!);
    for (let l = 2; l < this.places.length; l++) this.drawConnections(l, bright[l - 1]!);
    this.drawInputGrid(bright[0]!);
    for (let l = 1; l < this.places.length; l++) this.drawNeurons(l, bright[l]!);
    this.drawOutputLabels();
    this.drawTitles();
  }

  /** Lines from input pixels to the first layer: per neuron the largest |w·a| (or |w| with no ink). */
  private drawFirstConnections(input: Float32Array): void {
    const layer = this.network!.layers[0]!;
    let ink = 0;
    for (const v of input) ink += v;
    const lines: { from: Place; to: Place; w: number; strength: number }[] = [];
    for (let j = 0; j < layer.outputs; j++) {
      const row = layer.weight.subarray(j * layer.inputs, (j + 1) * layer.inputs);
      const score = (i: number) => Math.abs(row[i]! * (ink > 0 ? input[i]! : 1));
      const best: number[] = [];
      for (let i = 0; i < row.length; i++) {
        if (ink > 0 && input[i]! === 0) continue;
        if (best.length < LINES_PER_NEURON) best.push(i);
        else if (score(i) > score(best[best.length - 1]!)) best[best.length - 1] = i;
        else continue;
        best.sort((a, b) => score(b) - score(a));
      }
      for (const i of best) {
        lines.push({
          from: this.places[0]![i]!,
          to: this.places[1]![j]!,
          w: row[i]!,
          strength: score(i),
        });
      }
    }
    const peak = lines.reduce((m, l) => Math.max(m, l.strength), 0) || 1;
    const dim = ink > 0 ? 1 : 0.35;
    lines.sort((a, b) => a.strength - b.strength);
    for (const { from, to, w, strength } of lines) {
      const t = strength / peak;
      this.line(from.x, from.y, to.x - to.r, to.y, w, (0.06 + 0.6 * t) * dim, 0.4 + 1.4 * t);
    }
  }

  /** All connections into layer `l`, by weight, dimmed where the neuron sending is dark. */
  private drawConnections(l: number, from: Float32Array): void {
    const layer = this.network!.layers[l - 1]!;
    let peak = 0;
    for (const w of layer.weight) peak = Math.max(peak, Math.abs(w));
    const order = Array.from(layer.weight.keys()).sort(
      (a, b) => Math.abs(layer.weight[a]!) - Math.abs(layer.weight[b]!),
    );
    for (const k of order) {
      const w = layer.weight[k]!;
      const j = Math.floor(k / layer.inputs);
      const i = k % layer.inputs;
      const a = this.places[l - 1]![i]!;
      const b = this.places[l]![j]!;
      const t = peak === 0 ? 0 : Math.abs(w) / peak;
      const alpha = (0.04 + 0.7 * t * t) * (0.25 + 0.75 * from[i]!);
      this.line(a.x + a.r, a.y, b.x - b.r, b.y, w, alpha, 0.3 + 2.6 * t);
    }
  }

  private line(x0: number, y0: number, x1: number, y1: number, w: number, a: number, lw: number) {
    const { ctx } = this;
    ctx.strokeStyle = rgba(weightColour(w >= 0 ? 1 : -1), Math.min(1, a));
    ctx.lineWidth = lw;
    ctx.beginPath();
    ctx.moveTo(x0, y0);
    ctx.lineTo(x1, y1);
    ctx.stroke();
  }

  private drawInputGrid(values: Float32Array): void {
    const { ctx } = this;
    const { gridX, gridY, cell } = this.g;
    const gap = Math.min(1, cell / 9);
    ctx.fillStyle = '#05070b';
    ctx.fillRect(gridX - 3, gridY - 3, SIDE * cell + 6, SIDE * cell + 6);
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      const x = gridX + (i % SIDE) * cell;
      const y = gridY + Math.floor(i / SIDE) * cell;
      const grey = Math.round(22 + 233 * v);
      ctx.fillStyle = `rgb(${grey},${grey},${grey})`;
      ctx.fillRect(x + gap / 2, y + gap / 2, cell - gap, cell - gap);
    }
    ctx.strokeStyle = 'rgba(255,255,255,0.25)';
    ctx.lineWidth = 1;
    ctx.strokeRect(gridX - 3, gridY - 3, SIDE * cell + 6, SIDE * cell + 6);
  }

  private drawNeurons(l: number, values: Float32Array): void {
    const { ctx } = this;
    const prediction = this.reading!.prediction;
    const output = l === this.places.length - 1;
    this.places[l]!.forEach((p, i) => {
      const v = values[i]!;
      const chosen = output && prediction === i;
      const hovered = this.hovered?.layer === l && this.hovered.index === i;
      ctx.beginPath();
      ctx.arc(p.x, p.y, p.r, 0, 2 * Math.PI);
      ctx.fillStyle = '#0b0e14';
      ctx.fill();
      if (v > 0) {
        ctx.save();
        ctx.shadowColor = `rgba(255,255,255,${(0.8 * v).toFixed(3)})`;
        ctx.shadowBlur = 10 * v;
        ctx.fillStyle = `rgba(255,255,255,${v.toFixed(3)})`;
        ctx.fill();
        ctx.restore();
      }
      ctx.lineWidth = chosen || hovered ? 2.5 : 1;
      ctx.strokeStyle = chosen || hovered ? ACCENT : 'rgba(255,255,255,0.55)';
      ctx.stroke();
    });
  }

  private drawOutputLabels(): void {
    const { ctx } = this;
    const l = this.places.length - 1;
    const values = this.reading!.activations[l]!;
    const prediction = this.reading!.prediction;
    const places = this.places[l]!;
    if (places.length > 20) return;
    ctx.textBaseline = 'middle';
    places.forEach((p, i) => {
      const chosen = prediction === i;
      const v = Math.min(1, Math.max(0, values[i]!));
      const size = Math.max(this.g.subtitleSize, Math.round(p.r * 1.25));
      ctx.font = `${chosen ? 700 : 500} ${size}px system-ui, sans-serif`;
      ctx.fillStyle = chosen ? ACCENT : `rgba(255,255,255,${(0.45 + 0.55 * v).toFixed(3)})`;
      ctx.textAlign = 'left';
      ctx.fillText(String(i), p.x + p.r + 8, p.y + 1);
      const barX = p.x + p.r + 8 + size;
      const barW = this.g.width - 6 - barX;
      ctx.fillStyle = 'rgba(255,255,255,0.08)';
      ctx.fillRect(barX, p.y - 3, barW, 6);
      ctx.fillStyle = chosen ? ACCENT : 'rgba(255,255,255,0.6)';
      ctx.fillRect(barX, p.y - 3, barW * v, 6);
    });
  }

  private drawTitles(): void {
    const { ctx } = this;
    const network = this.network!;
    ctx.textAlign = 'center';
    ctx.textBaseline = 'alphabetic';
    const { titleSize, subtitleSize, gridX, cell } = this.g;
    const title = (x: number, text: string, sub: string) => {
      ctx.font = `600 ${titleSize}px system-ui, sans-serif`;
      ctx.fillStyle = 'rgba(255,255,255,0.85)';
      ctx.fillText(text, x, titleSize + 10);
      ctx.font = `${subtitleSize}px system-ui, sans-serif`;
      ctx.fillStyle = 'rgba(255,255,255,0.55)';
      ctx.fillText(sub, x, titleSize + subtitleSize + 16);
    };
    title(gridX + (SIDE * cell) / 2, 'input', `${SIDE}×${SIDE} = ${SIDE * SIDE} pixels`);
    network.layers.forEach((layer, i) => {
      const last = i === network.layers.length - 1;
      const x = this.places[i + 1]![0]!.x;
      const kind =
        last && layer.activation === 'linear' ? 'softmax' : activationLabel(layer.activation);
      title(x, last ? 'output' : `hidden ${i + 1}`, `${layer.outputs} · ${kind}`);
    });
  }
}

function activationLabel(name: string): string {
  return name === 'relu' ? 'ReLU' : name === 'linear' ? 'linear' : name;
}
