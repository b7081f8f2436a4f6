// Turning task problems into token batches.
import { encodeExample, hash32, maxLengths, mulberry32, PAD, randInt, type Problem, type TaskConfig } from '../verify/index.js';

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

const DIGITS = '0123456789';
const OPERATORS = '+-*/';

/**
 * A noisy teacher: with probability `rate` the demonstration's answer gets one character replaced by
 * a different one of its kind (digit for digit, operator for operator), so it is wrong but well
 * formed. The choice is a pure function of (prompt, seed) — the same problem always gets the same
 * demonstration, like a fixed dataset, and resuming needs no extra random state. Imperfect
 * demonstrations are what RL with an exact verifier can correct and SFT cannot: the model learns
 * the teacher's error rate as entropy on the answer tokens (the forking tokens), and the reward
 * teaches it which branch is right.
 */
export function noisyTeacher(p: Problem, rate: number, seed: number): Problem {
  if (rate <= 0) return p;
  const rand = mulberry32(hash32(`${seed}:${p.prompt}`));
  if (rand() >= rate) return p;
  const positions = [...p.answer].flatMap((ch, i) => (DIGITS.includes(ch) || OPERATORS.includes(ch) ? [i] : []));
  if (positions.length === 0) return p;
  const i = positions[randInt(rand, 0, positions.length - 1)];
  const kind = DIGITS.includes(p.answer[i]) ? DIGITS : OPERATORS;
  const others = [...kind].filter((c) => c !== p.answer[i]);
  const answer = p.answer.slice(0, i) + others[randInt(rand, 0, others.length - 1)] + p.answer.slice(i + 1);
  return { ...p, answer } as Problem;
}
