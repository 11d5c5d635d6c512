/**
 * CPU µs per call of each function of each build (`builds[k][name]`), the
 * best of `rounds`: on every function the builds take turns, in alternating
 * order, each running for `sliceMs`, so that other work on a shared machine
 * falls on all of them alike.
 */
export function bestCpuMicros(builds, rounds, sliceMs = 100) {
  const cpuUs = () => {
    const { user, system } = process.cpuUsage();
    return user + system;
  };
  const best = builds.map(() => ({}));
  for (let r = 0; r < rounds; r++) {
    for (const name of Object.keys(builds[0])) {
      for (const k of r % 2 ? [...builds.keys()].reverse() : builds.keys()) {
        const run = builds[k][name];
        run();
        let n = 0;
        const c0 = cpuUs();
        const t0 = performance.now();
        do {
          run();
          n++;
        } while (performance.now() - t0 < sliceMs);
        best[k][name] = Math.min(best[k][name] ?? Number.POSITIVE_INFINITY, (cpuUs() - c0) / n);
      }
    }
  }
  return best;
}
