/**
 * Digits as pen strokes in the unit square (x right, y down): each stroke
 * a polyline, drawn with the mouse button held.
 */
export type Stroke = readonly (readonly [number, number])[];

export const ONE: readonly Stroke[] = [
  [
    [0.42, 0.3],
    [0.55, 0.15],
    [0.55, 0.85],
  ],
];

export const SEVEN: readonly Stroke[] = [
  [
    [0.28, 0.2],
    [0.72, 0.2],
    [0.5, 0.5],
    [0.4, 0.85],
  ],
];

/** An ellipse, closed. */
export const ZERO: readonly Stroke[] = [
  Array.from({ length: 41 }, (_, i) => {
    const t = (2 * Math.PI * i) / 40;
    return [0.5 + 0.22 * Math.sin(t), 0.5 - 0.33 * Math.cos(t)] as const;
  }),
];
