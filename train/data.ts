// Turning task problems into token batches.
import { encodeExample, maxLengths, PAD, type Problem, type TaskConfig } from '../verify/index.js';

export interface SftBatch {
  B: number;
  T: number;
  /** [B, T] inputs: [BOS, prompt, answer, EOS] without its last token, padded with PAD */
  tokens: Uint32Array;
  /** [B, T] next-token targets */
  targets: Uint32Array;
  /** [B, T] loss weights: 1 where the target is an answer token or EOS (answer-only mask), else 0 */
  weights: Float32Array;
  /** Σ weights */
  count: number;
}

/** Input positions a task's sequences need: the longest [BOS, prompt, answer, EOS] minus one. */
export function sftPositions(task: TaskConfig): number {
  return maxLengths(task).sequence - 1;
}

export function sftBatch(problems: readonly Problem[], T: number): SftBatch {
  const B = problems.length;
  const tokens = new Uint32Array(B * T).fill(PAD);
  const targets = new Uint32Array(B * T).fill(PAD);
  const weights = new Float32Array(B * T);
  let count = 0;
  problems.forEach((p, b) => {
    const { ids, promptLength } = encodeExample(p.prompt, p.answer);
    if (ids.length - 1 > T) throw new Error(`problem "${p.prompt}${p.answer}" needs ${ids.length - 1} positions, the batch has ${T}`);
    for (let t = 0; t < ids.length - 1; t++) {
      tokens[b * T + t] = ids[t];
      targets[b * T + t] = ids[t + 1];
      // position t predicts ids[t + 1]: an answer token (or EOS) once t + 1 ≥ promptLength
      if (t + 1 >= promptLength) {
        weights[b * T + t] = 1;
        count++;
      }
    }
  });
  return { B, T, tokens, targets, weights, count };
}
