import { toGray } from '../../src/core/image.js';
import { type MnistLike, preprocess } from '../../src/core/preprocess.js';
import type { Stroke } from './samples.js';

/** Pen width as a fraction of the pad's side: MNIST-like strokes for a digit drawn large. */
const PEN = 0.075;

/**
 * A square canvas to draw a digit on with a mouse, a pen or a finger
 * (pointer events cover all three). Ink is painted on a transparent
 * canvas, so its opacity is the ink, which is how `preprocess` reads a
 * drawing, exactly as `mnist-mlp predict` reads a PNG.
 */
export class DrawPad {
  private readonly ctx: CanvasRenderingContext2D;
  private readonly scale: number;
  private last: { x: number; y: number } | null = null;
  private pointer: number | null = null;
  private inked = false;

  /** `onChange` runs after every painted segment and after `clear`. */
  constructor(
    readonly canvas: HTMLCanvasElement,
    private readonly onChange: () => void,
  ) {
    const side = canvas.clientWidth || 280;
    this.scale = Math.min(2, Math.max(1, Math.round(window.devicePixelRatio || 1)));
    canvas.width = side * this.scale;
    canvas.height = side * this.scale;
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    if (!ctx) throw new Error('draw pad: this browser gives no 2D canvas context');
    this.ctx = ctx;
    canvas.addEventListener('pointerdown', (e) => this.down(e));
    canvas.addEventListener('pointermove', (e) => this.move(e));
    for (const type of ['pointerup', 'pointercancel', 'lostpointercapture'] as const) {
      canvas.addEventListener(type, (e) => this.up(e));
    }
  }

  /** Whether anything has been drawn since the last clear. */
  get empty(): boolean {
    return !this.inked;
  }

  /** Draws strokes given in the unit square (x right, y down), as a pen would. */
  drawStrokes(strokes: readonly Stroke[]): void {
    const { width, height } = this.canvas;
    for (const stroke of strokes) {
      const points = stroke.map(([x, y]) => ({ x: x * width, y: y * height }));
      points.forEach((p, i) => {
        this.segment(points[Math.max(0, i - 1)]!, p);
      });
    }
  }

  clear(): void {
    this.ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
    this.inked = false;
    this.onChange();
  }

  /** The drawing as MNIST sees a digit: 28×28 ink in [0, 1], centred by mass. */
  mnistLike(): MnistLike {
    const { width, height } = this.canvas;
    const { data } = this.ctx.getImageData(0, 0, width, height);
    return preprocess(toGray({ width, height, channels: 4, data, maxValue: 255 }));
  }

  private point(e: PointerEvent): { x: number; y: number } {
    const rect = this.canvas.getBoundingClientRect();
    return {
      x: ((e.clientX - rect.left) / rect.width) * this.canvas.width,
      y: ((e.clientY - rect.top) / rect.height) * this.canvas.height,
    };
  }

  private down(e: PointerEvent): void {
    if (this.pointer !== null || (e.pointerType === 'mouse' && e.button !== 0)) return;
    e.preventDefault();
    this.pointer = e.pointerId;
    this.canvas.setPointerCapture(e.pointerId);
    this.last = this.point(e);
    this.segment(this.last, this.last);
  }

  private move(e: PointerEvent): void {
    if (e.pointerId !== this.pointer || !this.last) return;
    e.preventDefault();
    // Coalesced events keep fast strokes smooth where the browser batches moves.
    const events = e.getCoalescedEvents?.() ?? [];
    for (const c of events.length > 0 ? events : [e]) {
      const p = this.point(c);
      this.segment(this.last, p);
      this.last = p;
    }
  }

  private up(e: PointerEvent): void {
    if (e.pointerId !== this.pointer) return;
    this.pointer = null;
    this.last = null;
  }

  private segment(from: { x: number; y: number }, to: { x: number; y: number }): void {
    const { ctx } = this;
    ctx.strokeStyle = '#fff';
    ctx.lineWidth = PEN * this.canvas.width;
    ctx.lineCap = 'round';
    ctx.lineJoin = 'round';
    ctx.beginPath();
    ctx.moveTo(from.x, from.y);
    ctx.lineTo(to.x, to.y);
    ctx.stroke();
    this.inked = true;
    this.onChange();
  }
}
