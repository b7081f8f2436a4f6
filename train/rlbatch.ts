// The RL update's training batch, packed from a rollout batch. The one-position shift lives here
// and nowhere else: training row b·T + t reads the token at column t and predicts column t + 1, so
// a response token at column c is the target of row b·T + c − 1 (T = L − 1 positions per row).
import type { Rollout } from './rl.js';

export interface TrainingBatch {
  B: number;
  T: number;
  /** inputs [B, T]: columns 0..L−2 of every rollout row */
  tokens: Uint32Array;
  /** per row [B·T]: the token it predicts, its log-prob under the rollout policy, its sequence's
   * advantage, and 1 where it predicts a response token (the rows the loss may select) */
  target: Uint32Array;
  old: Float32Array;
  adv: Float32Array;
  valid: Uint32Array;
  /** response tokens (rows with valid = 1) */
  nValid: number;
}

/** Packs a rollout of B rows of L columns with one advantage per row. */
export function packBatch(ro: Rollout, adv: readonly number[]): TrainingBatch {
  const B = ro.tokens.length / ro.L, T = ro.L - 1, N = B * T;
  if (adv.length !== B) throw new Error(`packBatch: ${adv.length} advantages for ${B} rollouts`);
  const tokens = new Uint32Array(N), target = new Uint32Array(N), old = new Float32Array(N), advRow = new Float32Array(N), valid = new Uint32Array(N);
  let nValid = 0;
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) tokens[b * T + t] = ro.tokens[b * ro.L + t];
    for (let c = ro.promptLength[b]; c < ro.end[b]; c++) {
      const r = b * T + c - 1;
      target[r] = ro.tokens[b * ro.L + c];
      old[r] = ro.logprob[b * ro.L + c];
      advRow[r] = adv[b];
      valid[r] = 1;
      nValid++;
    }
  }
  return { B, T, tokens, target, old, adv: advRow, valid, nValid };
}
