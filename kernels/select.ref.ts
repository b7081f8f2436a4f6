// CPU reference of top/bottom-k selection: a stable sort by score, ties to the lower index.
export function selectRowsRef(score: ArrayLike<number>, valid: ArrayLike<number>, k: number, mode: 'top' | 'bottom' = 'top'): number[] {
  const ids = Array.from({ length: score.length }, (_, i) => i).filter((i) => valid[i]);
  const dir = mode === 'top' ? -1 : 1;
  ids.sort((i, j) => (score[i] === score[j] ? i - j : dir * (score[i] - score[j])));
  return ids.slice(0, k);
}
