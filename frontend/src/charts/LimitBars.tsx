// Limit utilisation: one bar per limit as a share of the limit, 100% marked.
import type { Formatters } from "../lib/format";
import type { LimitRow, LimitState } from "../lib/limits";
import { niceTicks } from "../lib/ticks";
import { AXIS_TICK, COLORS } from "./theme";
import {
  Bar,
  BarChart,
  CartesianGrid,
  Cell,
  ReferenceLine,
  ResponsiveContainer,
  STILL,
  Tooltip,
  XAxis,
  YAxis,
} from "./recharts";

export interface LimitBarsProps {
  rows: readonly LimitRow[];
  fmt: Formatters;
}

const FILL: Record<LimitState, string> = {
  ok: COLORS.gain,
  warning: COLORS.warning,
  breached: COLORS.loss,
  unknown: COLORS.neutral,
};

export function LimitBars({ rows, fmt }: LimitBarsProps) {
  const data = rows.map((r) => ({ ...r, name: `${r.label} · ${r.scope}`, used: r.utilisation ?? 0 }));
  const ticks = niceTicks(0, Math.max(1.2, ...data.map((d) => d.used)), 6);
  const top = ticks[ticks.length - 1];
  return (
    <div
      className="chart"
      data-testid="chart-limits"
      data-bars={rows.length}
      role="img"
      aria-label={rows
        .map((r) => `${r.label} ${r.scope}: ${fmt.percent(r.utilisation, 0)} of ${fmt.money(r.limit)}`)
        .join("; ")}
    >
      <ResponsiveContainer width="100%" height={Math.max(120, rows.length * 34 + 48)}>
        <BarChart data={data} layout="vertical" margin={{ top: 22, right: 24, bottom: 8, left: 8 }}>
          <CartesianGrid stroke={COLORS.grid} horizontal={false} />
          <XAxis
            type="number"
            domain={[0, top]}
            ticks={ticks}
            tickFormatter={(x: number) => fmt.percent(x, 0)}
            tick={AXIS_TICK}
          />
          <YAxis type="category" dataKey="name" width={180} tick={AXIS_TICK} interval={0} />
          <ReferenceLine
            x={1}
            stroke={COLORS.loss}
            strokeDasharray="4 3"
            label={{ value: "limit", position: "top", fill: COLORS.loss, fontSize: 12 }}
          />
          <Tooltip formatter={(v) => [fmt.percent(Number(v), 0), "utilisation"]} />
          <Bar dataKey="used" {...STILL}>
            {data.map((d) => (
              <Cell key={d.key} fill={FILL[d.state]} />
            ))}
          </Bar>
        </BarChart>
      </ResponsiveContainer>
    </div>
  );
}
