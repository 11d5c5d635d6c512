import { describe, expect, it } from 'vitest';
import { mutate } from '../src/mutate.js';
import { targets } from '../src/targets.js';

// FUZZ_CASES sets the cases per parser (`pnpm fuzz` runs 10,000); FUZZ_SEED
// the first seed, so that a failure printed by a long run can be replayed.
const cases = Number(process.env.FUZZ_CASES ?? 300);
const firstSeed = Number(process.env.FUZZ_SEED ?? 1);
const SLOW_MS = 2000;

describe.each(targets)('$name', (target) => {
  it(`survives ${cases} mutated inputs with typed errors only, none slower than ${SLOW_MS} ms`, () => {
    const failures: string[] = [];
    let refused = 0;
    for (let i = 0; i < cases && failures.length < 5; i++) {
      const seed = firstSeed + i;
      const original = target.seeds[i % target.seeds.length]!;
      const mutant = (target.mutate ?? mutate)(original, seed);
      const start = performance.now();
      try {
        const result = target.parse(mutant);
        const wrong = target.accepted?.(result, original, mutant);
        if (wrong) failures.push(`seed ${seed}: ${wrong}`);
      } catch (e) {
        refused++;
        if (!target.errors.some((E) => e instanceof E)) {
          const error = e as Error;
          failures.push(
            `seed ${seed}: untyped ${error?.name}: ${String(error?.message).slice(0, 200)}`,
          );
        }
      }
      const ms = performance.now() - start;
      if (ms > SLOW_MS) failures.push(`seed ${seed}: took ${ms.toFixed(0)} ms`);
    }
    expect(failures, `${target.name} (replay with FUZZ_SEED=<seed> FUZZ_CASES=1)`).toEqual([]);
    // A fuzzer whose mutants all pass is not reaching the checks.
    expect(refused).toBeGreaterThan(cases / 4);
  });
});
