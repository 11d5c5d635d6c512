import { applyPlain, setTransformed } from '../engine.js';
import type { Op } from '../op.js';
import type { Tensor } from '../tensor.js';

/**
 * The transforms' interpreter: a stack of frames (one per running `jvp` or
 * `vmap`), the innermost last. Every op runs through the frames from the
 * innermost down to the plain kernel; a frame handles an op by running it
 * (and its rules, which are ops too) on the frames below it only, so that an
 * outer transform sees everything an inner one computes: `jvp` of `vmap`,
 * `vmap` of `grad`, and `jvp` of `jvp` all compose without confusing one
 * level's tangents or batches with another's.
 */
export interface Frame {
  /** The op at this frame's level; `below` runs it (or any op) on the frames underneath. */
  process<A>(op: Op<A>, inputs: readonly Tensor[], attrs: A, below: Below): Tensor;
}

/** Runs ops on the frames underneath the one handling an op. */
export type Below = <T>(fn: () => T) => T;

let frames: Frame[] = [];
/** How many frames ops currently go through (fewer while a frame's rules run). */
let active = 0;

function run<A>(op: Op<A>, inputs: readonly Tensor[], attrs: A): Tensor {
  if (active === 0) return applyPlain(op, inputs, attrs);
  const level = active - 1;
  return frames[level]!.process(op, inputs, attrs, (fn) => at(level, fn));
}

/** Runs `fn` with only the frames below `level` active. */
function at<T>(level: number, fn: () => T): T {
  const saved = active;
  active = level;
  try {
    return fn();
  } finally {
    active = saved;
  }
}

/**
 * Runs `fn` with `frame` as the innermost active frame. Called while an
 * outer frame's rules run (only some frames active), the inactive ones are
 * set aside for the duration.
 */
export function withFrame<T>(frame: Frame, fn: () => T): T {
  const savedFrames = frames;
  const savedActive = active;
  frames = [...frames.slice(0, active), frame];
  active = frames.length;
  setTransformed(run);
  try {
    return fn();
  } finally {
    frames = savedFrames;
    active = savedActive;
    setTransformed(frames.length > 0 ? run : null);
  }
}

/** How many frames ops currently go through: 1 while the only (or the outermost) frame handles an op. */
export function depth(): number {
  return active;
}

/** The frames ops currently go through, innermost last. */
export function activeFrames(): readonly Frame[] {
  return frames.slice(0, active);
}
