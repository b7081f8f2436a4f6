// Float64 references for the elementwise family. GELU uses 0.5·x·(1 + tanh u) = x·σ(2u): in
// float64 the tanh form loses everything to cancellation once x < −18 or so (1 + tanh u rounds
// to 0 while the true value is ~1e−20), which would make the reference, not the kernel, wrong.
// The test checks the identity against the tanh form where both are accurate.

const GELU_K = Math.sqrt(2 / Math.PI);
const GELU_C = 0.044715;

/** u(x) = √(2/π)(x + 0.044715x³), the tanh argument of GPT-2's GELU. */
export function geluArg(x: number): number {
  return GELU_K * (x + GELU_C * x * x * x);
}

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

export function geluRef(x: number): number {
  return x * sigmoid(2 * geluArg(x));
}

/** d/dx x·σ(2u) = σ(2u) + 2x·σ(2u)·σ(−2u)·u′(x). */
export function geluGradRef(x: number): number {
  const u = geluArg(x);
  return sigmoid(2 * u) + 2 * x * sigmoid(2 * u) * sigmoid(-2 * u) * GELU_K * (1 + 3 * GELU_C * x * x);
}

/** The textbook forms, GPT-2's definition, for the identity check. */
export function geluTanhRef(x: number): number {
  return 0.5 * x * (1 + Math.tanh(geluArg(x)));
}

export function geluGradTanhRef(x: number): number {
  const th = Math.tanh(geluArg(x));
  return 0.5 * (1 + th) + 0.5 * x * (1 - th * th) * GELU_K * (1 + 3 * GELU_C * x * x);
}
