/**
 * A pen-drawn sample of each digit, for drawing from the keyboard (or to
 * try the page without drawing): strokes in the unit square, x right and
 * y down, each a polyline.
 */
export type Stroke = readonly (readonly [number, number])[];

const arc = (
  cx: number,
  cy: number,
  rx: number,
  ry: number,
  from: number,
  to: number,
  steps = 24,
): Stroke =>
  Array.from({ length: steps + 1 }, (_, i) => {
    const t = ((from + ((to - from) * i) / steps) * Math.PI) / 180;
    return [cx + rx * Math.sin(t), cy - ry * Math.cos(t)] as const;
  });

/** Angles in degrees, clockwise from 12 o'clock. */
export const SAMPLES: readonly (readonly Stroke[])[] = [
  [arc(0.5, 0.5, 0.22, 0.33, 0, 360, 40)],
  [
    [
      [0.42, 0.3],
      [0.55, 0.15],
      [0.55, 0.85],
    ],
  ],
  [[...arc(0.5, 0.35, 0.2, 0.18, -70, 120), [0.3, 0.82], [0.74, 0.82]]],
  [arc(0.48, 0.33, 0.19, 0.16, -80, 180), arc(0.48, 0.66, 0.21, 0.18, 0, 220)],
  [
    [
      [0.45, 0.15],
      [0.27, 0.58],
      [0.75, 0.58],
    ],
    [
      [0.62, 0.35],
      [0.62, 0.86],
    ],
  ],
  [[[0.7, 0.17], [0.35, 0.17], [0.32, 0.45], ...arc(0.5, 0.63, 0.22, 0.2, -60, 220)]],
  [[[0.62, 0.14], [0.4, 0.4], ...arc(0.5, 0.65, 0.2, 0.2, 250, -100)]],
  [
    [
      [0.28, 0.2],
      [0.72, 0.2],
      [0.5, 0.5],
      [0.4, 0.85],
    ],
  ],
  [arc(0.5, 0.32, 0.17, 0.16, 180, 540), arc(0.5, 0.66, 0.21, 0.19, 0, 360)],
  [[...arc(0.5, 0.34, 0.19, 0.18, 90, 450), [0.68, 0.4], [0.62, 0.85]]],
];
