;; f32x4 SIMD kernels for the products that dominate training a dense
;; network on images: a batch of mostly-zero inputs against a layer's weights.
;; Assembled into gemm.wasm.ts by scripts/build-wasm.mjs; JS copies operands in
;; and results out. Both kernels read the sparse operand (the images) a quad of
;; four values at a time: a quad of zeros (most of an image) costs one load and
;; one test, and a quad with any non-zero is used whole (its zeros add nothing:
;; callers make sure the other operand is finite). No branch depends on a
;; single pixel, and no operand is transposed.
(module
  (memory (export "memory") 1)

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
)
