import { Rng } from '@neurite/tensor';

/** A generator from an `Rng` (used as is), a seed, or nothing (a fresh random seed). */
export function toRng(rng: Rng | number | undefined): Rng {
  if (rng instanceof Rng) return rng;
  return new Rng(rng ?? (Math.random() * 2 ** 32) >>> 0);
}
