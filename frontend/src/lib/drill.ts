// Drill-down from a tag group to its positions: which positions of the book carry a tag value.
// Tags are stored as "key=value;key=value" (docs/formats.md); a key repeated on one position
// counts with its first value, as on the server.

/** A position's tags as key -> value (the first value of a repeated key). */
export function parseTags(raw: unknown): Map<string, string> {
  const out = new Map<string, string>();
  if (typeof raw === "string") {
    for (const part of raw.split(";")) {
      const p = part.trim();
      const eq = p.indexOf("=");
      if (!p || eq < 0) continue;
      const key = p.slice(0, eq).trim();
      if (!out.has(key)) out.set(key, p.slice(eq + 1).trim());
    }
  } else if (raw && typeof raw === "object") {
    for (const [k, v] of Object.entries(raw as Record<string, unknown>)) if (!out.has(k)) out.set(k, String(v));
  }
  return out;
}

export interface Group {
  key: string;
  /** null: the positions without the key. */
  value: string | null;
}

/** The ids of the positions in ``group``: those whose tag ``key`` is ``value`` (or, for a null
 * value, that lack the key). */
export function groupMembers(positions: readonly { id?: unknown; tags?: unknown }[], group: Group): Set<string> {
  const out = new Set<string>();
  for (const p of positions) {
    const v = parseTags(p.tags).get(group.key);
    if (group.value === null ? v === undefined : v === group.value) out.add(String(p.id));
  }
  return out;
}

export function groupLabel(g: Group): string {
  return `${g.key}=${g.value ?? "(none)"}`;
}
