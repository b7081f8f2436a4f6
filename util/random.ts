// The seeded PRNG every layer shares (task generators in verify/, weight init in model/, bootstrap
// resampling in scripts/) and random test/benchmark data from it. A leaf module with no imports, so model/ need not import verify/ for it.

/** A PRNG whose whole state is one u32: read `state` to save the stream's position, set it to resume. */
export interface Rng {
  (): number;
  state: number;
}

/** mulberry32: tiny, fast, and identical in Node and browsers. Returns floats in [0, 1). */
export function mulberry32(seed: number): Rng {
  const rand = (() => {
    const a = (rand.state = (rand.state + 0x6d2b79f5) >>> 0);
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }) as Rng;
  rand.state = seed >>> 0;
  return rand;
}

/** Uniform values in [-scale, scale) from a seeded stream, as float32 (what the GPU sees): tests' and benchmarks' inputs. */
export function randArray(n: number, seed: number, scale = 1): Float32Array {
  const r = mulberry32(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (2 * r() - 1) * scale;
  return out;
}
