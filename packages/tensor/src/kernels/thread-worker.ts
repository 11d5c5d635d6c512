/**
 * The layout of a worker's control block, and the worker's source.
 *
 * A worker instantiates the kernel modules over the kernels' shared memory
 * and then waits on its control block (an Int32Array over a
 * SharedArrayBuffer) for lists of kernel calls: `[function, argument count,
 * arguments…]` each, all i32 (byte offsets and sizes). It runs a list in
 * order, stores the list's sequence number in DONE and notifies. There is no
 * message per call, so a call costs what a wake-up costs.
 */

/** Ints of the control block: the header, then the call list. */
export const SEQ = 0; // the calling thread bumps it to post a list (−1: stop)
export const DONE = 1; // the worker stores the sequence number of the list it finished
export const READY = 2; // 1 once instantiated, −1 if that failed
export const FAILED = 3; // 1 if a call threw (the list was cut short)
export const LENGTH = 4; // ints of the call list
export const CALLS = 8; // where the call list starts
/** Ints a control block holds: room for thousands of calls. */
export const CONTROL_INTS = 1 << 16;
/** Polls of a flag before sleeping on it: a wake-up costs tens of microseconds. */
export const SPIN = 20000;

/**
 * The worker's script, self-contained (it is run from a string: no bundler
 * or file path is involved, in Node or in a browser). `start` receives
 * `{ modules, names, memory, control }`: the compiled kernel modules by
 * name, the [module, export] pair of each function number, the memory and
 * the control block's buffer.
 */
export const workerSource = `
'use strict';
const start = ({ modules, names, memory, control }) => {
  const ctl = new Int32Array(control);
  let fns;
  try {
    const exports = {};
    for (const name of Object.keys(modules)) {
      exports[name] = new WebAssembly.Instance(modules[name], { env: { memory } }).exports;
    }
    fns = names.map(([m, f]) => exports[m][f]);
    Atomics.store(ctl, ${READY}, 1);
  } catch {
    Atomics.store(ctl, ${READY}, -1);
  }
  Atomics.notify(ctl, ${READY});
  if (!fns) return;
  let seen = 0;
  for (;;) {
    for (let i = 0; i < ${SPIN} && Atomics.load(ctl, ${SEQ}) === seen; i++);
    Atomics.wait(ctl, ${SEQ}, seen);
    const seq = Atomics.load(ctl, ${SEQ});
    if (seq === seen) continue;
    if (seq < 0) return;
    seen = seq;
    try {
      const end = ${CALLS} + ctl[${LENGTH}];
      for (let at = ${CALLS}; at < end; ) {
        const n = ctl[at + 1];
        fns[ctl[at]](...ctl.subarray(at + 2, at + 2 + n));
        at += 2 + n;
      }
    } catch {
      Atomics.store(ctl, ${FAILED}, 1);
    }
    Atomics.store(ctl, ${DONE}, seq);
    Atomics.notify(ctl, ${DONE});
  }
};
if (typeof require === 'function') start(require('node:worker_threads').workerData);
else self.onmessage = (e) => start(e.data);
`;
