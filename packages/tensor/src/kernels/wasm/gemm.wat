;; f32x4 SIMD kernels for the products that dominate training a dense
;; network on images: a batch of mostly-zero inputs times a 16-wide panel.
;; Assembled into gemm.wasm.ts by scripts/build-wasm.mjs; JS packs and unpacks.
;; Both kernels read their sparse operand four values at a time: a run of
;; four zeros (most of an image) costs one load and one test, and a quad with
;; any non-zero is used whole. Its zeros add nothing (callers make sure the
;; other operand is finite), and no branch depends on a single pixel: on
;; images, per-pixel branches mispredict often enough to cost more than the
;; arithmetic they skip.
(module
  (memory (export "memory") 1)

  ;; C[m×16] = A[m×k] · BT[k×16], k a multiple of 4: for each row, the
  ;; non-zeros of A scale 16-wide rows of the panel into four accumulators.
  (func (export "nt16") (param $m i32) (param $k i32) (param $a i32) (param $bt i32) (param $c i32)
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

  ;; CT[n×16] = Σ_p B[p,:]ᵀ ⊗ AP[p,:] for B[k×n] (n a multiple of 4) and a
  ;; 16-wide panel AP[k×16]: the transposed product Aᵀ·B. Each non-zero of B
  ;; adds a scaled row of the panel, held in registers for the whole row of B.
  (func (export "tn16") (param $k i32) (param $n i32) (param $ap i32) (param $b i32) (param $ct i32)
    (local $p i32) (local $bp i32) (local $end i32) (local $q i32) (local $v f32) (local $vv v128) (local $x v128)
    (local $g0 v128) (local $g1 v128) (local $g2 v128) (local $g3 v128)
    (memory.fill (local.get $ct) (i32.const 0) (i32.shl (local.get $n) (i32.const 6)))
    (local.set $bp (local.get $b))
    (block $rows_done
      (loop $rows
        (br_if $rows_done (i32.ge_u (local.get $p) (local.get $k)))
        (local.set $g0 (v128.load offset=0 (local.get $ap)))
        (local.set $g1 (v128.load offset=16 (local.get $ap)))
        (local.set $g2 (v128.load offset=32 (local.get $ap)))
        (local.set $g3 (v128.load offset=48 (local.get $ap)))
        (local.set $end (i32.add (local.get $bp) (i32.shl (local.get $n) (i32.const 2))))
        (local.set $q (local.get $ct))
        (block $cols_done
          (loop $cols
            (br_if $cols_done (i32.ge_u (local.get $bp) (local.get $end)))
            (local.set $x (v128.load (local.get $bp)))
            (if (v128.any_true (local.get $x))
              (then
                (local.set $v (f32x4.extract_lane 0 (local.get $x)))
                (local.set $vv (f32x4.splat (local.get $v)))
                (v128.store offset=0 (local.get $q)
                  (f32x4.add (v128.load offset=0 (local.get $q)) (f32x4.mul (local.get $vv) (local.get $g0))))
                (v128.store offset=16 (local.get $q)
                  (f32x4.add (v128.load offset=16 (local.get $q)) (f32x4.mul (local.get $vv) (local.get $g1))))
                (v128.store offset=32 (local.get $q)
                  (f32x4.add (v128.load offset=32 (local.get $q)) (f32x4.mul (local.get $vv) (local.get $g2))))
                (v128.store offset=48 (local.get $q)
                  (f32x4.add (v128.load offset=48 (local.get $q)) (f32x4.mul (local.get $vv) (local.get $g3))))
                (local.set $v (f32x4.extract_lane 1 (local.get $x)))
                (local.set $vv (f32x4.splat (local.get $v)))
                (v128.store offset=64 (local.get $q)
                  (f32x4.add (v128.load offset=64 (local.get $q)) (f32x4.mul (local.get $vv) (local.get $g0))))
                (v128.store offset=80 (local.get $q)
                  (f32x4.add (v128.load offset=80 (local.get $q)) (f32x4.mul (local.get $vv) (local.get $g1))))
                (v128.store offset=96 (local.get $q)
                  (f32x4.add (v128.load offset=96 (local.get $q)) (f32x4.mul (local.get $vv) (local.get $g2))))
                (v128.store offset=112 (local.get $q)
                  (f32x4.add (v128.load offset=112 (local.get $q)) (f32x4.mul (local.get $vv) (local.get $g3))))
                (local.set $v (f32x4.extract_lane 2 (local.get $x)))
                (local.set $vv (f32x4.splat (local.get $v)))
                (v128.store offset=128 (local.get $q)
                  (f32x4.add (v128.load offset=128 (local.get $q)) (f32x4.mul (local.get $vv) (local.get $g0))))
                (v128.store offset=144 (local.get $q)
                  (f32x4.add (v128.load offset=144 (local.get $q)) (f32x4.mul (local.get $vv) (local.get $g1))))
                (v128.store offset=160 (local.get $q)
                  (f32x4.add (v128.load offset=160 (local.get $q)) (f32x4.mul (local.get $vv) (local.get $g2))))
                (v128.store offset=176 (local.get $q)
                  (f32x4.add (v128.load offset=176 (local.get $q)) (f32x4.mul (local.get $vv) (local.get $g3))))
                (local.set $v (f32x4.extract_lane 3 (local.get $x)))
                (local.set $vv (f32x4.splat (local.get $v)))
                (v128.store offset=192 (local.get $q)
                  (f32x4.add (v128.load offset=192 (local.get $q)) (f32x4.mul (local.get $vv) (local.get $g0))))
                (v128.store offset=208 (local.get $q)
                  (f32x4.add (v128.load offset=208 (local.get $q)) (f32x4.mul (local.get $vv) (local.get $g1))))
                (v128.store offset=224 (local.get $q)
                  (f32x4.add (v128.load offset=224 (local.get $q)) (f32x4.mul (local.get $vv) (local.get $g2))))
                (v128.store offset=240 (local.get $q)
                  (f32x4.add (v128.load offset=240 (local.get $q)) (f32x4.mul (local.get $vv) (local.get $g3))))))
            (local.set $bp (i32.add (local.get $bp) (i32.const 16)))
            (local.set $q (i32.add (local.get $q) (i32.const 256)))
            (br $cols)))
        (local.set $ap (i32.add (local.get $ap) (i32.const 64)))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $rows))))
)
