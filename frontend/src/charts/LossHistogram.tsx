// The loss distribution: the server's histogram of scenario P&L, the tail beyond VaR shaded,
// VaR and ES marked where they fall.
import type { Formatters } from "../lib/format";
import type { Bin, Marker } from "../lib/histogram";
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

export interface LossHistogramProps {
  bins: readonly Bin[];
  markers: readonly Marker[];
  fmt: Formatters;
  height?: number;
}

export function LossHistogram({ bins, markers, fmt, height = 300 }: LossHistogramProps) {
  const lo = bins.length ? bins[0].lo : 0;
  const hi = bins.length ? bins[bins.length - 1].hi : 1;
  const width = bins.length ? bins[0].hi - bins[0].lo : 1;
  const ticks = niceTicks(lo, hi, 8).filter((t) => t >= lo - width / 2 && t <= hi + width / 2);
  const counts = niceTicks(0, Math.max(1, ...bins.map((b) => b.count)), 5);
  return (
    <div
      className="chart"
      data-testid="chart-distribution"
      data-bins={bins.length}
      role="img"
      aria-label={`Histogram of ${bins.reduce((s, b) => s + b.count, 0)} scenario P&Ls; ${markers
        .map((m) => `${m.label} ${fmt.money(m.value)}`)
        .join(", ")}`}
    >
      <ResponsiveContainer width="100%" height={height}>
        <BarChart data={bins as Bin[]} margin={{ top: 24, right: 16, bottom: 24, left: 8 }} barCategoryGap={1}>
          <CartesianGrid stroke={COLORS.grid} vertical={false} />
          <XAxis
            dataKey="mid"
            type="number"
            domain={[lo - width / 2, hi + width / 2]}
            ticks={ticks}
            tickFormatter={(x: number) => fmt.compact(x)}
            tick={AXIS_TICK}
            label={{ value: "P&L per scenario (gains right)", position: "insideBottom", offset: -16, fontSize: 12 }}
          />
          <YAxis
            tick={AXIS_TICK}
            width={56}
            ticks={counts}
            domain={[0, counts[counts.length - 1]]}
            label={{ value: "scenarios", angle: -90, position: "insideLeft", fontSize: 12 }}
          />
          <Tooltip
            formatter={(v) => [String(v), "scenarios"]}
            labelFormatter={(x) => `P&L around ${fmt.money(Number(x))}`}
          />
          <Bar dataKey="count" {...STILL}>
            {bins.map((b) => (
              <Cell key={b.mid} fill={b.tail ? COLORS.loss : COLORS.bars} />
            ))}
          </Bar>
          {markerLines(markers, fmt)}
        </BarChart>
      </ResponsiveContainer>
    </div>
  );
}

/** VaR and ES as vertical lines on a P&L axis, each labelled with its amount (the loss
 * distribution's histogram and the parametric density share them). */
export function markerLines(markers: readonly Marker[], fmt: Formatters) {
  return markers.map((m) => (
    <ReferenceLine
      key={m.label}
      x={m.pnl}
      stroke={m.label === "VaR" ? COLORS.loss : COLORS.es}
      strokeDasharray={m.label === "VaR" ? undefined : "4 3"}
      strokeWidth={2}
      label={{
        value: `${m.label} ${fmt.compact(m.value)}`,
        // both to the right of their line, ES a row lower: ES lies left of VaR, and a label
        // left of it ran into the y-axis
        position: "insideTopLeft",
        dy: m.label === "VaR" ? 0 : 18,
        fill: m.label === "VaR" ? COLORS.loss : COLORS.es,
        fontSize: 12,
      }}
    />
  ));
}
