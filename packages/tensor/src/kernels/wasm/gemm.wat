;; f32x4 SIMD kernels for the products that dominate training a dense
;; network on images: a batch of mostly-zero inputs against a layer's weights.
;; Assembled into gemm.wasm.ts by scripts/build-wasm.mjs; JS copies operands in
;; and results out. Both kernels read the sparse operand (the images) a quad of
;; four values at a time: a quad of zeros (most of an image) costs one load and
;; one test, and a quad with any non-zero is used whole (its zeros add nothing:
;; callers make sure the other operand is finite). No branch depends on a
;; single pixel, and no operand is transposed.
(module
  (import "env" "memory" (memory 1 65536 shared))

  ;; C[i, j0 .. j0+8) = Σ_p A[i,p] · W[j,p] for m rows of A[m×k] and 8 rows of
  ;; W[·×k] (k a multiple of 4, both row-major as the caller holds them, so
  ;; nothing is transposed): each non-zero quad of A's row meets the same quad
  ;; of the 8 rows of W, into 8 vector sums reduced at the end of the row
  ;; (8, not 16: sixteen sums and their operands would not fit the registers).
  (func (export "nt8") (param $m i32) (param $k i32) (param $a i32) (param $w i32) (param $c i32) (param $ldc i32)
    (local $i i32) (local $q i32) (local $kb i32) (local $ai i32) (local $ci i32) (local $x v128)
    (local $w0 i32) (local $w1 i32) (local $w2 i32) (local $w3 i32) (local $w4 i32) (local $w5 i32) (local $w6 i32) (local $w7 i32)
    (local $s0 v128) (local $s1 v128) (local $s2 v128) (local $s3 v128) (local $s4 v128) (local $s5 v128) (local $s6 v128) (local $s7 v128)
    (local.set $kb (i32.shl (local.get $k) (i32.const 2)))
    (local.set $w0 (i32.add (local.get $w) (i32.mul (local.get $kb) (i32.const 0))))
    (local.set $w1 (i32.add (local.get $w) (i32.mul (local.get $kb) (i32.const 1))))
    (local.set $w2 (i32.add (local.get $w) (i32.mul (local.get $kb) (i32.const 2))))
    (local.set $w3 (i32.add (local.get $w) (i32.mul (local.get $kb) (i32.const 3))))
    (local.set $w4 (i32.add (local.get $w) (i32.mul (local.get $kb) (i32.const 4))))
    (local.set $w5 (i32.add (local.get $w) (i32.mul (local.get $kb) (i32.const 5))))
    (local.set $w6 (i32.add (local.get $w) (i32.mul (local.get $kb) (i32.const 6))))
    (local.set $w7 (i32.add (local.get $w) (i32.mul (local.get $kb) (i32.const 7))))
    (local.set $ai (local.get $a))
    (local.set $ci (local.get $c))
    (block $rows_done
      (loop $rows
        (br_if $rows_done (i32.ge_u (local.get $i) (local.get $m)))
        (local.set $s0 (v128.const i32x4 0 0 0 0))
        (local.set $s1 (v128.const i32x4 0 0 0 0))
        (local.set $s2 (v128.const i32x4 0 0 0 0))
        (local.set $s3 (v128.const i32x4 0 0 0 0))
        (local.set $s4 (v128.const i32x4 0 0 0 0))
        (local.set $s5 (v128.const i32x4 0 0 0 0))
        (local.set $s6 (v128.const i32x4 0 0 0 0))
        (local.set $s7 (v128.const i32x4 0 0 0 0))
        (local.set $q (i32.const 0))
        (block $quads_done
          (loop $quads
            (br_if $quads_done (i32.ge_u (local.get $q) (local.get $kb)))
            (local.set $x (v128.load (i32.add (local.get $ai) (local.get $q))))
            (if (v128.any_true (local.get $x))
              (then
                (local.set $s0 (f32x4.add (local.get $s0) (f32x4.mul (local.get $x) (v128.load (i32.add (local.get $w0) (local.get $q))))))
                (local.set $s1 (f32x4.add (local.get $s1) (f32x4.mul (local.get $x) (v128.load (i32.add (local.get $w1) (local.get $q))))))
                (local.set $s2 (f32x4.add (local.get $s2) (f32x4.mul (local.get $x) (v128.load (i32.add (local.get $w2) (local.get $q))))))
                (local.set $s3 (f32x4.add (local.get $s3) (f32x4.mul (local.get $x) (v128.load (i32.add (local.get $w3) (local.get $q))))))
                (local.set $s4 (f32x4.add (local.get $s4) (f32x4.mul (local.get $x) (v128.load (i32.add (local.get $w4) (local.get $q))))))
                (local.set $s5 (f32x4.add (local.get $s5) (f32x4.mul (local.get $x) (v128.load (i32.add (local.get $w5) (local.get $q))))))
                (local.set $s6 (f32x4.add (local.get $s6) (f32x4.mul (local.get $x) (v128.load (i32.add (local.get $w6) (local.get $q))))))
                (local.set $s7 (f32x4.add (local.get $s7) (f32x4.mul (local.get $x) (v128.load (i32.add (local.get $w7) (local.get $q))))))
              ))
            (local.set $q (i32.add (local.get $q) (i32.const 16)))
            (br $quads)))
        (f32.store offset=0 (local.get $ci) (f32.add (f32.add (f32x4.extract_lane 0 (local.get $s0)) (f32x4.extract_lane 1 (local.get $s0))) (f32.add (f32x4.extract_lane 2 (local.get $s0)) (f32x4.extract_lane 3 (local.get $s0)))))
        (f32.store offset=4 (local.get $ci) (f32.add (f32.add (f32x4.extract_lane 0 (local.get $s1)) (f32x4.extract_lane 1 (local.get $s1))) (f32.add (f32x4.extract_lane 2 (local.get $s1)) (f32x4.extract_lane 3 (local.get $s1)))))
        (f32.store offset=8 (local.get $ci) (f32.add (f32.add (f32x4.extract_lane 0 (local.get $s2)) (f32x4.extract_lane 1 (local.get $s2))) (f32.add (f32x4.extract_lane 2 (local.get $s2)) (f32x4.extract_lane 3 (local.get $s2)))))
        (f32.store offset=12 (local.get $ci) (f32.add (f32.add (f32x4.extract_lane 0 (local.get $s3)) (f32x4.extract_lane 1 (local.get $s3))) (f32.add (f32x4.extract_lane 2 (local.get $s3)) (f32x4.extract_lane 3 (local.get $s3)))))
        (f32.store offset=16 (local.get $ci) (f32.add (f32.add (f32x4.extract_lane 0 (local.get $s4)) (f32x4.extract_lane 1 (local.get $s4))) (f32.add (f32x4.extract_lane 2 (local.get $s4)) (f32x4.extract_lane 3 (local.get $s4)))))
        (f32.store offset=20 (local.get $ci) (f32.add (f32.add (f32x4.extract_lane 0 (local.get $s5)) (f32x4.extract_lane 1 (local.get $s5))) (f32.add (f32x4.extract_lane 2 (local.get $s5)) (f32x4.extract_lane 3 (local.get $s5)))))
        (f32.store offset=24 (local.get $ci) (f32.add (f32.add (f32x4.extract_lane 0 (local.get $s6)) (f32x4.extract_lane 1 (local.get $s6))) (f32.add (f32x4.extract_lane 2 (local.get $s6)) (f32x4.extract_lane 3 (local.get $s6)))))
        (f32.store offset=28 (local.get $ci) (f32.add (f32.add (f32x4.extract_lane 0 (local.get $s7)) (f32x4.extract_lane 1 (local.get $s7))) (f32.add (f32x4.extract_lane 2 (local.get $s7)) (f32x4.extract_lane 3 (local.get $s7)))))
        (local.set $ai (i32.add (local.get $ai) (local.get $kb)))
        (local.set $ci (i32.add (local.get $ci) (i32.shl (local.get $ldc) (i32.const 2))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $rows))))

  ;; C[j, ·] = Σ_i G[i, j0+j] · X[i, ·] for j < 16: the transposed product
  ;; Gᵀ·X of G[k×ldg] (16 of its columns) and X[k×n] (n a multiple of 4), into
  ;; C[16×n], row-major as the caller wants it. Each non-zero quad of X's row
  ;; adds its 16 multiples, the factors held in registers for the whole row.
  (func (export "tn16") (param $k i32) (param $n i32) (param $g i32) (param $ldg i32) (param $x i32) (param $c i32)
    (local $i i32) (local $q i32) (local $nb i32) (local $xi i32) (local $gi i32) (local $v v128)
    (local $c0 i32) (local $c1 i32) (local $c2 i32) (local $c3 i32) (local $c4 i32) (local $c5 i32) (local $c6 i32) (local $c7 i32) (local $c8 i32) (local $c9 i32) (local $c10 i32) (local $c11 i32) (local $c12 i32) (local $c13 i32) (local $c14 i32) (local $c15 i32)
    (local $f0 v128) (local $f1 v128) (local $f2 v128) (local $f3 v128) (local $f4 v128) (local $f5 v128) (local $f6 v128) (local $f7 v128) (local $f8 v128) (local $f9 v128) (local $f10 v128) (local $f11 v128) (local $f12 v128) (local $f13 v128) (local $f14 v128) (local $f15 v128)
    (local.set $nb (i32.shl (local.get $n) (i32.const 2)))
    (memory.fill (local.get $c) (i32.const 0) (i32.mul (local.get $nb) (i32.const 16)))
    (local.set $c0 (i32.add (local.get $c) (i32.mul (local.get $nb) (i32.const 0))))
    (local.set $c1 (i32.add (local.get $c) (i32.mul (local.get $nb) (i32.const 1))))
    (local.set $c2 (i32.add (local.get $c) (i32.mul (local.get $nb) (i32.const 2))))
    (local.set $c3 (i32.add (local.get $c) (i32.mul (local.get $nb) (i32.const 3))))
    (local.set $c4 (i32.add (local.get $c) (i32.mul (local.get $nb) (i32.const 4))))
    (local.set $c5 (i32.add (local.get $c) (i32.mul (local.get $nb) (i32.const 5))))
    (local.set $c6 (i32.add (local.get $c) (i32.mul (local.get $nb) (i32.const 6))))
    (local.set $c7 (i32.add (local.get $c) (i32.mul (local.get $nb) (i32.const 7))))
    (local.set $c8 (i32.add (local.get $c) (i32.mul (local.get $nb) (i32.const 8))))
    (local.set $c9 (i32.add (local.get $c) (i32.mul (local.get $nb) (i32.const 9))))
    (local.set $c10 (i32.add (local.get $c) (i32.mul (local.get $nb) (i32.const 10))))
    (local.set $c11 (i32.add (local.get $c) (i32.mul (local.get $nb) (i32.const 11))))
    (local.set $c12 (i32.add (local.get $c) (i32.mul (local.get $nb) (i32.const 12))))
    (local.set $c13 (i32.add (local.get $c) (i32.mul (local.get $nb) (i32.const 13))))
    (local.set $c14 (i32.add (local.get $c) (i32.mul (local.get $nb) (i32.const 14))))
    (local.set $c15 (i32.add (local.get $c) (i32.mul (local.get $nb) (i32.const 15))))
    (local.set $xi (local.get $x))
    (local.set $gi (local.get $g))
    (block $rows_done
      (loop $rows
        (br_if $rows_done (i32.ge_u (local.get $i) (local.get $k)))
        (local.set $f0 (f32x4.splat (f32.load offset=0 (local.get $gi))))
        (local.set $f1 (f32x4.splat (f32.load offset=4 (local.get $gi))))
        (local.set $f2 (f32x4.splat (f32.load offset=8 (local.get $gi))))
        (local.set $f3 (f32x4.splat (f32.load offset=12 (local.get $gi))))
        (local.set $f4 (f32x4.splat (f32.load offset=16 (local.get $gi))))
        (local.set $f5 (f32x4.splat (f32.load offset=20 (local.get $gi))))
        (local.set $f6 (f32x4.splat (f32.load offset=24 (local.get $gi))))
        (local.set $f7 (f32x4.splat (f32.load offset=28 (local.get $gi))))
        (local.set $f8 (f32x4.splat (f32.load offset=32 (local.get $gi))))
        (local.set $f9 (f32x4.splat (f32.load offset=36 (local.get $gi))))
        (local.set $f10 (f32x4.splat (f32.load offset=40 (local.get $gi))))
        (local.set $f11 (f32x4.splat (f32.load offset=44 (local.get $gi))))
        (local.set $f12 (f32x4.splat (f32.load offset=48 (local.get $gi))))
        (local.set $f13 (f32x4.splat (f32.load offset=52 (local.get $gi))))
        (local.set $f14 (f32x4.splat (f32.load offset=56 (local.get $gi))))
        (local.set $f15 (f32x4.splat (f32.load offset=60 (local.get $gi))))
        (local.set $q (i32.const 0))
        (block $quads_done
          (loop $quads
            (br_if $quads_done (i32.ge_u (local.get $q) (local.get $nb)))
            (local.set $v (v128.load (i32.add (local.get $xi) (local.get $q))))
            (if (v128.any_true (local.get $v))
              (then
                (v128.store (i32.add (local.get $c0) (local.get $q)) (f32x4.add (v128.load (i32.add (local.get $c0) (local.get $q))) (f32x4.mul (local.get $v) (local.get $f0))))
                (v128.store (i32.add (local.get $c1) (local.get $q)) (f32x4.add (v128.load (i32.add (local.get $c1) (local.get $q))) (f32x4.mul (local.get $v) (local.get $f1))))
                (v128.store (i32.add (local.get $c2) (local.get $q)) (f32x4.add (v128.load (i32.add (local.get $c2) (local.get $q))) (f32x4.mul (local.get $v) (local.get $f2))))
                (v128.store (i32.add (local.get $c3) (local.get $q)) (f32x4.add (v128.load (i32.add (local.get $c3) (local.get $q))) (f32x4.mul (local.get $v) (local.get $f3))))
                (v128.store (i32.add (local.get $c4) (local.get $q)) (f32x4.add (v128.load (i32.add (local.get $c4) (local.get $q))) (f32x4.mul (local.get $v) (local.get $f4))))
                (v128.store (i32.add (local.get $c5) (local.get $q)) (f32x4.add (v128.load (i32.add (local.get $c5) (local.get $q))) (f32x4.mul (local.get $v) (local.get $f5))))
                (v128.store (i32.add (local.get $c6) (local.get $q)) (f32x4.add (v128.load (i32.add (local.get $c6) (local.get $q))) (f32x4.mul (local.get $v) (local.get $f6))))
                (v128.store (i32.add (local.get $c7) (local.get $q)) (f32x4.add (v128.load (i32.add (local.get $c7) (local.get $q))) (f32x4.mul (local.get $v) (local.get $f7))))
                (v128.store (i32.add (local.get $c8) (local.get $q)) (f32x4.add (v128.load (i32.add (local.get $c8) (local.get $q))) (f32x4.mul (local.get $v) (local.get $f8))))
                (v128.store (i32.add (local.get $c9) (local.get $q)) (f32x4.add (v128.load (i32.add (local.get $c9) (local.get $q))) (f32x4.mul (local.get $v) (local.get $f9))))
                (v128.store (i32.add (local.get $c10) (local.get $q)) (f32x4.add (v128.load (i32.add (local.get $c10) (local.get $q))) (f32x4.mul (local.get $v) (local.get $f10))))
                (v128.store (i32.add (local.get $c11) (local.get $q)) (f32x4.add (v128.load (i32.add (local.get $c11) (local.get $q))) (f32x4.mul (local.get $v) (local.get $f11))))
                (v128.store (i32.add (local.get $c12) (local.get $q)) (f32x4.add (v128.load (i32.add (local.get $c12) (local.get $q))) (f32x4.mul (local.get $v) (local.get $f12))))
                (v128.store (i32.add (local.get $c13) (local.get $q)) (f32x4.add (v128.load (i32.add (local.get $c13) (local.get $q))) (f32x4.mul (local.get $v) (local.get $f13))))
                (v128.store (i32.add (local.get $c14) (local.get $q)) (f32x4.add (v128.load (i32.add (local.get $c14) (local.get $q))) (f32x4.mul (local.get $v) (local.get $f14))))
                (v128.store (i32.add (local.get $c15) (local.get $q)) (f32x4.add (v128.load (i32.add (local.get $c15) (local.get $q))) (f32x4.mul (local.get $v) (local.get $f15))))
              ))
            (local.set $q (i32.add (local.get $q) (i32.const 16)))
            (br $quads)))
        (local.set $xi (i32.add (local.get $xi) (local.get $nb)))
        (local.set $gi (i32.add (local.get $gi) (i32.shl (local.get $ldg) (i32.const 2))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $rows))))

  ;; C[m×16] = A[m×k] · P[k×16] for a 16-wide panel P of B's columns, as B
  ;; holds them when the weights are stored [in, out]: each value of a
  ;; non-zero quad of A's row scales a 16-wide row of the panel into vector
  ;; sums (odd lanes into a second set, halving chains of dependent adds).
  (func (export "ab16") (param $m i32) (param $k i32) (param $a i32) (param $bt i32) (param $c i32)
    (local $i i32) (local $ap i32) (local $end i32) (local $q i32) (local $v f32) (local $vv v128) (local $x v128)
    (local $s0 v128) (local $s1 v128) (local $s2 v128) (local $s3 v128)
    (local $t0 v128) (local $t1 v128) (local $t2 v128) (local $t3 v128)
    (local.set $ap (local.get $a))
    (block $rows_done
      (loop $rows
        (br_if $rows_done (i32.ge_u (local.get $i) (local.get $m)))
        (local.set $s0 (v128.const i32x4 0 0 0 0))
        (local.set $s1 (v128.const i32x4 0 0 0 0))
        (local.set $s2 (v128.const i32x4 0 0 0 0))
        (local.set $s3 (v128.const i32x4 0 0 0 0))
        ;; Odd lanes add into a second set of sums: half as long chains of dependent adds.
        (local.set $t0 (v128.const i32x4 0 0 0 0))
        (local.set $t1 (v128.const i32x4 0 0 0 0))
        (local.set $t2 (v128.const i32x4 0 0 0 0))
        (local.set $t3 (v128.const i32x4 0 0 0 0))
        (local.set $end (i32.add (local.get $ap) (i32.shl (local.get $k) (i32.const 2))))
        (local.set $q (local.get $bt))
        (block $cols_done
          (loop $cols
            (br_if $cols_done (i32.ge_u (local.get $ap) (local.get $end)))
            (local.set $x (v128.load (local.get $ap)))
            (if (v128.any_true (local.get $x))
              (then
                (local.set $v (f32x4.extract_lane 0 (local.get $x)))
                (local.set $vv (f32x4.splat (local.get $v)))
                (local.set $s0 (f32x4.add (local.get $s0) (f32x4.mul (local.get $vv) (v128.load offset=0 (local.get $q)))))
                (local.set $s1 (f32x4.add (local.get $s1) (f32x4.mul (local.get $vv) (v128.load offset=16 (local.get $q)))))
                (local.set $s2 (f32x4.add (local.get $s2) (f32x4.mul (local.get $vv) (v128.load offset=32 (local.get $q)))))
                (local.set $s3 (f32x4.add (local.get $s3) (f32x4.mul (local.get $vv) (v128.load offset=48 (local.get $q)))))
                (local.set $v (f32x4.extract_lane 1 (local.get $x)))
                (local.set $vv (f32x4.splat (local.get $v)))
                (local.set $t0 (f32x4.add (local.get $t0) (f32x4.mul (local.get $vv) (v128.load offset=64 (local.get $q)))))
                (local.set $t1 (f32x4.add (local.get $t1) (f32x4.mul (local.get $vv) (v128.load offset=80 (local.get $q)))))
                (local.set $t2 (f32x4.add (local.get $t2) (f32x4.mul (local.get $vv) (v128.load offset=96 (local.get $q)))))
                (local.set $t3 (f32x4.add (local.get $t3) (f32x4.mul (local.get $vv) (v128.load offset=112 (local.get $q)))))
                (local.set $v (f32x4.extract_lane 2 (local.get $x)))
                (local.set $vv (f32x4.splat (local.get $v)))
                (local.set $s0 (f32x4.add (local.get $s0) (f32x4.mul (local.get $vv) (v128.load offset=128 (local.get $q)))))
                (local.set $s1 (f32x4.add (local.get $s1) (f32x4.mul (local.get $vv) (v128.load offset=144 (local.get $q)))))
                (local.set $s2 (f32x4.add (local.get $s2) (f32x4.mul (local.get $vv) (v128.load offset=160 (local.get $q)))))
                (local.set $s3 (f32x4.add (local.get $s3) (f32x4.mul (local.get $vv) (v128.load offset=176 (local.get $q)))))
                (local.set $v (f32x4.extract_lane 3 (local.get $x)))
                (local.set $vv (f32x4.splat (local.get $v)))
                (local.set $t0 (f32x4.add (local.get $t0) (f32x4.mul (local.get $vv) (v128.load offset=192 (local.get $q)))))
                (local.set $t1 (f32x4.add (local.get $t1) (f32x4.mul (local.get $vv) (v128.load offset=208 (local.get $q)))))
                (local.set $t2 (f32x4.add (local.get $t2) (f32x4.mul (local.get $vv) (v128.load offset=224 (local.get $q)))))
                (local.set $t3 (f32x4.add (local.get $t3) (f32x4.mul (local.get $vv) (v128.load offset=240 (local.get $q)))))))
            (local.set $ap (i32.add (local.get $ap) (i32.const 16)))
            (local.set $q (i32.add (local.get $q) (i32.const 256)))
            (br $cols)))
        (local.set $q (i32.add (local.get $c) (i32.shl (local.get $i) (i32.const 6))))
        (v128.store offset=0 (local.get $q) (f32x4.add (local.get $s0) (local.get $t0)))
        (v128.store offset=16 (local.get $q) (f32x4.add (local.get $s1) (local.get $t1)))
        (v128.store offset=32 (local.get $q) (f32x4.add (local.get $s2) (local.get $t2)))
        (v128.store offset=48 (local.get $q) (f32x4.add (local.get $s3) (local.get $t3)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $rows))))

  ;; Totals at $tot (two rows of 16 floats) become the sums given (first = 1)
  ;; or have them added: one block of k joining those before it.
  (func $flush (param $tot i32) (param $first i32) (param $a0 v128) (param $a1 v128) (param $a2 v128) (param $a3 v128) (param $b0 v128) (param $b1 v128) (param $b2 v128) (param $b3 v128)
    (if (i32.eqz (local.get $first))
      (then
        (local.set $a0 (f32x4.add (v128.load offset=0 (local.get $tot)) (local.get $a0)))
        (local.set $a1 (f32x4.add (v128.load offset=16 (local.get $tot)) (local.get $a1)))
        (local.set $a2 (f32x4.add (v128.load offset=32 (local.get $tot)) (local.get $a2)))
        (local.set $a3 (f32x4.add (v128.load offset=48 (local.get $tot)) (local.get $a3)))
        (local.set $b0 (f32x4.add (v128.load offset=64 (local.get $tot)) (local.get $b0)))
        (local.set $b1 (f32x4.add (v128.load offset=80 (local.get $tot)) (local.get $b1)))
        (local.set $b2 (f32x4.add (v128.load offset=96 (local.get $tot)) (local.get $b2)))
        (local.set $b3 (f32x4.add (v128.load offset=112 (local.get $tot)) (local.get $b3)))))
    (v128.store offset=0 (local.get $tot) (local.get $a0))
    (v128.store offset=16 (local.get $tot) (local.get $a1))
    (v128.store offset=32 (local.get $tot) (local.get $a2))
    (v128.store offset=48 (local.get $tot) (local.get $a3))
    (v128.store offset=64 (local.get $tot) (local.get $b0))
    (v128.store offset=80 (local.get $tot) (local.get $b1))
    (v128.store offset=96 (local.get $tot) (local.get $b2))
    (v128.store offset=112 (local.get $tot) (local.get $b3)))

  ;; C[i, 0 .. 16) = Σ_p A[i,p] · P[p, 0 .. 16) for m rows of A (k floats a row,
  ;; k a multiple of 4) against a panel P[k×16] of B's columns, into C with
  ;; ldc floats a row. Two rows at a time, so each panel vector loaded serves
  ;; both and eight sums are in flight. The quads (four values of k) that are
  ;; zero in both rows, most of a batch of images, are first left out of a
  ;; list of the quads to multiply; every listed quad takes all its products
  ;; in order. Each output is summed in float32 exactly as the dense
  ;; kernel sums it: each block of 256 values of k in order from zero, the
  ;; blocks' sums added in order (a skipped product is a zero, which changes
  ;; no sum: callers check P is finite), so which of the two kernels runs
  ;; never changes a bit. m is
  ;; even (callers pad A with a zero row), and 16 floats of each row are
  ;; stored: a narrower C's spill into the next row is overwritten by it, so
  ;; callers go through panels right to left and leave 16 floats of room
  ;; after the last row, and at $list 128 bytes for the totals, then k / 4
  ;; words for the list.
  (func (export "rows16") (param $m i32) (param $k i32) (param $a i32) (param $p i32) (param $c i32) (param $ldc i32) (param $list i32)
    (local $i i32) (local $q i32) (local $kb i32) (local $ra i32) (local $rb i32) (local $pp i32) (local $ci i32) (local $ldcb i32) (local $end i32) (local $t i32) (local $bend i32) (local $tot i32) (local $first i32)
    (local $xa v128) (local $xb v128) (local $va v128) (local $vb v128) (local $w v128)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128) (local $b0 v128) (local $b1 v128) (local $b2 v128) (local $b3 v128)
    (local.set $kb (i32.shl (local.get $k) (i32.const 2)))
    (local.set $ldcb (i32.shl (local.get $ldc) (i32.const 2)))
    (local.set $ra (local.get $a))
    (local.set $ci (local.get $c))
    ;; The two rows' totals over the blocks of k done so far, then the list.
    (local.set $tot (local.get $list))
    (local.set $list (i32.add (local.get $list) (i32.const 128)))
    (block $rows_done
      (loop $rows
        (br_if $rows_done (i32.ge_u (local.get $i) (local.get $m)))
        (local.set $rb (i32.add (local.get $ra) (local.get $kb)))
        (local.set $bend (i32.const 1024))
        (local.set $first (i32.const 1))
        (local.set $a0 (v128.const i32x4 0 0 0 0))
        (local.set $a1 (v128.const i32x4 0 0 0 0))
        (local.set $a2 (v128.const i32x4 0 0 0 0))
        (local.set $a3 (v128.const i32x4 0 0 0 0))
        (local.set $b0 (v128.const i32x4 0 0 0 0))
        (local.set $b1 (v128.const i32x4 0 0 0 0))
        (local.set $b2 (v128.const i32x4 0 0 0 0))
        (local.set $b3 (v128.const i32x4 0 0 0 0))
        ;; The byte offsets of the quads with a non-zero, listed without a branch
        ;; (an unpredictable one per quad would cost more than the products).
        (local.set $q (i32.const 0))
        (local.set $end (local.get $list))
        (block $scan_done
          (loop $scan
            (br_if $scan_done (i32.ge_u (local.get $q) (local.get $kb)))
            (i32.store (local.get $end) (local.get $q))
            (local.set $end (i32.add (local.get $end) (i32.shl
              (v128.any_true (v128.or (v128.load (i32.add (local.get $ra) (local.get $q))) (v128.load (i32.add (local.get $rb) (local.get $q)))))
              (i32.const 2))))
            (local.set $q (i32.add (local.get $q) (i32.const 16)))
            (br $scan)))
        (local.set $t (local.get $list))
        (block $quads_done
          (loop $quads
            (br_if $quads_done (i32.ge_u (local.get $t) (local.get $end)))
            (local.set $q (i32.load (local.get $t)))
            ;; A listed quad past the current block of 256 values of k: the block's
            ;; sums join the totals (the first block's become them), and start again.
            (if (i32.ge_u (local.get $q) (local.get $bend))
              (then
                (call $flush (local.get $tot) (local.get $first) (local.get $a0) (local.get $a1) (local.get $a2) (local.get $a3) (local.get $b0) (local.get $b1) (local.get $b2) (local.get $b3))
                (local.set $first (i32.const 0))
                (local.set $a0 (v128.const i32x4 0 0 0 0))
                (local.set $a1 (v128.const i32x4 0 0 0 0))
                (local.set $a2 (v128.const i32x4 0 0 0 0))
                (local.set $a3 (v128.const i32x4 0 0 0 0))
                (local.set $b0 (v128.const i32x4 0 0 0 0))
                (local.set $b1 (v128.const i32x4 0 0 0 0))
                (local.set $b2 (v128.const i32x4 0 0 0 0))
                (local.set $b3 (v128.const i32x4 0 0 0 0))
                (local.set $bend (i32.and (i32.add (local.get $q) (i32.const 1024)) (i32.const -1024)))))
            (local.set $pp (i32.add (local.get $p) (i32.shl (local.get $q) (i32.const 4))))
            (local.set $xa (v128.load (i32.add (local.get $ra) (local.get $q))))
            (local.set $xb (v128.load (i32.add (local.get $rb) (local.get $q))))
            (local.set $va (i8x16.shuffle 0 1 2 3 0 1 2 3 0 1 2 3 0 1 2 3 (local.get $xa) (local.get $xa)))
            (local.set $vb (i8x16.shuffle 0 1 2 3 0 1 2 3 0 1 2 3 0 1 2 3 (local.get $xb) (local.get $xb)))
            (local.set $w (v128.load offset=0 (local.get $pp)))
            (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (local.get $va) (local.get $w))))
            (local.set $b0 (f32x4.add (local.get $b0) (f32x4.mul (local.get $vb) (local.get $w))))
            (local.set $w (v128.load offset=16 (local.get $pp)))
            (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (local.get $va) (local.get $w))))
            (local.set $b1 (f32x4.add (local.get $b1) (f32x4.mul (local.get $vb) (local.get $w))))
            (local.set $w (v128.load offset=32 (local.get $pp)))
            (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (local.get $va) (local.get $w))))
            (local.set $b2 (f32x4.add (local.get $b2) (f32x4.mul (local.get $vb) (local.get $w))))
            (local.set $w (v128.load offset=48 (local.get $pp)))
            (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (local.get $va) (local.get $w))))
            (local.set $b3 (f32x4.add (local.get $b3) (f32x4.mul (local.get $vb) (local.get $w))))
            (local.set $va (i8x16.shuffle 4 5 6 7 4 5 6 7 4 5 6 7 4 5 6 7 (local.get $xa) (local.get $xa)))
            (local.set $vb (i8x16.shuffle 4 5 6 7 4 5 6 7 4 5 6 7 4 5 6 7 (local.get $xb) (local.get $xb)))
            (local.set $w (v128.load offset=64 (local.get $pp)))
            (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (local.get $va) (local.get $w))))
            (local.set $b0 (f32x4.add (local.get $b0) (f32x4.mul (local.get $vb) (local.get $w))))
            (local.set $w (v128.load offset=80 (local.get $pp)))
            (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (local.get $va) (local.get $w))))
            (local.set $b1 (f32x4.add (local.get $b1) (f32x4.mul (local.get $vb) (local.get $w))))
            (local.set $w (v128.load offset=96 (local.get $pp)))
            (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (local.get $va) (local.get $w))))
            (local.set $b2 (f32x4.add (local.get $b2) (f32x4.mul (local.get $vb) (local.get $w))))
            (local.set $w (v128.load offset=112 (local.get $pp)))
            (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (local.get $va) (local.get $w))))
            (local.set $b3 (f32x4.add (local.get $b3) (f32x4.mul (local.get $vb) (local.get $w))))
            (local.set $va (i8x16.shuffle 8 9 10 11 8 9 10 11 8 9 10 11 8 9 10 11 (local.get $xa) (local.get $xa)))
            (local.set $vb (i8x16.shuffle 8 9 10 11 8 9 10 11 8 9 10 11 8 9 10 11 (local.get $xb) (local.get $xb)))
            (local.set $w (v128.load offset=128 (local.get $pp)))
            (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (local.get $va) (local.get $w))))
            (local.set $b0 (f32x4.add (local.get $b0) (f32x4.mul (local.get $vb) (local.get $w))))
            (local.set $w (v128.load offset=144 (local.get $pp)))
            (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (local.get $va) (local.get $w))))
            (local.set $b1 (f32x4.add (local.get $b1) (f32x4.mul (local.get $vb) (local.get $w))))
            (local.set $w (v128.load offset=160 (local.get $pp)))
            (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (local.get $va) (local.get $w))))
            (local.set $b2 (f32x4.add (local.get $b2) (f32x4.mul (local.get $vb) (local.get $w))))
            (local.set $w (v128.load offset=176 (local.get $pp)))
            (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (local.get $va) (local.get $w))))
            (local.set $b3 (f32x4.add (local.get $b3) (f32x4.mul (local.get $vb) (local.get $w))))
            (local.set $va (i8x16.shuffle 12 13 14 15 12 13 14 15 12 13 14 15 12 13 14 15 (local.get $xa) (local.get $xa)))
            (local.set $vb (i8x16.shuffle 12 13 14 15 12 13 14 15 12 13 14 15 12 13 14 15 (local.get $xb) (local.get $xb)))
            (local.set $w (v128.load offset=192 (local.get $pp)))
            (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (local.get $va) (local.get $w))))
            (local.set $b0 (f32x4.add (local.get $b0) (f32x4.mul (local.get $vb) (local.get $w))))
            (local.set $w (v128.load offset=208 (local.get $pp)))
            (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (local.get $va) (local.get $w))))
            (local.set $b1 (f32x4.add (local.get $b1) (f32x4.mul (local.get $vb) (local.get $w))))
            (local.set $w (v128.load offset=224 (local.get $pp)))
            (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (local.get $va) (local.get $w))))
            (local.set $b2 (f32x4.add (local.get $b2) (f32x4.mul (local.get $vb) (local.get $w))))
            (local.set $w (v128.load offset=240 (local.get $pp)))
            (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (local.get $va) (local.get $w))))
            (local.set $b3 (f32x4.add (local.get $b3) (f32x4.mul (local.get $vb) (local.get $w))))
            (local.set $t (i32.add (local.get $t) (i32.const 4)))
            (br $quads)))
        (call $flush (local.get $tot) (local.get $first) (local.get $a0) (local.get $a1) (local.get $a2) (local.get $a3) (local.get $b0) (local.get $b1) (local.get $b2) (local.get $b3))
        (v128.store offset=0 (local.get $ci) (v128.load offset=0 (local.get $tot)))
        (v128.store offset=16 (local.get $ci) (v128.load offset=16 (local.get $tot)))
        (v128.store offset=32 (local.get $ci) (v128.load offset=32 (local.get $tot)))
        (v128.store offset=48 (local.get $ci) (v128.load offset=48 (local.get $tot)))
        (local.set $ci (i32.add (local.get $ci) (local.get $ldcb)))
        (v128.store offset=0 (local.get $ci) (v128.load offset=64 (local.get $tot)))
        (v128.store offset=16 (local.get $ci) (v128.load offset=80 (local.get $tot)))
        (v128.store offset=32 (local.get $ci) (v128.load offset=96 (local.get $tot)))
        (v128.store offset=48 (local.get $ci) (v128.load offset=112 (local.get $tot)))
        (local.set $ci (i32.add (local.get $ci) (local.get $ldcb)))
        (local.set $ra (i32.add (local.get $rb) (local.get $kb)))
        (local.set $i (i32.add (local.get $i) (i32.const 2)))
        (br $rows))))

  ;; P[p, j - j0] = B[j·k + p] (trans = 1: B is n×k, as a layer's weights) or
  ;; B[p·n + j] (trans = 0: B is k×n), for p < k and j0 ≤ j < min(n, j0 + 16),
  ;; as rows of 16 floats; the other columns, and rows k ≤ p < k4, are zeros.
  ;; Four rows of a transposed B at a time go through 4×4 transposes.
  (func (export "panel16") (param $b i32) (param $n i32) (param $k i32) (param $k4 i32) (param $trans i32) (param $j0 i32) (param $dst i32)
    (local $p i32) (local $j i32) (local $jn i32) (local $kb i32) (local $r i32) (local $to i32)
    (local $q0 v128) (local $q1 v128) (local $q2 v128) (local $q3 v128) (local $u0 v128) (local $u1 v128) (local $u2 v128) (local $u3 v128)
    (memory.fill (local.get $dst) (i32.const 0) (i32.shl (local.get $k4) (i32.const 6)))
    (local.set $jn (select (local.get $n) (i32.add (local.get $j0) (i32.const 16)) (i32.lt_u (local.get $n) (i32.add (local.get $j0) (i32.const 16)))))
    (local.set $kb (i32.shl (local.get $k) (i32.const 2)))
    (local.set $j (local.get $j0))
    (if (local.get $trans)
      (then
        (block $quad_rows_done
          (loop $quad_rows
            (br_if $quad_rows_done (i32.gt_u (i32.add (local.get $j) (i32.const 4)) (local.get $jn)))
            (local.set $r (i32.add (local.get $b) (i32.mul (local.get $j) (local.get $kb))))
            (local.set $to (i32.add (local.get $dst) (i32.shl (i32.sub (local.get $j) (local.get $j0)) (i32.const 2))))
            (local.set $p (i32.const 0))
            (block $t_done
              (loop $t
                (br_if $t_done (i32.gt_u (i32.add (local.get $p) (i32.const 4)) (local.get $k)))
                (local.set $q0 (v128.load (local.get $r)))
                (local.set $q1 (v128.load (i32.add (local.get $r) (local.get $kb))))
                (local.set $q2 (v128.load (i32.add (local.get $r) (i32.shl (local.get $kb) (i32.const 1)))))
                (local.set $q3 (v128.load (i32.add (local.get $r) (i32.mul (local.get $kb) (i32.const 3)))))
                (local.set $u0 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $q0) (local.get $q1)))
                (local.set $u1 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $q2) (local.get $q3)))
                (local.set $u2 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $q0) (local.get $q1)))
                (local.set $u3 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $q2) (local.get $q3)))
                (local.set $q0 (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $u0) (local.get $u1)))
                (local.set $q1 (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $u0) (local.get $u1)))
                (local.set $q2 (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $u2) (local.get $u3)))
                (local.set $q3 (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $u2) (local.get $u3)))
                (v128.store offset=0 (local.get $to) (local.get $q0))
                (v128.store offset=64 (local.get $to) (local.get $q1))
                (v128.store offset=128 (local.get $to) (local.get $q2))
                (v128.store offset=192 (local.get $to) (local.get $q3))
                (local.set $r (i32.add (local.get $r) (i32.const 16)))
                (local.set $to (i32.add (local.get $to) (i32.const 256)))
                (local.set $p (i32.add (local.get $p) (i32.const 4)))
                (br $t)))
            ;; The last k mod 4 columns of these four rows, one at a time.
            (block $tail_done
              (loop $tail
                (br_if $tail_done (i32.ge_u (local.get $p) (local.get $k)))
                (f32.store offset=0 (local.get $to) (f32.load (local.get $r)))
                (f32.store offset=4 (local.get $to) (f32.load (i32.add (local.get $r) (local.get $kb))))
                (f32.store offset=8 (local.get $to) (f32.load (i32.add (local.get $r) (i32.shl (local.get $kb) (i32.const 1)))))
                (f32.store offset=12 (local.get $to) (f32.load (i32.add (local.get $r) (i32.mul (local.get $kb) (i32.const 3)))))
                (local.set $r (i32.add (local.get $r) (i32.const 4)))
                (local.set $to (i32.add (local.get $to) (i32.const 64)))
                (local.set $p (i32.add (local.get $p) (i32.const 1)))
                (br $tail)))
            (local.set $j (i32.add (local.get $j) (i32.const 4)))
            (br $quad_rows)))))
    ;; What is left (rows of a transposed B past the last group of four, or
    ;; all of an untransposed B), one value at a time.
    (block $j_done
      (loop $j_loop
        (br_if $j_done (i32.ge_u (local.get $j) (local.get $jn)))
        (local.set $p (i32.const 0))
        (local.set $to (i32.add (local.get $dst) (i32.shl (i32.sub (local.get $j) (local.get $j0)) (i32.const 2))))
        (block $p_done
          (loop $p_loop
            (br_if $p_done (i32.ge_u (local.get $p) (local.get $k)))
            (f32.store (local.get $to)
              (f32.load (i32.add (local.get $b) (i32.shl
                (select
                  (i32.add (i32.mul (local.get $j) (local.get $k)) (local.get $p))
                  (i32.add (i32.mul (local.get $p) (local.get $n)) (local.get $j))
                  (local.get $trans))
                (i32.const 2)))))
            (local.set $to (i32.add (local.get $to) (i32.const 64)))
            (local.set $p (i32.add (local.get $p) (i32.const 1)))
            (br $p_loop)))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $j_loop))))

  ;; Whether every float32 of X[0 .. count) is finite (1) or some is NaN or ±∞
  ;; (0): x·0 is 0 exactly for finite x, NaN otherwise, and NaN sticks in a sum.
  (func (export "finite") (param $x i32) (param $count i32) (result i32)
    (local $end i32) (local $s v128) (local $t f32)
    (local.set $end (i32.add (local.get $x) (i32.shl (i32.and (local.get $count) (i32.const -4)) (i32.const 2))))
    (block $v_done
      (loop $v
        (br_if $v_done (i32.ge_u (local.get $x) (local.get $end)))
        (local.set $s (f32x4.add (local.get $s) (f32x4.mul (v128.load (local.get $x)) (v128.const f32x4 0 0 0 0))))
        (local.set $x (i32.add (local.get $x) (i32.const 16)))
        (br $v)))
    (local.set $end (i32.add (local.get $end) (i32.shl (i32.and (local.get $count) (i32.const 3)) (i32.const 2))))
    (block $s_done
      (loop $one
        (br_if $s_done (i32.ge_u (local.get $x) (local.get $end)))
        (local.set $t (f32.add (local.get $t) (f32.mul (f32.load (local.get $x)) (f32.const 0))))
        (local.set $x (i32.add (local.get $x) (i32.const 4)))
        (br $one)))
    (i32.and
      (i32x4.all_true (i32x4.eq (local.get $s) (v128.const i32x4 0 0 0 0)))
      (f32.eq (local.get $t) (f32.const 0))))

  ;; dst[i] += src[i] for i < count, a multiple of 4: a later block of k's sums
  ;; joining the earlier ones.
  (func (export "add") (param $dst i32) (param $src i32) (param $count i32)
    (local $end i32)
    (local.set $end (i32.add (local.get $dst) (i32.shl (local.get $count) (i32.const 2))))
    (block $done
      (loop $v
        (br_if $done (i32.ge_u (local.get $dst) (local.get $end)))
        (v128.store (local.get $dst) (f32x4.add (v128.load (local.get $dst)) (v128.load (local.get $src))))
        (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
        (local.set $src (i32.add (local.get $src) (i32.const 16)))
        (br $v))))
)
