;; sgemm.wat — single-precision GEMM for WebAssembly SIMD128.
;;
;; The wasm counterpart of the .s kernels Go keeps for amd64: Go compiled to
;; js/wasm has no SIMD, so this small module does the float32 matrix products
;; of the embedding model on the Go instance's own memory, in place.
;;
;;   C[m×n] = A[m×k]·B[k×n]          (accumulate = 0)
;;   C[m×n] += A[m×k]·B[k×n]         (accumulate ≠ 0)
;;
;; Row-major, leading dimensions in elements, matrix and scratch addresses as
;; byte offsets into the imported memory (what //go:wasmimport hands over for
;; a *float32). Scratch belongs to the caller (Go): the module has no memory
;; of its own, and JS views of Go's memory go stale when Go grows it.
;;
;; Blocking (GotoBLAS order, sizes chosen by the caller):
;;   for each kc-deep slice of k:
;;     for each nc-wide block of columns: pack B block into 8-column panels
;;       for each 4-row block of A:       pack A rows into [kc][4]
;;         for each 8-column panel:       4×8 register tile over kc
;; Edges are handled by zero-padding while packing and storing only the valid
;; part of the last tile, so the hot loops have no branches on shape; a last
;; panel of at most four columns runs a 4×4 loop (half the work).
;;
;; The register tile is 4×8: eight f32x4 accumulators, two B vectors and one
;; broadcast A value, which fits the 16 vector registers V8 uses on x86-64.
;; Wider tiles or a hand-unrolled k loop spill and run slower.
;;
;; Scratch size in bytes: 128 + 16·kc + 32·kc·ceil(nc/8).
;;
;; Two builds come from this one file (wasm/kernels/build.mjs):
;;   sgemm.wasm      SIMD128 only: every browser with wasm SIMD, Node ≥ 16;
;;   sgemm-fma.wasm  each multiply-add line of the register tile, written
;;                   exactly as
;;                     (f32x4.add (local.get $cRC) (f32x4.mul (local.get $a) (local.get $bH)))
;;                   becomes (f32x4.relaxed_madd (local.get $a) (local.get $bH) (local.get $cRC)):
;;                   relaxed SIMD, fused where the CPU has FMA (Chromium ≥ 114,
;;                   Node ≥ 22, Node 20 behind --experimental-wasm-relaxed-simd);
;;                   ≈ 15–20 % faster on x86-64 with FMA. Keep that form for
;;                   all twelve of them: the build checks the count.
(module
  ;; Go's exported memory: it has no maximum and is not shared, so the import
  ;; must not declare either.
  (import "env" "mem" (memory 1))

  ;; packB copies B[kb×nb] (row stride ldb elements, starting at byte offset
  ;; src) into panels of 8 columns at dst. Panel q (columns 8q..8q+7) holds kb
  ;; rows of 8 floats; columns past nb are zero.
  (func $packB (param $src i32) (param $ldb i32) (param $kb i32) (param $nb i32) (param $dst i32)
    (local $jp i32) (local $nr i32) (local $s i32) (local $d i32) (local $dend i32)
    (local $ldb4 i32) (local $j i32)
    (local.set $ldb4 (i32.shl (local.get $ldb) (i32.const 2)))
    (loop $panels
      (local.set $nr (i32.sub (local.get $nb) (local.get $jp)))
      (if (i32.gt_s (local.get $nr) (i32.const 8)) (then (local.set $nr (i32.const 8))))
      (local.set $s (i32.add (local.get $src) (i32.shl (local.get $jp) (i32.const 2))))
      (local.set $d (i32.add (local.get $dst)
        (i32.shl (i32.mul (local.get $jp) (local.get $kb)) (i32.const 2))))
      (local.set $dend (i32.add (local.get $d) (i32.shl (local.get $kb) (i32.const 5))))
      (if (i32.eq (local.get $nr) (i32.const 8))
        (then
          (loop $rows
            (v128.store (local.get $d) (v128.load (local.get $s)))
            (v128.store offset=16 (local.get $d) (v128.load offset=16 (local.get $s)))
            (local.set $s (i32.add (local.get $s) (local.get $ldb4)))
            (local.set $d (i32.add (local.get $d) (i32.const 32)))
            (br_if $rows (i32.lt_u (local.get $d) (local.get $dend)))))
        (else
          (loop $rows
            (v128.store (local.get $d) (v128.const i32x4 0 0 0 0))
            (v128.store offset=16 (local.get $d) (v128.const i32x4 0 0 0 0))
            (local.set $j (i32.const 0))
            (loop $cols
              (f32.store
                (i32.add (local.get $d) (i32.shl (local.get $j) (i32.const 2)))
                (f32.load (i32.add (local.get $s) (i32.shl (local.get $j) (i32.const 2)))))
              (local.set $j (i32.add (local.get $j) (i32.const 1)))
              (br_if $cols (i32.lt_s (local.get $j) (local.get $nr))))
            (local.set $s (i32.add (local.get $s) (local.get $ldb4)))
            (local.set $d (i32.add (local.get $d) (i32.const 32)))
            (br_if $rows (i32.lt_u (local.get $d) (local.get $dend))))))
      (local.set $jp (i32.add (local.get $jp) (i32.const 8)))
      (br_if $panels (i32.lt_s (local.get $jp) (local.get $nb)))))

  ;; packA copies mb ≤ 4 rows of kb elements (row stride lda elements,
  ;; starting at byte offset src) into dst as [kb][4]: element (r, p) at
  ;; dst + 16p + 4r. Rows past mb are zero. Full blocks are transposed four
  ;; columns at a time with shuffles.
  (func $packA (param $src i32) (param $lda i32) (param $kb i32) (param $mb i32) (param $dst i32)
    (local $lda4 i32) (local $p i32) (local $p4 i32) (local $s i32) (local $d i32) (local $r i32)
    (local $r0 v128) (local $r1 v128) (local $r2 v128) (local $r3 v128)
    (local $t0 v128) (local $t1 v128) (local $t2 v128) (local $t3 v128)
    (local.set $lda4 (i32.shl (local.get $lda) (i32.const 2)))
    (if (i32.eq (local.get $mb) (i32.const 4))
      (then
        ;; 4×4 transposes while at least four columns remain.
        (local.set $p4 (i32.and (local.get $kb) (i32.const -4)))
        (local.set $s (local.get $src))
        (local.set $d (local.get $dst))
        (block $done4
          (br_if $done4 (i32.eqz (local.get $p4)))
          (loop $quads
            (local.set $r0 (v128.load (local.get $s)))
            (local.set $r1 (v128.load (i32.add (local.get $s) (local.get $lda4))))
            (local.set $r2 (v128.load (i32.add (local.get $s)
              (i32.shl (local.get $lda4) (i32.const 1)))))
            (local.set $r3 (v128.load (i32.add (local.get $s)
              (i32.mul (local.get $lda4) (i32.const 3)))))
            ;; t0 = r0[0] r1[0] r0[1] r1[1]   t1 = r0[2] r1[2] r0[3] r1[3]
            (local.set $t0 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23
              (local.get $r0) (local.get $r1)))
            (local.set $t1 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31
              (local.get $r0) (local.get $r1)))
            (local.set $t2 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23
              (local.get $r2) (local.get $r3)))
            (local.set $t3 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31
              (local.get $r2) (local.get $r3)))
            (v128.store (local.get $d) (i8x16.shuffle
              0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t0) (local.get $t2)))
            (v128.store offset=16 (local.get $d) (i8x16.shuffle
              8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t0) (local.get $t2)))
            (v128.store offset=32 (local.get $d) (i8x16.shuffle
              0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t1) (local.get $t3)))
            (v128.store offset=48 (local.get $d) (i8x16.shuffle
              8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t1) (local.get $t3)))
            (local.set $s (i32.add (local.get $s) (i32.const 16)))
            (local.set $d (i32.add (local.get $d) (i32.const 64)))
            (local.set $p (i32.add (local.get $p) (i32.const 4)))
            (br_if $quads (i32.lt_s (local.get $p) (local.get $p4)))))
        ;; Remaining columns one at a time.
        (block $done
          (br_if $done (i32.ge_s (local.get $p) (local.get $kb)))
          (loop $tail
            (f32.store (local.get $d) (f32.load (local.get $s)))
            (f32.store offset=4 (local.get $d)
              (f32.load (i32.add (local.get $s) (local.get $lda4))))
            (f32.store offset=8 (local.get $d)
              (f32.load (i32.add (local.get $s) (i32.shl (local.get $lda4) (i32.const 1)))))
            (f32.store offset=12 (local.get $d)
              (f32.load (i32.add (local.get $s) (i32.mul (local.get $lda4) (i32.const 3)))))
            (local.set $s (i32.add (local.get $s) (i32.const 4)))
            (local.set $d (i32.add (local.get $d) (i32.const 16)))
            (local.set $p (i32.add (local.get $p) (i32.const 1)))
            (br_if $tail (i32.lt_s (local.get $p) (local.get $kb))))))
      (else
        ;; Edge block: zero everything, then copy the rows that exist.
        (local.set $d (local.get $dst))
        (loop $zero
          (v128.store (local.get $d) (v128.const i32x4 0 0 0 0))
          (local.set $d (i32.add (local.get $d) (i32.const 16)))
          (local.set $p (i32.add (local.get $p) (i32.const 1)))
          (br_if $zero (i32.lt_s (local.get $p) (local.get $kb))))
        (loop $rows
          (local.set $s (i32.add (local.get $src) (i32.mul (local.get $r) (local.get $lda4))))
          (local.set $d (i32.add (local.get $dst) (i32.shl (local.get $r) (i32.const 2))))
          (local.set $p (i32.const 0))
          (loop $cols
            (f32.store (local.get $d) (f32.load (local.get $s)))
            (local.set $s (i32.add (local.get $s) (i32.const 4)))
            (local.set $d (i32.add (local.get $d) (i32.const 16)))
            (local.set $p (i32.add (local.get $p) (i32.const 1)))
            (br_if $cols (i32.lt_s (local.get $p) (local.get $kb))))
          (local.set $r (i32.add (local.get $r) (i32.const 1)))
          (br_if $rows (i32.lt_s (local.get $r) (local.get $mb)))))))

  ;; tile computes one 4×8 block of A·B over kb ≥ 1 from packed panels ap
  ;; ([kb][4]) and bp ([kb][8]) and writes (first ≠ 0) or adds it into C at
  ;; byte offset c. Only mb rows and nr columns are touched; partial tiles go
  ;; through the 128-byte tmp area.
  (func $tile (param $kb i32) (param $ap i32) (param $bp i32) (param $c i32) (param $ldc i32)
              (param $first i32) (param $mb i32) (param $nr i32) (param $tmp i32)
    (local $c00 v128) (local $c01 v128) (local $c10 v128) (local $c11 v128)
    (local $c20 v128) (local $c21 v128) (local $c30 v128) (local $c31 v128)
    (local $a v128) (local $b0 v128) (local $b1 v128)
    (local $bend i32) (local $ldc4 i32) (local $r i32) (local $j i32) (local $addr i32) (local $v f32)
    (local.set $bend (i32.add (local.get $bp) (i32.shl (local.get $kb) (i32.const 5))))
    ;; A last panel of at most four columns needs only the left half.
    (if (i32.le_s (local.get $nr) (i32.const 4))
      (then
        (loop $k4
          (local.set $b0 (v128.load (local.get $bp)))
          (local.set $a (v128.load32_splat (local.get $ap)))
          (local.set $c00 (f32x4.add (local.get $c00) (f32x4.mul (local.get $a) (local.get $b0))))
          (local.set $a (v128.load32_splat offset=4 (local.get $ap)))
          (local.set $c10 (f32x4.add (local.get $c10) (f32x4.mul (local.get $a) (local.get $b0))))
          (local.set $a (v128.load32_splat offset=8 (local.get $ap)))
          (local.set $c20 (f32x4.add (local.get $c20) (f32x4.mul (local.get $a) (local.get $b0))))
          (local.set $a (v128.load32_splat offset=12 (local.get $ap)))
          (local.set $c30 (f32x4.add (local.get $c30) (f32x4.mul (local.get $a) (local.get $b0))))
          (local.set $ap (i32.add (local.get $ap) (i32.const 16)))
          (local.set $bp (i32.add (local.get $bp) (i32.const 32)))
          (br_if $k4 (i32.lt_u (local.get $bp) (local.get $bend)))))
      (else
        (loop $k
          (local.set $b0 (v128.load (local.get $bp)))
          (local.set $b1 (v128.load offset=16 (local.get $bp)))
          (local.set $a (v128.load32_splat (local.get $ap)))
          (local.set $c00 (f32x4.add (local.get $c00) (f32x4.mul (local.get $a) (local.get $b0))))
          (local.set $c01 (f32x4.add (local.get $c01) (f32x4.mul (local.get $a) (local.get $b1))))
          (local.set $a (v128.load32_splat offset=4 (local.get $ap)))
          (local.set $c10 (f32x4.add (local.get $c10) (f32x4.mul (local.get $a) (local.get $b0))))
          (local.set $c11 (f32x4.add (local.get $c11) (f32x4.mul (local.get $a) (local.get $b1))))
          (local.set $a (v128.load32_splat offset=8 (local.get $ap)))
          (local.set $c20 (f32x4.add (local.get $c20) (f32x4.mul (local.get $a) (local.get $b0))))
          (local.set $c21 (f32x4.add (local.get $c21) (f32x4.mul (local.get $a) (local.get $b1))))
          (local.set $a (v128.load32_splat offset=12 (local.get $ap)))
          (local.set $c30 (f32x4.add (local.get $c30) (f32x4.mul (local.get $a) (local.get $b0))))
          (local.set $c31 (f32x4.add (local.get $c31) (f32x4.mul (local.get $a) (local.get $b1))))
          (local.set $ap (i32.add (local.get $ap) (i32.const 16)))
          (local.set $bp (i32.add (local.get $bp) (i32.const 32)))
          (br_if $k (i32.lt_u (local.get $bp) (local.get $bend))))))
    (local.set $ldc4 (i32.shl (local.get $ldc) (i32.const 2)))
    (if (i32.and (i32.eq (local.get $mb) (i32.const 4)) (i32.eq (local.get $nr) (i32.const 8)))
      (then
        (if (i32.eqz (local.get $first))
          (then
            (local.set $c00 (f32x4.add (local.get $c00) (v128.load (local.get $c))))
            (local.set $c01 (f32x4.add (local.get $c01) (v128.load offset=16 (local.get $c))))))
        (v128.store (local.get $c) (local.get $c00))
        (v128.store offset=16 (local.get $c) (local.get $c01))
        (local.set $c (i32.add (local.get $c) (local.get $ldc4)))
        (if (i32.eqz (local.get $first))
          (then
            (local.set $c10 (f32x4.add (local.get $c10) (v128.load (local.get $c))))
            (local.set $c11 (f32x4.add (local.get $c11) (v128.load offset=16 (local.get $c))))))
        (v128.store (local.get $c) (local.get $c10))
        (v128.store offset=16 (local.get $c) (local.get $c11))
        (local.set $c (i32.add (local.get $c) (local.get $ldc4)))
        (if (i32.eqz (local.get $first))
          (then
            (local.set $c20 (f32x4.add (local.get $c20) (v128.load (local.get $c))))
            (local.set $c21 (f32x4.add (local.get $c21) (v128.load offset=16 (local.get $c))))))
        (v128.store (local.get $c) (local.get $c20))
        (v128.store offset=16 (local.get $c) (local.get $c21))
        (local.set $c (i32.add (local.get $c) (local.get $ldc4)))
        (if (i32.eqz (local.get $first))
          (then
            (local.set $c30 (f32x4.add (local.get $c30) (v128.load (local.get $c))))
            (local.set $c31 (f32x4.add (local.get $c31) (v128.load offset=16 (local.get $c))))))
        (v128.store (local.get $c) (local.get $c30))
        (v128.store offset=16 (local.get $c) (local.get $c31)))
      (else
        (v128.store (local.get $tmp) (local.get $c00))
        (v128.store offset=16 (local.get $tmp) (local.get $c01))
        (v128.store offset=32 (local.get $tmp) (local.get $c10))
        (v128.store offset=48 (local.get $tmp) (local.get $c11))
        (v128.store offset=64 (local.get $tmp) (local.get $c20))
        (v128.store offset=80 (local.get $tmp) (local.get $c21))
        (v128.store offset=96 (local.get $tmp) (local.get $c30))
        (v128.store offset=112 (local.get $tmp) (local.get $c31))
        (loop $rows
          (local.set $j (i32.const 0))
          (loop $cols
            (local.set $addr (i32.add
              (i32.add (local.get $c) (i32.mul (local.get $r) (local.get $ldc4)))
              (i32.shl (local.get $j) (i32.const 2))))
            (local.set $v (f32.load (i32.add (local.get $tmp)
              (i32.shl (i32.add (i32.shl (local.get $r) (i32.const 3)) (local.get $j)) (i32.const 2)))))
            (if (i32.eqz (local.get $first))
              (then (local.set $v (f32.add (local.get $v) (f32.load (local.get $addr))))))
            (f32.store (local.get $addr) (local.get $v))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br_if $cols (i32.lt_s (local.get $j) (local.get $nr))))
          (local.set $r (i32.add (local.get $r) (i32.const 1)))
          (br_if $rows (i32.lt_s (local.get $r) (local.get $mb)))))))

  ;; sgemm: see the top of the file. Returns 1 when C has been written, 0 when
  ;; the arguments are outside what the kernel handles (the caller then uses
  ;; its portable path). The caller guarantees that every byte addressed is
  ;; inside its slices and that the scratch area is large enough.
  (func (export "sgemm")
        (param $m i32) (param $n i32) (param $k i32)
        (param $a i32) (param $lda i32) (param $b i32) (param $ldb i32)
        (param $c i32) (param $ldc i32) (param $accumulate i32)
        (param $ws i32) (param $kc i32) (param $nc i32)
        (result i32)
    (local $pc i32) (local $kb i32) (local $first i32) (local $jc i32) (local $nb i32)
    (local $ic i32) (local $mb i32) (local $jp i32) (local $nr i32)
    (local $wsA i32) (local $wsB i32)
    (if (i32.or
          (i32.or (i32.le_s (local.get $m) (i32.const 0)) (i32.le_s (local.get $n) (i32.const 0)))
          (i32.or (i32.le_s (local.get $k) (i32.const 0))
            (i32.or (i32.le_s (local.get $kc) (i32.const 0)) (i32.le_s (local.get $nc) (i32.const 0)))))
      (then (return (i32.const 0))))
    ;; Scratch: 128-byte tmp tile, then the A panel (16·kc), then the B block.
    (local.set $wsA (i32.add (local.get $ws) (i32.const 128)))
    (local.set $wsB (i32.add (local.get $wsA) (i32.shl (local.get $kc) (i32.const 4))))
    (loop $kslices
      (local.set $kb (i32.sub (local.get $k) (local.get $pc)))
      (if (i32.gt_s (local.get $kb) (local.get $kc)) (then (local.set $kb (local.get $kc))))
      (local.set $first (i32.and (i32.eqz (local.get $pc)) (i32.eqz (local.get $accumulate))))
      (local.set $jc (i32.const 0))
      (loop $nblocks
        (local.set $nb (i32.sub (local.get $n) (local.get $jc)))
        (if (i32.gt_s (local.get $nb) (local.get $nc)) (then (local.set $nb (local.get $nc))))
        (call $packB
          (i32.add (local.get $b) (i32.shl
            (i32.add (i32.mul (local.get $pc) (local.get $ldb)) (local.get $jc)) (i32.const 2)))
          (local.get $ldb) (local.get $kb) (local.get $nb) (local.get $wsB))
        (local.set $ic (i32.const 0))
        (loop $mblocks
          (local.set $mb (i32.sub (local.get $m) (local.get $ic)))
          (if (i32.gt_s (local.get $mb) (i32.const 4)) (then (local.set $mb (i32.const 4))))
          (call $packA
            (i32.add (local.get $a) (i32.shl
              (i32.add (i32.mul (local.get $ic) (local.get $lda)) (local.get $pc)) (i32.const 2)))
            (local.get $lda) (local.get $kb) (local.get $mb) (local.get $wsA))
          (local.set $jp (i32.const 0))
          (loop $panels
            (local.set $nr (i32.sub (local.get $nb) (local.get $jp)))
            (if (i32.gt_s (local.get $nr) (i32.const 8)) (then (local.set $nr (i32.const 8))))
            (call $tile (local.get $kb) (local.get $wsA)
              (i32.add (local.get $wsB)
                (i32.shl (i32.mul (local.get $jp) (local.get $kb)) (i32.const 2)))
              (i32.add (local.get $c) (i32.shl
                (i32.add (i32.mul (local.get $ic) (local.get $ldc))
                  (i32.add (local.get $jc) (local.get $jp))) (i32.const 2)))
              (local.get $ldc) (local.get $first) (local.get $mb) (local.get $nr) (local.get $ws))
            (local.set $jp (i32.add (local.get $jp) (i32.const 8)))
            (br_if $panels (i32.lt_s (local.get $jp) (local.get $nb))))
          (local.set $ic (i32.add (local.get $ic) (i32.const 4)))
          (br_if $mblocks (i32.lt_s (local.get $ic) (local.get $m))))
        (local.set $jc (i32.add (local.get $jc) (local.get $nc)))
        (br_if $nblocks (i32.lt_s (local.get $jc) (local.get $n))))
      (local.set $pc (i32.add (local.get $pc) (local.get $kc)))
      (br_if $kslices (i32.lt_s (local.get $pc) (local.get $k))))
    (i32.const 1))

  ;; The int8 kernels (qgemm.wat), spliced in here by build.mjs.
  ;; @include qgemm.wat
)
