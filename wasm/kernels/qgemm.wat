;; qgemm.wat — the int8 half of the kernel module: the u8×s8 GEMM of the
;; engine's int8 convolutions (models/engine/qgemm.go) and what feeds it.
;; build.mjs splices this file into sgemm.wat's module at its `@include`
;; line; the functions share Go's imported memory and its conventions
;; (byte offsets, caller-owned scratch, no memory of our own).
;;
;; Every function computes exactly what its Go counterpart computes, so the
;; js/wasm engine and the native one give bit-identical embeddings:
;;
;;   quantize   dst[i] = clamp(round-half-even(clamp(src[i]·inv, ±512)) + z, 0, 255)
;;   minmax     min and max of an f32 array, each widened to include 0
;;   im2col8    the byte im2col of models/engine/conv.go (im2colOf), pad = zero point
;;   qgemm      C[i][j] = relu?(f32(Σ_p A[i][p]·B[p][j])·rs[i] + bias[i] (+ C[i][j]))
;;   maxpool    ONNX MaxPool without dilation (the float pooling after the stem)
;;   qweights   the weights quantised per row into the packed A layout (at load)
;;
;; qgemm reads A (weights) packed by Go in strips of four rows, [kq][4][4]
;; int8 (row r's four weights of group q together; K padded with zeros to
;; 4·kq), and B (activations) as row-major uint8 K×n with row stride ldb.
;; Per block of ncb columns it packs B into scratch, then runs a 4×8
;; register tile over every strip and 8-column panel, with the epilogue in
;; the tile's store (multiply, then add: never fused, as in Go).
;;
;; Two tiles:
;;   plain (SIMD128): B panels [2kq][8][2] i16 and the A strip widened to
;;     i16 in scratch; per pair of k, a row's weight pair splatted,
;;     i32x4.dot_i16x8_s with four columns' pairs (64 multiply-adds per 22
;;     instructions);
;;   dot (relaxed SIMD, only in the sgemm-fma.wasm build, between the
;;     @relaxed-begin/@relaxed-end lines): B panels [kq][8][4] u8 and
;;     i32x4.relaxed_dot_i8x16_i7x16_add_s with the weights as its signed
;;     operand and the activations as its "i7" one. Exact only where the
;;     engine treats the second operand as unsigned without saturating
;;     (VPDPBUSD: x86-64 with AVX-VNNI, as Chromium does); elsewhere (pmaddubsw
;;     saturates, ARM's sdot is signed) it is wrong for activations ≥ 128, so
;;     Go probes it on such values at start-up and uses the plain tile unless
;;     the answer is exact.
;;
;; Scratch of qgemm: 128 bytes of edge tile, 16 of running max, 32·kq bytes of
;; widened A strip, then 8·kq·ncb bytes of packed B.

  ;; ------------------------------------------------------------ quantize
  (func (export "quantize") (param $src i32) (param $n i32) (param $inv f32) (param $z i32) (param $dst i32)
        (result i32)
    (local $end i32) (local $vinv v128) (local $lo v128) (local $hi v128) (local $magic v128)
    (local $vz v128) (local $q0 v128) (local $q1 v128) (local $q2 v128) (local $q3 v128)
    (local $v f32) (local $r i32)
    (local.set $vinv (f32x4.splat (local.get $inv)))
    (local.set $lo (f32x4.splat (f32.const -512)))
    (local.set $hi (f32x4.splat (f32.const 512)))
    ;; Per four values: round(clamp(x·inv, lo, hi)) + z as i32 (NaN gives
    ;; lo + z, i.e. 0 once narrowed). x + 1.5·2^23 rounds x (|x| ≤ 2^22) to
    ;; the nearest integer, ties to even, into the low mantissa bits:
    ;; subtracting the bits of 1.5·2^23 gives it.
    (local.set $magic (f32x4.splat (f32.const 12582912)))
    (local.set $vz (i32x4.splat (local.get $z)))
    (local.set $end (i32.add (local.get $src) (i32.shl (i32.and (local.get $n) (i32.const -16)) (i32.const 2))))
    (block $done16
      (br_if $done16 (i32.ge_u (local.get $src) (local.get $end)))
      (loop $l16
        (local.set $q0 (i32x4.add (local.get $vz) (i32x4.sub
          (f32x4.add (local.get $magic)
            (f32x4.pmin (local.get $hi) (f32x4.pmax (local.get $lo) (f32x4.mul (v128.load (local.get $src)) (local.get $vinv)))))
          (local.get $magic))))
        (local.set $q1 (i32x4.add (local.get $vz) (i32x4.sub
          (f32x4.add (local.get $magic)
            (f32x4.pmin (local.get $hi) (f32x4.pmax (local.get $lo) (f32x4.mul (v128.load offset=16 (local.get $src)) (local.get $vinv)))))
          (local.get $magic))))
        (local.set $q2 (i32x4.add (local.get $vz) (i32x4.sub
          (f32x4.add (local.get $magic)
            (f32x4.pmin (local.get $hi) (f32x4.pmax (local.get $lo) (f32x4.mul (v128.load offset=32 (local.get $src)) (local.get $vinv)))))
          (local.get $magic))))
        (local.set $q3 (i32x4.add (local.get $vz) (i32x4.sub
          (f32x4.add (local.get $magic)
            (f32x4.pmin (local.get $hi) (f32x4.pmax (local.get $lo) (f32x4.mul (v128.load offset=48 (local.get $src)) (local.get $vinv)))))
          (local.get $magic))))
        (v128.store (local.get $dst) (i8x16.narrow_i16x8_u
          (i16x8.narrow_i32x4_s (local.get $q0) (local.get $q1))
          (i16x8.narrow_i32x4_s (local.get $q2) (local.get $q3))))
        (local.set $src (i32.add (local.get $src) (i32.const 64)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
        (br_if $l16 (i32.lt_u (local.get $src) (local.get $end)))))
    (local.set $end (i32.add (local.get $end) (i32.shl (i32.and (local.get $n) (i32.const 15)) (i32.const 2))))
    (block $done
      (br_if $done (i32.ge_u (local.get $src) (local.get $end)))
      (loop $l1
        (local.set $v (f32.mul (f32.load (local.get $src)) (local.get $inv)))
        (local.set $r (i32.const 0))
        (if (f32.eq (local.get $v) (local.get $v))
          (then
            (local.set $r (i32.add (local.get $z) (i32.trunc_f32_s (f32.nearest
              (f32.min (f32.max (local.get $v) (f32.const -512)) (f32.const 512))))))
            (if (i32.lt_s (local.get $r) (i32.const 0)) (then (local.set $r (i32.const 0))))
            (if (i32.gt_s (local.get $r) (i32.const 255)) (then (local.set $r (i32.const 255))))))
        (i32.store8 (local.get $dst) (local.get $r))
        (local.set $src (i32.add (local.get $src) (i32.const 4)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 1)))
        (br_if $l1 (i32.lt_u (local.get $src) (local.get $end)))))
    (i32.const 1))

  ;; ------------------------------------------------------------- qweights
  ;; qweights quantises the row-major m×k float32 weights at src per row
  ;; into the packed A layout at dst ([strip][kq][4][4] int8, strips of four
  ;; rows, zero-padded) and writes each row's scale (f32) at scale: exactly
  ;; models/engine quantizeWeights — max |w| by bits, scale max/127, q =
  ;; clamp(round-half-even(w·(127/max)), ±127); a zero row or one with Inf
  ;; or NaN gets all zeros and scale 0. dst must be zeroed by the caller.
  (func (export "qweights") (param $src i32) (param $m i32) (param $k i32) (param $dst i32) (param $scale i32) (result i32)
    (local $i i32) (local $kq i32) (local $row i32) (local $end i32) (local $p i32) (local $vmax v128)
    (local $mb i32) (local $mx f32) (local $inv f32) (local $vinv v128) (local $magic v128) (local $out i32)
    (local $q v128) (local $x i32) (local $lo v128) (local $hi v128)
    (local.set $kq (i32.shr_u (i32.add (local.get $k) (i32.const 3)) (i32.const 2)))
    (local.set $magic (f32x4.splat (f32.const 12582912)))
    (local.set $lo (i32x4.splat (i32.const -127)))
    (local.set $hi (i32x4.splat (i32.const 127)))
    (block $rows_done
      (br_if $rows_done (i32.le_s (local.get $m) (i32.const 0)))
      (loop $rows
        (local.set $row (i32.add (local.get $src) (i32.shl (i32.mul (local.get $i) (local.get $k)) (i32.const 2))))
        (local.set $end (i32.add (local.get $row) (i32.shl (local.get $k) (i32.const 2))))
        ;; max |w| on the bits (non-negative floats order like their bits).
        (local.set $vmax (v128.const i32x4 0 0 0 0))
        (local.set $p (local.get $row))
        (block $m4_done
          (br_if $m4_done (i32.gt_u (i32.add (local.get $p) (i32.const 16)) (local.get $end)))
          (loop $m4
            (local.set $vmax (i32x4.max_u (local.get $vmax)
              (v128.and (v128.load (local.get $p)) (v128.const i32x4 0x7fffffff 0x7fffffff 0x7fffffff 0x7fffffff))))
            (local.set $p (i32.add (local.get $p) (i32.const 16)))
            (br_if $m4 (i32.le_u (i32.add (local.get $p) (i32.const 16)) (local.get $end)))))
        (local.set $mb (i32.const 0))
        (block $m1_done
          (br_if $m1_done (i32.ge_u (local.get $p) (local.get $end)))
          (loop $m1
            (local.set $x (i32.and (i32.load (local.get $p)) (i32.const 0x7fffffff)))
            (if (i32.gt_u (local.get $x) (local.get $mb)) (then (local.set $mb (local.get $x))))
            (local.set $p (i32.add (local.get $p) (i32.const 4)))
            (br_if $m1 (i32.lt_u (local.get $p) (local.get $end)))))
        (local.set $x (i32x4.extract_lane 0 (local.get $vmax)))
        (if (i32.gt_u (local.get $x) (local.get $mb)) (then (local.set $mb (local.get $x))))
        (local.set $x (i32x4.extract_lane 1 (local.get $vmax)))
        (if (i32.gt_u (local.get $x) (local.get $mb)) (then (local.set $mb (local.get $x))))
        (local.set $x (i32x4.extract_lane 2 (local.get $vmax)))
        (if (i32.gt_u (local.get $x) (local.get $mb)) (then (local.set $mb (local.get $x))))
        (local.set $x (i32x4.extract_lane 3 (local.get $vmax)))
        (if (i32.gt_u (local.get $x) (local.get $mb)) (then (local.set $mb (local.get $x))))
        (f32.store (i32.add (local.get $scale) (i32.shl (local.get $i) (i32.const 2))) (f32.const 0))
        (if (i32.and (i32.ne (local.get $mb) (i32.const 0)) (i32.lt_u (local.get $mb) (i32.const 0x7f800000)))
          (then
            (local.set $mx (f32.reinterpret_i32 (local.get $mb)))
            (f32.store (i32.add (local.get $scale) (i32.shl (local.get $i) (i32.const 2))) (f32.div (local.get $mx) (f32.const 127)))
            (local.set $inv (f32.div (f32.const 127) (local.get $mx)))
            (local.set $vinv (f32x4.splat (local.get $inv)))
            ;; Row i of its strip: group g's four bytes at 16·g + 4·(i%4).
            (local.set $out (i32.add (local.get $dst) (i32.add
              (i32.mul (i32.shr_u (local.get $i) (i32.const 2)) (i32.shl (local.get $kq) (i32.const 4)))
              (i32.shl (i32.and (local.get $i) (i32.const 3)) (i32.const 2)))))
            (local.set $p (local.get $row))
            (block $q4_done
              (br_if $q4_done (i32.gt_u (i32.add (local.get $p) (i32.const 16)) (local.get $end)))
              (loop $q4
                (local.set $q (i32x4.min_s (local.get $hi) (i32x4.max_s (local.get $lo) (i32x4.sub
                  (f32x4.add (f32x4.mul (v128.load (local.get $p)) (local.get $vinv)) (local.get $magic))
                  (local.get $magic)))))
                (local.set $q (i8x16.narrow_i16x8_s (i16x8.narrow_i32x4_s (local.get $q) (local.get $q))
                  (i16x8.narrow_i32x4_s (local.get $q) (local.get $q))))
                (i32.store (local.get $out) (i32x4.extract_lane 0 (local.get $q)))
                (local.set $out (i32.add (local.get $out) (i32.const 16)))
                (local.set $p (i32.add (local.get $p) (i32.const 16)))
                (br_if $q4 (i32.le_u (i32.add (local.get $p) (i32.const 16)) (local.get $end)))))
            ;; The last one to three weights of the row.
            (block $q1_done
              (br_if $q1_done (i32.ge_u (local.get $p) (local.get $end)))
              (loop $q1
                (local.set $x (i32.sub (i32.reinterpret_f32 (f32.add (f32.mul (f32.load (local.get $p)) (local.get $inv))
                  (f32.const 12582912))) (i32.const 0x4b400000)))
                (if (i32.lt_s (local.get $x) (i32.const -127)) (then (local.set $x (i32.const -127))))
                (if (i32.gt_s (local.get $x) (i32.const 127)) (then (local.set $x (i32.const 127))))
                (i32.store8 (local.get $out) (local.get $x))
                (local.set $out (i32.add (local.get $out) (i32.const 1)))
                (local.set $p (i32.add (local.get $p) (i32.const 4)))
                (br_if $q1 (i32.lt_u (local.get $p) (local.get $end)))))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $rows (i32.lt_s (local.get $i) (local.get $m)))))
    (i32.const 1))

  ;; -------------------------------------------------------------- minmax
  ;; Writes min and max of n f32 values at src (each widened to include 0)
  ;; as two f32 at out.
  (func (export "minmax") (param $src i32) (param $n i32) (param $out i32) (result i32)
    (local $end i32) (local $vlo v128) (local $vhi v128) (local $x v128) (local $lo f32) (local $hi f32)
    (local $vlo2 v128) (local $vhi2 v128) (local $y v128)
    ;; Sixteen values a turn into two pairs of accumulators, then fours.
    (local.set $end (i32.add (local.get $src) (i32.shl (i32.and (local.get $n) (i32.const -16)) (i32.const 2))))
    (block $done16
      (br_if $done16 (i32.ge_u (local.get $src) (local.get $end)))
      (loop $l16
        (local.set $x (v128.load (local.get $src)))
        (local.set $y (v128.load offset=16 (local.get $src)))
        (local.set $vlo (f32x4.min (local.get $vlo) (local.get $x)))
        (local.set $vhi (f32x4.max (local.get $vhi) (local.get $x)))
        (local.set $vlo2 (f32x4.min (local.get $vlo2) (local.get $y)))
        (local.set $vhi2 (f32x4.max (local.get $vhi2) (local.get $y)))
        (local.set $x (v128.load offset=32 (local.get $src)))
        (local.set $y (v128.load offset=48 (local.get $src)))
        (local.set $vlo (f32x4.min (local.get $vlo) (local.get $x)))
        (local.set $vhi (f32x4.max (local.get $vhi) (local.get $x)))
        (local.set $vlo2 (f32x4.min (local.get $vlo2) (local.get $y)))
        (local.set $vhi2 (f32x4.max (local.get $vhi2) (local.get $y)))
        (local.set $src (i32.add (local.get $src) (i32.const 64)))
        (br_if $l16 (i32.lt_u (local.get $src) (local.get $end)))))
    (local.set $vlo (f32x4.min (local.get $vlo) (local.get $vlo2)))
    (local.set $vhi (f32x4.max (local.get $vhi) (local.get $vhi2)))
    (local.set $end (i32.add (local.get $end) (i32.shl (i32.and (local.get $n) (i32.const 12)) (i32.const 2))))
    (block $done4
      (br_if $done4 (i32.ge_u (local.get $src) (local.get $end)))
      (loop $l4
        (local.set $x (v128.load (local.get $src)))
        (local.set $vlo (f32x4.min (local.get $vlo) (local.get $x)))
        (local.set $vhi (f32x4.max (local.get $vhi) (local.get $x)))
        (local.set $src (i32.add (local.get $src) (i32.const 16)))
        (br_if $l4 (i32.lt_u (local.get $src) (local.get $end)))))
    (local.set $lo (f32.min
      (f32.min (f32x4.extract_lane 0 (local.get $vlo)) (f32x4.extract_lane 1 (local.get $vlo)))
      (f32.min (f32x4.extract_lane 2 (local.get $vlo)) (f32x4.extract_lane 3 (local.get $vlo)))))
    (local.set $hi (f32.max
      (f32.max (f32x4.extract_lane 0 (local.get $vhi)) (f32x4.extract_lane 1 (local.get $vhi)))
      (f32.max (f32x4.extract_lane 2 (local.get $vhi)) (f32x4.extract_lane 3 (local.get $vhi)))))
    (local.set $end (i32.add (local.get $end) (i32.shl (i32.and (local.get $n) (i32.const 3)) (i32.const 2))))
    (block $done
      (br_if $done (i32.ge_u (local.get $src) (local.get $end)))
      (loop $l1
        (local.set $lo (f32.min (local.get $lo) (f32.load (local.get $src))))
        (local.set $hi (f32.max (local.get $hi) (f32.load (local.get $src))))
        (local.set $src (i32.add (local.get $src) (i32.const 4)))
        (br_if $l1 (i32.lt_u (local.get $src) (local.get $end)))))
    (f32.store (local.get $out) (local.get $lo))
    (f32.store offset=4 (local.get $out) (local.get $hi))
    (i32.const 1))

  ;; ------------------------------------------------------------- im2col8
  ;; The byte im2col: geo points at 14 i32 (c, h, w, kh, kw, sh, sw, dh, dw,
  ;; pt, pl, oh, ow, pad); x holds c planes of h×w bytes; dst receives
  ;; c·kh·kw rows of oh·ow bytes.
  (func (export "im2col8") (param $x i32) (param $geo i32) (param $dst i32) (result i32)
    (local $c i32) (local $h i32) (local $w i32) (local $kh i32) (local $kw i32)
    (local $sh i32) (local $sw i32) (local $dh i32) (local $dw i32) (local $pt i32) (local $pl i32)
    (local $oh i32) (local $ow i32) (local $pad i32)
    (local $ci i32) (local $i i32) (local $j i32) (local $xc i32) (local $row i32) (local $ohw i32)
    (local $dx i32) (local $dy i32) (local $lo i32) (local $hi i32) (local $oy i32) (local $oy0 i32) (local $oy1 i32)
    (local $iy i32) (local $seg i32) (local $src i32) (local $ox i32)
    (local.set $c (i32.load (local.get $geo)))
    (local.set $h (i32.load offset=4 (local.get $geo)))
    (local.set $w (i32.load offset=8 (local.get $geo)))
    (local.set $kh (i32.load offset=12 (local.get $geo)))
    (local.set $kw (i32.load offset=16 (local.get $geo)))
    (local.set $sh (i32.load offset=20 (local.get $geo)))
    (local.set $sw (i32.load offset=24 (local.get $geo)))
    (local.set $dh (i32.load offset=28 (local.get $geo)))
    (local.set $dw (i32.load offset=32 (local.get $geo)))
    (local.set $pt (i32.load offset=36 (local.get $geo)))
    (local.set $pl (i32.load offset=40 (local.get $geo)))
    (local.set $oh (i32.load offset=44 (local.get $geo)))
    (local.set $ow (i32.load offset=48 (local.get $geo)))
    (local.set $pad (i32.load offset=52 (local.get $geo)))
    (local.set $ohw (i32.mul (local.get $oh) (local.get $ow)))
    (local.set $row (local.get $dst))
    (block $channels_done
      (br_if $channels_done (i32.le_s (local.get $c) (i32.const 0)))
      (loop $channels
        (local.set $xc (i32.add (local.get $x) (i32.mul (local.get $ci) (i32.mul (local.get $h) (local.get $w)))))
        (local.set $i (i32.const 0))
        (loop $taps_i
          (local.set $j (i32.const 0))
          (loop $taps_j
            ;; Output columns lo ≤ ox < hi read an input column inside [0, w).
            (local.set $dx (i32.sub (i32.mul (local.get $j) (local.get $dw)) (local.get $pl)))
            (local.set $lo (i32.const 0))
            (if (i32.lt_s (local.get $dx) (i32.const 0))
              (then (local.set $lo (i32.div_s
                (i32.sub (i32.add (i32.sub (i32.const 0) (local.get $dx)) (local.get $sw)) (i32.const 1))
                (local.get $sw)))))
            (local.set $hi (i32.const 0))
            (if (i32.gt_s (i32.sub (local.get $w) (local.get $dx)) (i32.const 0))
              (then (local.set $hi (i32.div_s
                (i32.sub (i32.add (i32.sub (local.get $w) (local.get $dx)) (local.get $sw)) (i32.const 1))
                (local.get $sw)))))
            (if (i32.gt_s (local.get $hi) (local.get $ow)) (then (local.set $hi (local.get $ow))))
            (if (i32.gt_s (local.get $lo) (local.get $hi)) (then (local.set $lo (local.get $hi))))
            (local.set $dy (i32.sub (i32.mul (local.get $i) (local.get $dh)) (local.get $pt)))
            (if (i32.and (i32.and (i32.eq (local.get $sw) (i32.const 1)) (i32.eq (local.get $sh) (i32.const 1)))
                         (i32.eq (local.get $ow) (local.get $w)))
              (then
                ;; Stride 1 over whole rows: one shifted copy of the valid
                ;; rows, then the edge columns padded again.
                (local.set $oy0 (i32.const 0))
                (if (i32.lt_s (local.get $dy) (i32.const 0)) (then (local.set $oy0 (i32.sub (i32.const 0) (local.get $dy)))))
                (local.set $oy1 (i32.sub (local.get $h) (local.get $dy)))
                (if (i32.gt_s (local.get $oy1) (local.get $oh)) (then (local.set $oy1 (local.get $oh))))
                (if (i32.ge_s (local.get $oy0) (local.get $oy1))
                  (then (memory.fill (local.get $row) (local.get $pad) (local.get $ohw)))
                  (else
                    (memory.fill (local.get $row) (local.get $pad) (i32.mul (local.get $oy0) (local.get $ow)))
                    (memory.fill (i32.add (local.get $row) (i32.mul (local.get $oy1) (local.get $ow))) (local.get $pad)
                      (i32.mul (i32.sub (local.get $oh) (local.get $oy1)) (local.get $ow)))
                    (if (i32.lt_s (local.get $lo) (local.get $hi))
                      (then (memory.copy
                        (i32.add (local.get $row) (i32.add (i32.mul (local.get $oy0) (local.get $ow)) (local.get $lo)))
                        (i32.add (local.get $xc) (i32.add (i32.mul (i32.add (local.get $oy0) (local.get $dy)) (local.get $w))
                          (i32.add (local.get $lo) (local.get $dx))))
                        (i32.sub (i32.add (i32.mul (i32.sub (local.get $oy1) (i32.const 1)) (local.get $ow)) (local.get $hi))
                          (i32.add (i32.mul (local.get $oy0) (local.get $ow)) (local.get $lo))))))
                    (if (i32.or (i32.gt_s (local.get $lo) (i32.const 0)) (i32.lt_s (local.get $hi) (local.get $ow)))
                      (then
                        (local.set $oy (local.get $oy0))
                        (loop $edges
                          (local.set $seg (i32.add (local.get $row) (i32.mul (local.get $oy) (local.get $ow))))
                          (memory.fill (local.get $seg) (local.get $pad) (local.get $lo))
                          (memory.fill (i32.add (local.get $seg) (local.get $hi)) (local.get $pad)
                            (i32.sub (local.get $ow) (local.get $hi)))
                          (local.set $oy (i32.add (local.get $oy) (i32.const 1)))
                          (br_if $edges (i32.lt_s (local.get $oy) (local.get $oy1)))))))))
              (else
                (local.set $oy (i32.const 0))
                (block $rows_done
                  (br_if $rows_done (i32.le_s (local.get $oh) (i32.const 0)))
                  (loop $rows
                    (local.set $seg (i32.add (local.get $row) (i32.mul (local.get $oy) (local.get $ow))))
                    (local.set $iy (i32.add (i32.mul (local.get $oy) (local.get $sh)) (local.get $dy)))
                    (if (i32.or (i32.lt_s (local.get $iy) (i32.const 0)) (i32.ge_s (local.get $iy) (local.get $h)))
                      (then (memory.fill (local.get $seg) (local.get $pad) (local.get $ow)))
                      (else
                        (local.set $src (i32.add (i32.add (local.get $xc) (i32.mul (local.get $iy) (local.get $w))) (local.get $dx)))
                        (memory.fill (local.get $seg) (local.get $pad) (local.get $lo))
                        (if (i32.eq (local.get $sw) (i32.const 1))
                          (then (memory.copy (i32.add (local.get $seg) (local.get $lo)) (i32.add (local.get $src) (local.get $lo))
                            (i32.sub (local.get $hi) (local.get $lo))))
                          (else
                            (local.set $ox (local.get $lo))
                            (block $cols_done
                              (br_if $cols_done (i32.ge_s (local.get $ox) (local.get $hi)))
                              (loop $cols
                                (i32.store8 (i32.add (local.get $seg) (local.get $ox))
                                  (i32.load8_u (i32.add (local.get $src) (i32.mul (local.get $ox) (local.get $sw)))))
                                (local.set $ox (i32.add (local.get $ox) (i32.const 1)))
                                (br_if $cols (i32.lt_s (local.get $ox) (local.get $hi)))))))
                        (memory.fill (i32.add (local.get $seg) (local.get $hi)) (local.get $pad)
                          (i32.sub (local.get $ow) (local.get $hi)))))
                    (local.set $oy (i32.add (local.get $oy) (i32.const 1)))
                    (br_if $rows (i32.lt_s (local.get $oy) (local.get $oh)))))))
            (local.set $row (i32.add (local.get $row) (local.get $ohw)))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br_if $taps_j (i32.lt_s (local.get $j) (local.get $kw))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $taps_i (i32.lt_s (local.get $i) (local.get $kh))))
        (local.set $ci (i32.add (local.get $ci) (i32.const 1)))
        (br_if $channels (i32.lt_s (local.get $ci) (local.get $c)))))
    (i32.const 1))

  ;; ------------------------------------------------------------ maxpool
  ;; maxpool: max pooling of planes (each h×w f32 at x) into oh×ow at y;
  ;; geo points at 8 i32 (h, w, oh, ow, kh, kw, sh, sw) then pt, pl; no
  ;; dilation. Padding is excluded from the max (as ONNX MaxPool); a window
  ;; with no input value gives −Inf. f32.max is exactly Go's max, NaN and
  ;; signed zeros included, so the result equals models/engine's poolStep.
  (func (export "maxpool") (param $x i32) (param $y i32) (param $planes i32) (param $geo i32) (result i32)
    (local $h i32) (local $w i32) (local $oh i32) (local $ow i32) (local $kh i32) (local $kw i32)
    (local $sh i32) (local $sw i32) (local $pt i32) (local $pl i32)
    (local $pl0 i32) (local $oy i32) (local $ox i32) (local $y0 i32) (local $x0 i32)
    (local $i0 i32) (local $i1 i32) (local $j0 i32) (local $j1 i32) (local $i i32) (local $j i32)
    (local $acc f32) (local $row i32) (local $plane i32)
    (local.set $h (i32.load (local.get $geo)))
    (local.set $w (i32.load offset=4 (local.get $geo)))
    (local.set $oh (i32.load offset=8 (local.get $geo)))
    (local.set $ow (i32.load offset=12 (local.get $geo)))
    (local.set $kh (i32.load offset=16 (local.get $geo)))
    (local.set $kw (i32.load offset=20 (local.get $geo)))
    (local.set $sh (i32.load offset=24 (local.get $geo)))
    (local.set $sw (i32.load offset=28 (local.get $geo)))
    (local.set $pt (i32.load offset=32 (local.get $geo)))
    (local.set $pl (i32.load offset=36 (local.get $geo)))
    (block $done
      (br_if $done (i32.or (i32.le_s (local.get $planes) (i32.const 0))
        (i32.or (i32.le_s (local.get $oh) (i32.const 0)) (i32.le_s (local.get $ow) (i32.const 0)))))
      (loop $planes_loop
        (local.set $plane (local.get $x))
        (local.set $oy (i32.const 0))
        (loop $rows
          ;; Input rows [y0+i0, y0+i1) of this output row's window.
          (local.set $y0 (i32.sub (i32.mul (local.get $oy) (local.get $sh)) (local.get $pt)))
          (local.set $i0 (select (i32.sub (i32.const 0) (local.get $y0)) (i32.const 0) (i32.lt_s (local.get $y0) (i32.const 0))))
          (local.set $i1 (local.get $kh))
          (if (i32.gt_s (i32.add (local.get $y0) (local.get $kh)) (local.get $h))
            (then (local.set $i1 (i32.sub (local.get $h) (local.get $y0)))))
          (local.set $ox (i32.const 0))
          (loop $cols
            (local.set $x0 (i32.sub (i32.mul (local.get $ox) (local.get $sw)) (local.get $pl)))
            (local.set $j0 (select (i32.sub (i32.const 0) (local.get $x0)) (i32.const 0) (i32.lt_s (local.get $x0) (i32.const 0))))
            (local.set $j1 (local.get $kw))
            (if (i32.gt_s (i32.add (local.get $x0) (local.get $kw)) (local.get $w))
              (then (local.set $j1 (i32.sub (local.get $w) (local.get $x0)))))
            (local.set $acc (f32.const -inf))
            (local.set $i (local.get $i0))
            (block $win_done
              (br_if $win_done (i32.ge_s (local.get $i) (local.get $i1)))
              (loop $win_rows
                (local.set $row (i32.add (local.get $plane)
                  (i32.shl (i32.add (i32.mul (i32.add (local.get $y0) (local.get $i)) (local.get $w)) (local.get $x0)) (i32.const 2))))
                (local.set $j (local.get $j0))
                (block $taps_done
                  (br_if $taps_done (i32.ge_s (local.get $j) (local.get $j1)))
                  (loop $taps
                    (local.set $acc (f32.max (local.get $acc)
                      (f32.load (i32.add (local.get $row) (i32.shl (local.get $j) (i32.const 2))))))
                    (local.set $j (i32.add (local.get $j) (i32.const 1)))
                    (br_if $taps (i32.lt_s (local.get $j) (local.get $j1)))))
                (local.set $i (i32.add (local.get $i) (i32.const 1)))
                (br_if $win_rows (i32.lt_s (local.get $i) (local.get $i1)))))
            (f32.store (local.get $y) (local.get $acc))
            (local.set $y (i32.add (local.get $y) (i32.const 4)))
            (local.set $ox (i32.add (local.get $ox) (i32.const 1)))
            (br_if $cols (i32.lt_s (local.get $ox) (local.get $ow))))
          (local.set $oy (i32.add (local.get $oy) (i32.const 1)))
          (br_if $rows (i32.lt_s (local.get $oy) (local.get $oh))))
        (local.set $x (i32.add (local.get $x) (i32.shl (i32.mul (local.get $h) (local.get $w)) (i32.const 2))))
        (local.set $pl0 (i32.add (local.get $pl0) (i32.const 1)))
        (br_if $planes_loop (i32.lt_s (local.get $pl0) (local.get $planes)))))
    (i32.const 1))

  ;; ---------------------------------------------------------- B packing
  ;; packB8 packs columns [0, nb) of B (K rows of u8 at src, stride ldb) into
  ;; 8-column panels at dst: plain layout [2kq][8][2] i16 (quad = 0, panel t
  ;; at dst + 64·kq·t) or dot layout [kq][8][4] u8 (quad ≠ 0, panel t at
  ;; dst + 32·kq·t). Rows past K read
  ;; row K−1 instead (A's weights there are zero, so any value does); in a
  ;; last panel of w < 8 columns the missing ones are zero, and only the w
  ;; existing bytes of each row are read.
  (func $packB8 (param $src i32) (param $ldb i32) (param $k i32) (param $kq i32) (param $nb i32)
                (param $dst i32) (param $quad i32)
    (local $jp i32) (local $w i32) (local $p i32) (local $rows i32) (local $d i32) (local $s i32)
    (local $v0 v128) (local $v1 v128) (local $v2 v128) (local $v3 v128) (local $j i32) (local $r i32)
    (local.set $rows (i32.shl (local.get $kq) (i32.const 2)))
    (loop $panels
      (local.set $w (i32.sub (local.get $nb) (local.get $jp)))
      (if (i32.gt_s (local.get $w) (i32.const 8)) (then (local.set $w (i32.const 8))))
      (local.set $s (i32.add (local.get $src) (local.get $jp)))
      (local.set $p (i32.const 0))
      (if (i32.eq (local.get $w) (i32.const 8))
        (then
          (if (i32.eqz (local.get $quad))
            (then
              ;; Two rows → c0r0 c0r1 c1r0 c1r1 … c7r0 c7r1, widened to i16.
              (loop $pairs
                (local.set $v0 (v128.load64_zero (call $rowAt (local.get $s) (local.get $ldb) (local.get $p) (local.get $k))))
                (local.set $v1 (v128.load64_zero (call $rowAt (local.get $s) (local.get $ldb)
                  (i32.add (local.get $p) (i32.const 1)) (local.get $k))))
                (local.set $v0 (i8x16.shuffle 0 16 1 17 2 18 3 19 4 20 5 21 6 22 7 23 (local.get $v0) (local.get $v1)))
                (v128.store (local.get $dst) (i16x8.extend_low_i8x16_u (local.get $v0)))
                (v128.store offset=16 (local.get $dst) (i16x8.extend_high_i8x16_u (local.get $v0)))
                (local.set $dst (i32.add (local.get $dst) (i32.const 32)))
                (local.set $p (i32.add (local.get $p) (i32.const 2)))
                (br_if $pairs (i32.lt_s (local.get $p) (local.get $rows)))))
            (else
              ;; Four rows → 32 bytes: c0r0 c0r1 c0r2 c0r3 c1r0 … c7r3.
              (loop $quads
                (local.set $v0 (v128.load64_zero (call $rowAt (local.get $s) (local.get $ldb) (local.get $p) (local.get $k))))
                (local.set $v1 (v128.load64_zero (call $rowAt (local.get $s) (local.get $ldb)
                  (i32.add (local.get $p) (i32.const 1)) (local.get $k))))
                (local.set $v2 (v128.load64_zero (call $rowAt (local.get $s) (local.get $ldb)
                  (i32.add (local.get $p) (i32.const 2)) (local.get $k))))
                (local.set $v3 (v128.load64_zero (call $rowAt (local.get $s) (local.get $ldb)
                  (i32.add (local.get $p) (i32.const 3)) (local.get $k))))
                (local.set $v0 (i8x16.shuffle 0 16 1 17 2 18 3 19 4 20 5 21 6 22 7 23 (local.get $v0) (local.get $v1)))
                (local.set $v2 (i8x16.shuffle 0 16 1 17 2 18 3 19 4 20 5 21 6 22 7 23 (local.get $v2) (local.get $v3)))
                (v128.store (local.get $dst) (i8x16.shuffle 0 1 16 17 2 3 18 19 4 5 20 21 6 7 22 23
                  (local.get $v0) (local.get $v2)))
                (v128.store offset=16 (local.get $dst) (i8x16.shuffle 8 9 24 25 10 11 26 27 12 13 28 29 14 15 30 31
                  (local.get $v0) (local.get $v2)))
                (local.set $dst (i32.add (local.get $dst) (i32.const 32)))
                (local.set $p (i32.add (local.get $p) (i32.const 4)))
                (br_if $quads (i32.lt_s (local.get $p) (local.get $rows)))))))
        (else
          ;; Last, narrow panel: zero it, then place the w bytes of each row.
          (local.set $r (i32.shl (local.get $kq) (select (i32.const 5) (i32.const 6) (local.get $quad))))
          (memory.fill (local.get $dst) (i32.const 0) (local.get $r))
          (loop $rowsN
            (local.set $j (i32.const 0))
            (loop $colsN
              (if (i32.eqz (local.get $quad))
                (then (local.set $d (i32.add (i32.shl (i32.shr_u (local.get $p) (i32.const 1)) (i32.const 5))
                  (i32.add (i32.shl (local.get $j) (i32.const 2)) (i32.shl (i32.and (local.get $p) (i32.const 1)) (i32.const 1))))))
                (else (local.set $d (i32.add (i32.shl (i32.shr_u (local.get $p) (i32.const 2)) (i32.const 5))
                  (i32.add (i32.shl (local.get $j) (i32.const 2)) (i32.and (local.get $p) (i32.const 3)))))))
              (i32.store8 (i32.add (local.get $dst) (local.get $d))
                (i32.load8_u (i32.add (call $rowAt (local.get $s) (local.get $ldb) (local.get $p) (local.get $k)) (local.get $j))))
              (local.set $j (i32.add (local.get $j) (i32.const 1)))
              (br_if $colsN (i32.lt_s (local.get $j) (local.get $w))))
            (local.set $p (i32.add (local.get $p) (i32.const 1)))
            (br_if $rowsN (i32.lt_s (local.get $p) (local.get $k))))
          (local.set $dst (i32.add (local.get $dst) (local.get $r)))))
      (local.set $jp (i32.add (local.get $jp) (i32.const 8)))
      (br_if $panels (i32.lt_s (local.get $jp) (local.get $nb)))))

  ;; rowAt is the address of row p of B (row K−1 past the end).
  (func $rowAt (param $s i32) (param $ldb i32) (param $p i32) (param $k i32) (result i32)
    (if (i32.ge_s (local.get $p) (local.get $k)) (then (local.set $p (i32.sub (local.get $k) (i32.const 1)))))
    (i32.add (local.get $s) (i32.mul (local.get $p) (local.get $ldb))))

  ;; ------------------------------------------------------------ epilogue
  ;; qstore finishes a 4×8 tile of int32 sums, which the tile function has
  ;; left in tmp (row r at tmp + 32r), into C at byte offset c:
  ;; v = f32(acc)·rs[r] + bias[r], + C when flags&1, max 0 when flags&2.
  ;; Only mb rows and nr columns are stored. When flags&8 the f32x4 at mxp
  ;; is raised to the largest values stored (lane by lane). (One call per
  ;; tile: V8 does not inline wasm calls, and a call per row costs ~10 %.)
  (func $qstore (param $c i32) (param $ldc i32) (param $rs i32) (param $bias i32) (param $flags i32)
                (param $mb i32) (param $nr i32) (param $tmp i32) (param $mxp i32)
    (local $ldc4 i32) (local $r i32) (local $j i32) (local $v0 v128) (local $v1 v128) (local $s v128) (local $b v128)
    (local $v f32) (local $addr i32)
    (local.set $ldc4 (i32.shl (local.get $ldc) (i32.const 2)))
    (loop $rows
      (local.set $s (v128.load32_splat (local.get $rs)))
      (local.set $b (v128.load32_splat (local.get $bias)))
      (local.set $v0 (f32x4.add (f32x4.mul (f32x4.convert_i32x4_s (v128.load (local.get $tmp))) (local.get $s)) (local.get $b)))
      (local.set $v1 (f32x4.add (f32x4.mul (f32x4.convert_i32x4_s (v128.load offset=16 (local.get $tmp))) (local.get $s)) (local.get $b)))
      (if (i32.eq (local.get $nr) (i32.const 8))
        (then
          (if (i32.and (local.get $flags) (i32.const 1))
            (then
              (local.set $v0 (f32x4.add (local.get $v0) (v128.load (local.get $c))))
              (local.set $v1 (f32x4.add (local.get $v1) (v128.load offset=16 (local.get $c))))))
          (if (i32.and (local.get $flags) (i32.const 2))
            (then
              (local.set $v0 (f32x4.max (local.get $v0) (v128.const f32x4 0 0 0 0)))
              (local.set $v1 (f32x4.max (local.get $v1) (v128.const f32x4 0 0 0 0)))))
          (v128.store (local.get $c) (local.get $v0))
          (v128.store offset=16 (local.get $c) (local.get $v1))
          (if (i32.and (local.get $flags) (i32.const 8))
            (then (v128.store (local.get $mxp) (f32x4.max (v128.load (local.get $mxp))
              (f32x4.max (local.get $v0) (local.get $v1)))))))
        (else
          ;; Narrow tile: the row's values back to tmp, then one at a time.
          (v128.store (local.get $tmp) (local.get $v0))
          (v128.store offset=16 (local.get $tmp) (local.get $v1))
          (local.set $j (i32.const 0))
          (loop $cols
            (local.set $addr (i32.add (local.get $c) (i32.shl (local.get $j) (i32.const 2))))
            (local.set $v (f32.load (i32.add (local.get $tmp) (i32.shl (local.get $j) (i32.const 2)))))
            (if (i32.and (local.get $flags) (i32.const 1))
              (then (local.set $v (f32.add (local.get $v) (f32.load (local.get $addr))))))
            (if (i32.and (local.get $flags) (i32.const 2))
              (then (local.set $v (f32.max (local.get $v) (f32.const 0)))))
            (f32.store (local.get $addr) (local.get $v))
            (if (i32.and (local.get $flags) (i32.const 8))
              (then (f32.store (local.get $mxp) (f32.max (f32.load (local.get $mxp)) (local.get $v)))))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br_if $cols (i32.lt_s (local.get $j) (local.get $nr))))))
      (local.set $c (i32.add (local.get $c) (local.get $ldc4)))
      (local.set $rs (i32.add (local.get $rs) (i32.const 4)))
      (local.set $bias (i32.add (local.get $bias) (i32.const 4)))
      (local.set $tmp (i32.add (local.get $tmp) (i32.const 32)))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br_if $rows (i32.lt_s (local.get $r) (local.get $mb)))))

  ;; -------------------------------------------------------- plain tile
  ;; widenA copies a packed A strip ([kq][4][4] int8) to dst as [2kq][4][2]
  ;; i16 — each row's pair of weights one 32-bit word — for qtile, which
  ;; then splats a row's pair straight from memory (a load, not a load, a
  ;; shuffle and a widening: ~10 % faster). Once per strip and B block.
  (func $widenA (param $src i32) (param $kq i32) (param $dst i32)
    (local $end i32) (local $v v128)
    (local.set $end (i32.add (local.get $src) (i32.shl (local.get $kq) (i32.const 4))))
    (loop $groups
      (local.set $v (i8x16.shuffle 0 1 4 5 8 9 12 13 2 3 6 7 10 11 14 15
        (v128.load (local.get $src)) (v128.load (local.get $src))))
      (v128.store (local.get $dst) (i16x8.extend_low_i8x16_s (local.get $v)))
      (v128.store offset=16 (local.get $dst) (i16x8.extend_high_i8x16_s (local.get $v)))
      (local.set $src (i32.add (local.get $src) (i32.const 16)))
      (local.set $dst (i32.add (local.get $dst) (i32.const 32)))
      (br_if $groups (i32.lt_u (local.get $src) (local.get $end)))))

  ;; qtile computes one 4×8 tile over kq groups from a widened A strip (ap,
  ;; [2kq][4][2] i16, see widenA) and a plain B panel (bp, [2kq][8][2] i16):
  ;; per pair of k, row r's two weights splatted and i32x4.dot_i16x8_s with
  ;; four columns' pairs.
  ;; (A transposed tile — four rows' weights in one vector, each column's
  ;; pair splatted from memory — has fewer instructions but V8 hoists all
  ;; sixteen splats and spills: 20 % slower.)
  (func $qtile (param $kq i32) (param $ap i32) (param $bp i32) (param $c i32) (param $ldc i32)
               (param $rs i32) (param $bias i32) (param $flags i32) (param $mb i32) (param $nr i32) (param $tmp i32)
    (local $c00 v128) (local $c01 v128) (local $c10 v128) (local $c11 v128)
    (local $c20 v128) (local $c21 v128) (local $c30 v128) (local $c31 v128)
    (local $a v128) (local $blo v128) (local $bhi v128) (local $aend i32)
    (local.set $aend (i32.add (local.get $ap) (i32.shl (local.get $kq) (i32.const 5))))
    (loop $k
      ;; One pair of k a turn (two pairs a turn keep more vectors live than
      ;; V8 allocates registers for: slower).
      (local.set $blo (v128.load (local.get $bp)))
      (local.set $bhi (v128.load offset=16 (local.get $bp)))
      (local.set $a (v128.load32_splat (local.get $ap)))
      (local.set $c00 (i32x4.add (local.get $c00) (i32x4.dot_i16x8_s (local.get $a) (local.get $blo))))
      (local.set $c01 (i32x4.add (local.get $c01) (i32x4.dot_i16x8_s (local.get $a) (local.get $bhi))))
      (local.set $a (v128.load32_splat offset=4 (local.get $ap)))
      (local.set $c10 (i32x4.add (local.get $c10) (i32x4.dot_i16x8_s (local.get $a) (local.get $blo))))
      (local.set $c11 (i32x4.add (local.get $c11) (i32x4.dot_i16x8_s (local.get $a) (local.get $bhi))))
      (local.set $a (v128.load32_splat offset=8 (local.get $ap)))
      (local.set $c20 (i32x4.add (local.get $c20) (i32x4.dot_i16x8_s (local.get $a) (local.get $blo))))
      (local.set $c21 (i32x4.add (local.get $c21) (i32x4.dot_i16x8_s (local.get $a) (local.get $bhi))))
      (local.set $a (v128.load32_splat offset=12 (local.get $ap)))
      (local.set $c30 (i32x4.add (local.get $c30) (i32x4.dot_i16x8_s (local.get $a) (local.get $blo))))
      (local.set $c31 (i32x4.add (local.get $c31) (i32x4.dot_i16x8_s (local.get $a) (local.get $bhi))))
      (local.set $ap (i32.add (local.get $ap) (i32.const 16)))
      (local.set $bp (i32.add (local.get $bp) (i32.const 32)))
      (br_if $k (i32.lt_u (local.get $ap) (local.get $aend))))
    (v128.store (local.get $tmp) (local.get $c00))
    (v128.store offset=16 (local.get $tmp) (local.get $c01))
    (v128.store offset=32 (local.get $tmp) (local.get $c10))
    (v128.store offset=48 (local.get $tmp) (local.get $c11))
    (v128.store offset=64 (local.get $tmp) (local.get $c20))
    (v128.store offset=80 (local.get $tmp) (local.get $c21))
    (v128.store offset=96 (local.get $tmp) (local.get $c30))
    (v128.store offset=112 (local.get $tmp) (local.get $c31))
    (call $qstore (local.get $c) (local.get $ldc) (local.get $rs) (local.get $bias) (local.get $flags)
      (local.get $mb) (local.get $nr) (local.get $tmp) (i32.add (local.get $tmp) (i32.const 128))))

  ;; @relaxed-begin
  ;; ---------------------------------------------------------- dot tile
  ;; qtileDot is qtile over a dot B panel ([kq][8][4] u8) with the relaxed
  ;; dot product: the weights' four bytes splatted as the signed operand.
  (func $qtileDot (param $kq i32) (param $ap i32) (param $bp i32) (param $c i32) (param $ldc i32)
                  (param $rs i32) (param $bias i32) (param $flags i32) (param $mb i32) (param $nr i32) (param $tmp i32)
    (local $c00 v128) (local $c01 v128) (local $c10 v128) (local $c11 v128)
    (local $c20 v128) (local $c21 v128) (local $c30 v128) (local $c31 v128)
    (local $a v128) (local $b0 v128) (local $b1 v128) (local $aend i32)
    (local.set $aend (i32.add (local.get $ap) (i32.shl (local.get $kq) (i32.const 4))))
    (loop $k
      (local.set $b0 (v128.load (local.get $bp)))
      (local.set $b1 (v128.load offset=16 (local.get $bp)))
      (local.set $a (v128.load32_splat (local.get $ap)))
      (local.set $c00 (i32x4.relaxed_dot_i8x16_i7x16_add_s (local.get $a) (local.get $b0) (local.get $c00)))
      (local.set $c01 (i32x4.relaxed_dot_i8x16_i7x16_add_s (local.get $a) (local.get $b1) (local.get $c01)))
      (local.set $a (v128.load32_splat offset=4 (local.get $ap)))
      (local.set $c10 (i32x4.relaxed_dot_i8x16_i7x16_add_s (local.get $a) (local.get $b0) (local.get $c10)))
      (local.set $c11 (i32x4.relaxed_dot_i8x16_i7x16_add_s (local.get $a) (local.get $b1) (local.get $c11)))
      (local.set $a (v128.load32_splat offset=8 (local.get $ap)))
      (local.set $c20 (i32x4.relaxed_dot_i8x16_i7x16_add_s (local.get $a) (local.get $b0) (local.get $c20)))
      (local.set $c21 (i32x4.relaxed_dot_i8x16_i7x16_add_s (local.get $a) (local.get $b1) (local.get $c21)))
      (local.set $a (v128.load32_splat offset=12 (local.get $ap)))
      (local.set $c30 (i32x4.relaxed_dot_i8x16_i7x16_add_s (local.get $a) (local.get $b0) (local.get $c30)))
      (local.set $c31 (i32x4.relaxed_dot_i8x16_i7x16_add_s (local.get $a) (local.get $b1) (local.get $c31)))
      (local.set $ap (i32.add (local.get $ap) (i32.const 16)))
      (local.set $bp (i32.add (local.get $bp) (i32.const 32)))
      (br_if $k (i32.lt_u (local.get $ap) (local.get $aend))))
    (v128.store (local.get $tmp) (local.get $c00))
    (v128.store offset=16 (local.get $tmp) (local.get $c01))
    (v128.store offset=32 (local.get $tmp) (local.get $c10))
    (v128.store offset=48 (local.get $tmp) (local.get $c11))
    (v128.store offset=64 (local.get $tmp) (local.get $c20))
    (v128.store offset=80 (local.get $tmp) (local.get $c21))
    (v128.store offset=96 (local.get $tmp) (local.get $c30))
    (v128.store offset=112 (local.get $tmp) (local.get $c31))
    (call $qstore (local.get $c) (local.get $ldc) (local.get $rs) (local.get $bias) (local.get $flags)
      (local.get $mb) (local.get $nr) (local.get $tmp) (i32.add (local.get $tmp) (i32.const 128))))
  ;; @relaxed-end

  ;; --------------------------------------------------------------- qgemm
  ;; qgemm: see the top of the file. flags: 1 add the old C, 2 Relu, 4 the
  ;; relaxed dot tile (not handled, returning 0, in the SIMD128 build), 8
  ;; raise the f32 at mx to the largest value written.
  ;; Returns 1 when C has been written, 0 when the arguments are outside
  ;; what the kernel handles. The caller guarantees every addressed byte
  ;; is inside its slices and the scratch holds 144 + 32·kq + 8·kq·ncb bytes.
  (func (export "qgemm")
        (param $m i32) (param $n i32) (param $k i32) (param $a i32) (param $b i32) (param $ldb i32)
        (param $c i32) (param $ldc i32) (param $rs i32) (param $bias i32) (param $flags i32)
        (param $ws i32) (param $ncb i32) (param $mx i32)
        (result i32)
    (local $kq i32) (local $jc i32) (local $nb i32) (local $ic i32) (local $mb i32) (local $jp i32)
    (local $nr i32) (local $wsA i32) (local $wsB i32) (local $strip i32) (local $panel i32) (local $dot i32)
    (local $cblk i32) (local $crow i32) (local $pstride i32)
    (if (i32.or
          (i32.or (i32.le_s (local.get $m) (i32.const 0)) (i32.le_s (local.get $n) (i32.const 0)))
          (i32.or (i32.le_s (local.get $k) (i32.const 0))
            (i32.or (i32.le_s (local.get $ncb) (i32.const 0)) (i32.and (local.get $ncb) (i32.const 7)))))
      (then (return (i32.const 0))))
    (local.set $dot (i32.ne (i32.and (local.get $flags) (i32.const 4)) (i32.const 0)))
    ;; @simd128-only (if (local.get $dot) (then (return (i32.const 0))))
    (local.set $flags (i32.and (local.get $flags) (i32.const 11)))
    (v128.store offset=128 (local.get $ws) (v128.const f32x4 -inf -inf -inf -inf))
    (local.set $kq (i32.shr_u (i32.add (local.get $k) (i32.const 3)) (i32.const 2)))
    (local.set $pstride (i32.shl (local.get $kq) (select (i32.const 5) (i32.const 6) (local.get $dot))))
    (local.set $wsA (i32.add (local.get $ws) (i32.const 144)))
    (local.set $wsB (i32.add (local.get $wsA) (i32.shl (local.get $kq) (i32.const 5))))
    (loop $nblocks
      (local.set $nb (i32.sub (local.get $n) (local.get $jc)))
      (if (i32.gt_s (local.get $nb) (local.get $ncb)) (then (local.set $nb (local.get $ncb))))
      (call $packB8 (i32.add (local.get $b) (local.get $jc)) (local.get $ldb) (local.get $k) (local.get $kq)
        (local.get $nb) (local.get $wsB) (local.get $dot))
      (local.set $ic (i32.const 0))
      (local.set $strip (local.get $a))
      (local.set $cblk (i32.add (local.get $c) (i32.shl (local.get $jc) (i32.const 2))))
      (loop $mblocks
        (local.set $mb (i32.sub (local.get $m) (local.get $ic)))
        (if (i32.gt_s (local.get $mb) (i32.const 4)) (then (local.set $mb (i32.const 4))))
        (local.set $crow (i32.add (local.get $cblk) (i32.shl (i32.mul (local.get $ic) (local.get $ldc)) (i32.const 2))))
        (local.set $jp (i32.const 0))
        (local.set $panel (local.get $wsB))
        (if (i32.eqz (local.get $dot)) (then (call $widenA (local.get $strip) (local.get $kq) (local.get $wsA))))
        (loop $panels
          (local.set $nr (i32.sub (local.get $nb) (local.get $jp)))
          (if (i32.gt_s (local.get $nr) (i32.const 8)) (then (local.set $nr (i32.const 8))))
          ;; @relaxed-begin
          (if (local.get $dot)
            (then (call $qtileDot (local.get $kq) (local.get $strip) (local.get $panel)
              (i32.add (local.get $crow) (i32.shl (local.get $jp) (i32.const 2))) (local.get $ldc)
              (i32.add (local.get $rs) (i32.shl (local.get $ic) (i32.const 2)))
              (i32.add (local.get $bias) (i32.shl (local.get $ic) (i32.const 2)))
              (local.get $flags) (local.get $mb) (local.get $nr) (local.get $ws)))
            (else
          ;; @relaxed-end
          (call $qtile (local.get $kq) (local.get $wsA) (local.get $panel)
            (i32.add (local.get $crow) (i32.shl (local.get $jp) (i32.const 2))) (local.get $ldc)
            (i32.add (local.get $rs) (i32.shl (local.get $ic) (i32.const 2)))
            (i32.add (local.get $bias) (i32.shl (local.get $ic) (i32.const 2)))
            (local.get $flags) (local.get $mb) (local.get $nr) (local.get $ws))
          ;; @relaxed-begin
          ))
          ;; @relaxed-end
          (local.set $panel (i32.add (local.get $panel) (local.get $pstride)))
          (local.set $jp (i32.add (local.get $jp) (i32.const 8)))
          (br_if $panels (i32.lt_s (local.get $jp) (local.get $nb))))
        (local.set $strip (i32.add (local.get $strip) (i32.shl (local.get $kq) (i32.const 4))))
        (local.set $ic (i32.add (local.get $ic) (i32.const 4)))
        (br_if $mblocks (i32.lt_s (local.get $ic) (local.get $m))))
      (local.set $jc (i32.add (local.get $jc) (local.get $ncb)))
      (br_if $nblocks (i32.lt_s (local.get $jc) (local.get $n))))
    (if (i32.and (local.get $flags) (i32.const 8))
      (then (f32.store (local.get $mx) (f32.max (f32.load (local.get $mx))
        (f32.max (f32.max (f32.load offset=128 (local.get $ws)) (f32.load offset=132 (local.get $ws)))
          (f32.max (f32.load offset=136 (local.get $ws)) (f32.load offset=140 (local.get $ws))))))))
    (i32.const 1))
