// Backtest: the hypothetical P&L day by day, each method's -VaR as a line, exceptions marked
// with a shape of the method's own (two methods' exceptions on one day both show).
import type { Method } from "../api/types";
import { exceptionKey, varKey, type BacktestRow } from "../lib/backtest";
import type { Formatters } from "../lib/format";
import { METHOD_LABELS } from "../lib/methods";
import { AXIS_TICK, COLORS, METHOD_COLORS } from "./theme";
import {
  Bar,
  CartesianGrid,
  ComposedChart,
  Legend,
  Line,
  ReferenceLine,
  ResponsiveContainer,
  Scatter,
  STILL,
  Tooltip,
  XAxis,
  YAxis,
} from "./recharts";

// Each method's exception marker: a filled diamond, a hollow triangle, a hollow square, so that
// markers on the same day (the same P&L) stay visible one over the other.
const MARKERS: Record<Method, { shape: "diamond" | "triangle" | "square"; fillOpacity: number }> = {
  historical: { shape: "diamond", fillOpacity: 1 },
  parametric: { shape: "triangle", fillOpacity: 0 },
  montecarlo: { shape: "square", fillOpacity: 0 },
};

export interface BacktestChartProps {
  rows: readonly BacktestRow[];
  methods: readonly Method[];
  fmt: Formatters;
  height?: number;
}

export function BacktestChart({ rows, methods, fmt, height = 340 }: BacktestChartProps) {
  const exceptions = methods.map((m) => rows.filter((r) => r[exceptionKey(m)] != null).length);
  return (
    <div
      className="chart"
      data-testid="chart-backtest"
      data-days={rows.length}
      data-exceptions={exceptions.join(",")}
      role="img"
      aria-label={`Realised P&L over ${rows.length} days against VaR; exceptions: ${methods
        .map((m, i) => `${METHOD_LABELS[m]} ${exceptions[i]}`)
        .join(", ")}`}
    >
      <ResponsiveContainer width="100%" height={height}>
        <ComposedChart data={rows as BacktestRow[]} margin={{ top: 8, right: 16, bottom: 8, left: 8 }}>
          <CartesianGrid stroke={COLORS.grid} vertical={false} />
          <XAxis dataKey="date" tick={AXIS_TICK} minTickGap={40} />
          <YAxis
            tickFormatter={(x: number) => fmt.compact(x)}
            tick={AXIS_TICK}
            width={72}
            label={{ value: "hypothetical P&L, −VaR", angle: -90, position: "insideLeft", fontSize: 12, dy: 70 }}
          />
          <ReferenceLine y={0} stroke={COLORS.axis} />
          <Tooltip formatter={(v, name) => [fmt.signed(Number(v)), String(name)]} />
          <Legend />
          <Bar dataKey="pnl" name="hypothetical P&L (today's book held constant)" fill={COLORS.bars} {...STILL} />
          {methods.map((m) => (
            <Line
              key={m}
              dataKey={varKey(m)}
              name={`−VaR ${METHOD_LABELS[m]}`}
              stroke={METHOD_COLORS[m]}
              dot={false}
              strokeWidth={1.5}
              type="stepAfter"
              connectNulls
              {...STILL}
            />
          ))}
          {methods.map((m) => (
            <Scatter
              key={`x-${m}`}
              dataKey={exceptionKey(m)}
              name={`exception ${METHOD_LABELS[m]}`}
              fill={METHOD_COLORS[m]}
              fillOpacity={MARKERS[m].fillOpacity}
              stroke={METHOD_COLORS[m]}
              strokeWidth={2}
              shape={MARKERS[m].shape}
              className={`exceptions-${m}`}
              {...STILL}
            />
          ))}
        </ComposedChart>
      </ResponsiveContainer>
    </div>
  );
}
