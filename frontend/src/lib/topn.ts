// Top-N grouping: the N items with the largest absolute values, the rest summed as "other".

export interface Item {
  key: string;
  label: string;
  value: number;
}

export interface TopN {
  /** The chosen items, largest value first. */
  items: Item[];
  /** The rest summed (null when nothing is left over). */
  other: (Item & { count: number }) | null;
}

/** The ``n`` items of largest |value| (ties by label), ordered by value, largest first, and the
 * remaining ones summed into one "other" item. Items with a null value are left out. */
export function topN(items: readonly Item[], n: number, otherLabel = "other"): TopN {
  const valid = items.filter((it) => Number.isFinite(it.value));
  const byMagnitude = [...valid].sort(
    (a, b) => Math.abs(b.value) - Math.abs(a.value) || a.label.localeCompare(b.label),
  );
  const keep = Math.max(0, Math.floor(n));
  const chosen = byMagnitude.slice(0, keep).sort((a, b) => b.value - a.value);
  const rest = byMagnitude.slice(keep);
  if (rest.length === 0) return { items: chosen, other: null };
  const sum = rest.reduce((s, it) => s + it.value, 0);
  return {
    items: chosen,
    other: {
      key: "__other__",
      label: `${otherLabel} (${rest.length})`,
      value: sum,
      count: rest.length,
    },
  };
}
