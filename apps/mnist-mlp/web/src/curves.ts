/** A series of (epoch, value) points drawn as a line (or dots). */
export interface Series {
  readonly label: string;
  readonly colour: string;
  readonly points: readonly (readonly [number, number])[];
  /** Dots with a thin line, for a few points such as per-epoch test accuracy. */
  readonly dots?: boolean;
}

export interface Plot {
  readonly title: string;
  readonly series: readonly Series[];
  /** Fixed y range, else from the data (from 0). */
  readonly yRange?: readonly [number, number];
  readonly format: (y: number) => string;
}

/**
 * Training curves as small line plots stacked in one canvas, x in epochs
 * from 0 to `epochs`; the canvas is sized from its CSS box at device
 * resolution.
 */
export function drawCurves(canvas: HTMLCanvasElement, plots: readonly Plot[], epochs: number) {
  const ctx = canvas.getContext('2d');
  const cssWidth = canvas.clientWidth;
  const cssHeight = canvas.clientHeight;
  if (!ctx || cssWidth === 0 || cssHeight === 0) return;
  const dpr = window.devicePixelRatio || 1;
  canvas.width = Math.round(cssWidth * dpr);
  canvas.height = Math.round(cssHeight * dpr);
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, cssWidth, cssHeight);
  const gap = 14;
  const height = (cssHeight - gap * (plots.length - 1)) / plots.length;
  plots.forEach((plot, k) => {
    drawPlot(ctx, plot, epochs, 0, k * (height + gap), cssWidth, height);
  });
}

function drawPlot(
  ctx: CanvasRenderingContext2D,
  plot: Plot,
  epochs: number,
  left: number,
  top: number,
  width: number,
  height: number,
): void {
  const pad = { left: 44, right: 10, top: 20, bottom: 18 };
  const x0 = left + pad.left;
  const x1 = left + width - pad.right;
  const y0 = top + height - pad.bottom;
  const y1 = top + pad.top;
  let [lo, hi] = plot.yRange ?? [0, 0];
  if (!plot.yRange) for (const s of plot.series) for (const [, y] of s.points) hi = Math.max(hi, y);
  if (!(hi > lo)) hi = lo + 1;
  const step = niceStep((hi - lo) / 5);
  if (!plot.yRange) hi = lo + step * Math.ceil((hi - lo) / step - 1e-9);
  const sx = (x: number) => x0 + ((x1 - x0) * x) / Math.max(epochs, 1e-9);
  const sy = (y: number) => y0 - ((y0 - y1) * (y - lo)) / (hi - lo || 1);

  ctx.font = '600 12px system-ui, sans-serif';
  ctx.textBaseline = 'alphabetic';
  ctx.textAlign = 'left';
  ctx.fillStyle = 'rgba(255,255,255,0.8)';
  ctx.fillText(plot.title, x0, top + 12);
  let legendX = x1;
  ctx.textAlign = 'right';
  ctx.font = '11px system-ui, sans-serif';
  for (const s of [...plot.series].reverse()) {
    ctx.fillStyle = s.colour;
    ctx.fillText(s.label, legendX, top + 12);
    legendX -= ctx.measureText(s.label).width + 12;
  }

  ctx.strokeStyle = 'rgba(255,255,255,0.1)';
  ctx.lineWidth = 1;
  ctx.fillStyle = 'rgba(255,255,255,0.45)';
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  for (let y = lo; y <= hi + step / 1e6; y += step) {
    ctx.beginPath();
    ctx.moveTo(x0, sy(y));
    ctx.lineTo(x1, sy(y));
    ctx.stroke();
    ctx.fillText(plot.format(y), x0 - 6, sy(y));
  }
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  const every = Math.max(1, niceStep(epochs / 8, [1, 2, 5]));
  for (let e = 0; e <= epochs; e += every) ctx.fillText(String(e), sx(e), y0 + 4);

  for (const s of plot.series) {
    if (s.points.length === 0) continue;
    ctx.strokeStyle = s.colour;
    ctx.fillStyle = s.colour;
    ctx.lineWidth = s.dots ? 1 : 1.8;
    ctx.beginPath();
    s.points.forEach(([x, y], i) => {
      if (i === 0) ctx.moveTo(sx(x), sy(y));
      else ctx.lineTo(sx(x), sy(y));
    });
    ctx.stroke();
    if (s.dots) {
      for (const [x, y] of s.points) {
        ctx.beginPath();
        ctx.arc(sx(x), sy(y), 3, 0, 2 * Math.PI);
        ctx.fill();
      }
    }
  }
}

/** The smallest of `steps` × 10^k at least `x`: grid steps that read well. */
function niceStep(x: number, steps = [1, 2, 2.5, 5]): number {
  const base = 10 ** Math.floor(Math.log10(x));
  for (const m of steps) if (m * base >= x * (1 - 1e-9)) return m * base;
  return 10 * base;
}
