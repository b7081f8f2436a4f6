import type { Runtime, Tensor } from './runtime.js';
import { sampleWGSL } from './sample.wgsl.js';

export interface SampleOptions {
  /** Sampling temperature; 0 = greedy. */
  temperature: number;
  /** Dual temperature: positions whose entropy at T = 1 is ≥ forkThreshold (nats) sample at this one. */
  forkTemperature?: number;
  forkThreshold?: number;
  seed: number;
}

/**
 * Samples the token after position `pos` for each of the b rows of `logits` [b, v] and writes, at
 * column pos + 1 of the [b, tmax] tensors: the token into `seq`, its log-prob and the entropy (nats)
 * of the distribution it was drawn from. Rows already `finished` get `pad` (log-prob and entropy 0);
 * a row that samples `eos` becomes finished. Columns before a row's `promptLen` keep their prompt
 * token (log-prob and entropy 0). `next` [b] receives column pos + 1: the following decode step's input.
 */
export function sampleNext(
  rt: Runtime,
  a: { logits: Tensor; seq: Tensor; finished: Tensor; logprob: Tensor; entropy: Tensor; promptLen: Tensor; next: Tensor; pos: number; eos: number; pad: number },
  o: SampleOptions,
): void {
  const [b, v] = a.logits.shape;
  const tmax = a.seq.shape[1];
  if (a.pos + 1 >= tmax) throw new Error(`sampleNext: position ${a.pos + 1} is past the sequence buffer's ${tmax} columns`);
  const temp = o.temperature;
  if (!(temp >= 0) || !((o.forkTemperature ?? temp) >= 0)) throw new Error(`sampleNext: temperatures must be >= 0, got ${temp} and ${o.forkTemperature}`);
  const k = rt.kernel({ name: 'sample', code: sampleWGSL });
  rt.dispatch(k, {
    params: [b, v, tmax, a.pos, o.seed >>> 0, a.eos, a.pad],
    fparams: [temp, o.forkTemperature ?? temp, o.forkThreshold ?? Infinity],
    tensors: [a.logits, a.seq, a.finished, a.logprob, a.entropy, a.promptLen, a.next],
    groups: [Math.ceil(b / 64)],
    flops: b * v * 10,
  });
}
