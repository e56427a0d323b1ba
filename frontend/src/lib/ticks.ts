// Round axis ticks: steps of 1, 2, 2.5 or 5 times a power of ten covering [lo, hi].

/** About ``target`` round ticks from at or below ``lo`` to at or above ``hi``, 0 among them
 * when the range crosses it. */
export function niceTicks(lo: number, hi: number, target = 6): number[] {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [];
  if (lo > hi) [lo, hi] = [hi, lo];
  if (lo === hi) {
    const pad = Math.abs(lo) || 1;
    lo -= pad / 2;
    hi += pad / 2;
  }
  const raw = (hi - lo) / Math.max(1, target - 1);
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? 10 * power;
  const first = Math.floor(lo / step) * step;
  const out: number[] = [];
  for (let x = first; x < hi + step * 0.999; x += step) {
    out.push(Math.abs(x) < step * 1e-9 ? 0 : Number(x.toPrecision(12)));
  }
  return out;
}

/** A label cut to ``n`` characters with an ellipsis. */
export function shorten(label: string, n = 16): string {
  return label.length <= n ? label : `${label.slice(0, n - 1)}…`;
}
