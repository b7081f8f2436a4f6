import type { Runtime, Tensor } from './runtime.js';
import { selectCandidatesWGSL, selectWGSL } from './select.wgsl.js';

export type SelectMode = 'top' | 'bottom';

/** The number of rows top-ρ keeps out of n valid ones: exactly ceil(ρ·n), as the 80/20 code does. */
export function selectedCount(rho: number, nValid: number, mode: SelectMode = 'top'): number {
  if (!(rho > 0 && rho <= 1)) throw new Error(`selectedCount: ρ (the share of rows to select) is ${rho}; it must be in (0, 1]`);
  const top = Math.min(nValid, Math.ceil(rho * nValid - 1e-9));
  // 'bottom' is the ablation's complement: the lowest-entropy rows the top-ρ selection leaves out.
  return mode === 'top' ? top : nValid - top;
}

/**
 * Selects exactly k rows among the valid ones: the k highest scores ('top') or lowest ('bottom'),
 * ties broken by lower row index. Writes their ids, best first, into rows[0..k) and a 0/1 mask [n].
 * `candidates` (optional): the valid rows' ids, strictly ascending, when the caller knows them — the
 * same selection from m² compares instead of n²; `valid` must still describe the same rows.
 */
export function selectRows(
  rt: Runtime,
  a: { score: Tensor; valid: Tensor; rows: Tensor; mask: Tensor; k: number; mode?: SelectMode; candidates?: Tensor },
): void {
  const n = a.score.size;
  if (a.rows.size < a.k) throw new Error(`selectRows: rows holds ${a.rows.size} ids, k is ${a.k}`);
  if (a.candidates) {
    const m = a.candidates.size;
    if (a.candidates.dtype !== 'u32') throw new Error(`selectRows: candidates (${a.candidates.label}) must be u32`);
    if (a.k > m) throw new Error(`selectRows: k is ${a.k}, there are ${m} candidates`);
    rt.zero(a.mask);
    if (m === 0) return;
    rt.dispatch(rt.kernel({ name: 'select_rows', code: selectCandidatesWGSL }), {
      params: [m, a.k, a.mode === 'bottom' ? 1 : 0],
      tensors: [a.score, a.candidates, a.rows, a.mask],
      groups: [Math.ceil(m / 64)],
    });
    return;
  }
  const k = rt.kernel({ name: 'select_rows', code: selectWGSL });
  rt.dispatch(k, {
    params: [n, a.k, a.mode === 'bottom' ? 1 : 0],
    tensors: [a.score, a.valid, a.rows, a.mask],
    groups: [Math.ceil(n / 64)],
  });
}
