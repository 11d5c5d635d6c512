;; f32x4 kernel for row-by-row outer products: what vmap makes of a matrix
;; product of inner dimension 1 (one weight gradient per example), whose
;; result (64 examples × a 16×784 layer: 800K floats) is written once and
;; read never here. Assembled into outer.wasm.ts by scripts/build-wasm.mjs;
;; JS copies the operands in and the result out.
(module
  (import "env" "memory" (memory 1 65536 shared))

  ;; C[r, i, ·] = A[r, i] · B[r, ·] + 0 for r < rows and i < m: A[rows×m],
  ;; B[rows×n4] and C[rows×m×n4] row-major, n4 a multiple of 4 (nb = 4·n4
  ;; bytes). Adding +0 turns −0 into +0, as a product summed from 0 gives (a
  ;; zero pixel times a negative factor), and changes no other value.
  (func (export "outer") (param $rows i32) (param $m i32) (param $nb i32) (param $a i32) (param $b i32) (param $c i32)
    (local $r i32) (local $i i32) (local $q i32) (local $end4 i32) (local $p i32) (local $o i32)
    (local $f v128) (local $zero v128)
    (block $rows_done
      (loop $rows
        (br_if $rows_done (i32.ge_u (local.get $r) (local.get $rows)))
        (local.set $i (i32.const 0))
        (block $factors_done
          (loop $factors
            (br_if $factors_done (i32.ge_u (local.get $i) (local.get $m)))
            (local.set $f (f32x4.splat (f32.load (local.get $a))))
            (local.set $q (i32.const 0))
            ;; Four quads a turn while a whole four remain, then one at a time.
            (local.set $end4 (i32.and (local.get $nb) (i32.const -64)))
            (block $fours_done
              (loop $fours
                (br_if $fours_done (i32.ge_u (local.get $q) (local.get $end4)))
                (local.set $p (i32.add (local.get $b) (local.get $q)))
                (local.set $o (i32.add (local.get $c) (local.get $q)))
                (v128.store offset=0 (local.get $o)
                  (f32x4.add (f32x4.mul (local.get $f) (v128.load offset=0 (local.get $p))) (local.get $zero)))
                (v128.store offset=16 (local.get $o)
                  (f32x4.add (f32x4.mul (local.get $f) (v128.load offset=16 (local.get $p))) (local.get $zero)))
                (v128.store offset=32 (local.get $o)
                  (f32x4.add (f32x4.mul (local.get $f) (v128.load offset=32 (local.get $p))) (local.get $zero)))
                (v128.store offset=48 (local.get $o)
                  (f32x4.add (f32x4.mul (local.get $f) (v128.load offset=48 (local.get $p))) (local.get $zero)))
                (local.set $q (i32.add (local.get $q) (i32.const 64)))
                (br $fours)))
            (block $quads_done
              (loop $quads
                (br_if $quads_done (i32.ge_u (local.get $q) (local.get $nb)))
                (v128.store
                  (i32.add (local.get $c) (local.get $q))
                  (f32x4.add
                    (f32x4.mul (local.get $f) (v128.load (i32.add (local.get $b) (local.get $q))))
                    (local.get $zero)))
                (local.set $q (i32.add (local.get $q) (i32.const 16)))
                (br $quads)))
            (local.set $a (i32.add (local.get $a) (i32.const 4)))
            (local.set $c (i32.add (local.get $c) (local.get $nb)))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $factors)))
        (local.set $b (i32.add (local.get $b) (local.get $nb)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $rows))))
)
