import {
  f32load,
  f32x4,
  func,
  i32,
  i32c,
  set,
  until,
  v128load,
  v128store,
  wasmModule,
} from './emit.js';

/**
 * The f32x4 kernel for row-by-row outer products: what vmap makes of a
 * matrix product of inner dimension 1 (one weight gradient per example),
 * whose result (64 examples × a 16×784 layer: 800K floats) is written once
 * and read never here. JS copies the operands in and the result out.
 *
 * outer(rows, m, nb, a, b, c): C[r, i, ·] = A[r, i] · B[r, ·] + 0 for r < rows
 * and i < m: A[rows×m], B[rows×n4] and C[rows×m×n4] row-major, n4 a multiple
 * of 4 (nb = 4·n4 bytes). Adding +0 turns −0 into +0, as a product summed
 * from 0 gives (a zero pixel times a negative factor), and changes no other
 * value. (The +0 is not a running sum: no relaxed build.)
 */
export function outerBinary(shared: boolean): Uint8Array<ArrayBuffer> {
  const outer = func(
    'outer',
    'iiiiii',
    '',
    'iiiiiivv',
    (rows, m, nb, a, b, c, r, i, q, end4, p, o, f, zero) => {
      return until(i32.geU(r, rows), [
        set(i, i32c(0)),
        until(i32.geU(i, m), [
          set(f, f32x4.splat(f32load(a))),
          set(q, i32c(0)),
          // Four quads a turn while a whole four remain, then one at a time.
          set(end4, i32.and(nb, i32c(-64))),
          until(i32.geU(q, end4), [
            set(p, i32.add(b, q)),
            set(o, i32.add(c, q)),
            [0, 16, 32, 48].map((off) =>
              v128store(o, f32x4.add(f32x4.mul(f, v128load(p, off)), zero), off),
            ),
            set(q, i32.add(q, i32c(64))),
          ]),
          until(i32.geU(q, nb), [
            v128store(i32.add(c, q), f32x4.add(f32x4.mul(f, v128load(i32.add(b, q))), zero)),
            set(q, i32.add(q, i32c(16))),
          ]),
          set(a, i32.add(a, i32c(4))),
          set(c, i32.add(c, nb)),
          set(i, i32.add(i, i32c(1))),
        ]),
        set(b, i32.add(b, nb)),
        set(r, i32.add(r, i32c(1))),
      ]);
    },
  );
  return wasmModule([outer], shared);
}
