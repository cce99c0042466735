/**
 * auth/schemes/sha512-wasm-layout.ts: where the SHA-512 WebAssembly module
 * (sha512-wasm-build.ts, run by sha512-wasm.ts) keeps things in its one
 * 64 KiB page of memory.
 */
export const OUT = 0; // digest, 64 bytes
export const KTAB = 64; // 80 round constants, little-endian i64
export const WTAB = 768; // message schedule, 80 words
export const CRYPT_A = 1408; // SHA-crypt: the running digest A (64 bytes)
export const CRYPT_S = 1472; // SHA-crypt: the S sequence (salt length, <= 16)
export const MSG = 1536; // padded message, up to 2 * PS_MAX + 80 + padding
export const PS_MAX = 16384; // SHA-crypt: longest P sequence (password) handled here
export const CRYPT_P = MSG + 2 * PS_MAX + 256; // SHA-crypt: the P sequence
