/**
 * maps/byte-sort.ts: a stable MSD radix sort of byte-string keys held in
 * one arena (key i = arena[off[i] .. off[i]+len[i])), in memcmp order with
 * shorter-prefix-first, the order of LMDB's default comparator. Used to
 * bulk-load postmap input (a million keys sort in well under a second,
 * much faster than comparing JS strings or Buffers one pair at a time).
 */

const SMALL = 24;

/** Returns the permutation that sorts the keys; ties keep input order. */
export function sortByteKeys(arena: Uint8Array, off: Int32Array, len: Int32Array, n: number): Uint32Array {
  const idx = new Uint32Array(n);
  for (let i = 0; i < n; i++) idx[i] = i;
  if (n < 2) return idx;
  const tmp = new Uint32Array(n);
  // The bucket of idx[i] at the current depth, read once per pass.
  const bucket = new Uint16Array(n);
  const count = new Int32Array(257);
  const pos = new Int32Array(257);
  // Work stack of [lo, hi, depth].
  const stack: number[] = [0, n, 0];
  while (stack.length > 0) {
    const depth = stack.pop()!;
    const hi = stack.pop()!;
    const lo = stack.pop()!;
    if (hi - lo <= SMALL) {
      insertionSort(arena, off, len, idx, lo, hi, depth);
      continue;
    }
    count.fill(0);
    for (let i = lo; i < hi; i++) {
      const k = idx[i]!;
      const b = depth < len[k]! ? arena[off[k]! + depth]! + 1 : 0;
      bucket[i] = b;
      count[b]!++;
    }
    // All keys share this byte: go one deeper without moving anything.
    let single = -1;
    for (let b = 0; b < 257; b++) {
      if (count[b] === hi - lo) {
        single = b;
        break;
      }
      if (count[b] !== 0) break;
    }
    if (single > 0) {
      stack.push(lo, hi, depth + 1);
      continue;
    }
    if (single === 0) continue; // all keys equal (ended here)
    let sum = lo;
    for (let b = 0; b < 257; b++) {
      pos[b] = sum;
      sum += count[b]!;
    }
    for (let i = lo; i < hi; i++) tmp[pos[bucket[i]!]!++] = idx[i]!;
    idx.set(tmp.subarray(lo, hi), lo);
    let start = lo + count[0]!;
    for (let b = 1; b < 257; b++) {
      const c = count[b]!;
      if (c > 1) stack.push(start, start + c, depth + 1);
      start += c;
    }
  }
  return idx;
}

function compareFrom(arena: Uint8Array, off: Int32Array, len: Int32Array, a: number, b: number, depth: number): number {
  const la = len[a]!;
  const lb = len[b]!;
  const m = Math.min(la, lb);
  const oa = off[a]!;
  const ob = off[b]!;
  for (let i = depth; i < m; i++) {
    const d = arena[oa + i]! - arena[ob + i]!;
    if (d !== 0) return d;
  }
  return la - lb;
}

function insertionSort(
  arena: Uint8Array,
  off: Int32Array,
  len: Int32Array,
  idx: Uint32Array,
  lo: number,
  hi: number,
  depth: number,
): void {
  for (let i = lo + 1; i < hi; i++) {
    const k = idx[i]!;
    let j = i - 1;
    while (j >= lo && compareFrom(arena, off, len, idx[j]!, k, depth) > 0) {
      idx[j + 1] = idx[j]!;
      j--;
    }
    idx[j + 1] = k;
  }
}
