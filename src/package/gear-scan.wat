;; The FastCDC boundary scan of chunker.ts, as a WebAssembly kernel: about
;; three times the speed of the same loop in JavaScript (docs/chunking.md).
;; gear-scan.ts embeds the compiled bytes; gear-scan.test.ts checks that they
;; are what `wat2wasm gear-scan.wat` makes of this file.
;;
;; Memory: the gear table (256 x i32) at 0, the chunk's bytes from 1024
;; (byte k of the chunk at 1024 + k).
;;
;; scan(i, stopS, stopL, maskS, maskL): rolls h = (h << 1) + GEAR[byte] over
;; the chunk's bytes from i (h starting at 0), testing the strict mask below
;; stopS and the loose mask from there to stopL. Returns the length of the
;; chunk: one past the byte where (h & mask) == 0, or stopL if there is none.
(module
  (memory (export "memory") 1)
  (func (export "scan")
    (param $i i32) (param $stopS i32) (param $stopL i32) (param $maskS i32) (param $maskL i32)
    (result i32)
    (local $h i32)
    (block $strictDone
      (loop $strict
        (br_if $strictDone (i32.ge_u (local.get $i) (local.get $stopS)))
        (local.set $h
          (i32.add
            (i32.shl (local.get $h) (i32.const 1))
            (i32.load (i32.shl (i32.load8_u offset=1024 (local.get $i)) (i32.const 2)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (if (i32.eqz (i32.and (local.get $h) (local.get $maskS)))
          (then (return (local.get $i))))
        (br $strict)))
    (block $looseDone
      (loop $loose
        (br_if $looseDone (i32.ge_u (local.get $i) (local.get $stopL)))
        (local.set $h
          (i32.add
            (i32.shl (local.get $h) (i32.const 1))
            (i32.load (i32.shl (i32.load8_u offset=1024 (local.get $i)) (i32.const 2)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (if (i32.eqz (i32.and (local.get $h) (local.get $maskL)))
          (then (return (local.get $i))))
        (br $loose)))
    (local.get $stopL)))
