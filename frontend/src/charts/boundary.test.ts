// Style rule 11: one wrapper module imports Recharts; charts take typed props and neither fetch
// nor draw random numbers.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const SRC = join(dirname(fileURLToPath(import.meta.url)), "..");

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return /\.(ts|tsx)$/.test(name) && !name.endsWith(".test.ts") ? [path] : [];
  });
}

describe("the chart boundary", () => {
  it("imports recharts in one module only", () => {
    const importers = sources(SRC)
      .filter((p) => /from\s+["']recharts["']|import\(["']recharts["']\)/.test(readFileSync(p, "utf8")))
      .map((p) => relative(SRC, p));
    expect(importers).toEqual(["charts/recharts.tsx"]);
  });

  it("keeps charts free of fetching, sockets, randomness and clocks", () => {
    const charts = sources(join(SRC, "charts"));
    expect(charts.length).toBeGreaterThan(3);
    for (const p of charts) {
      const text = readFileSync(p, "utf8");
      expect(text, relative(SRC, p)).not.toMatch(/\bfetch\(|WebSocket|Math\.random|Date\.now|new Date\(|useEffect/);
    }
  });
});
