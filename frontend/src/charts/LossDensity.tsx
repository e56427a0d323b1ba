// The parametric method's fitted P&L density: the curve, the tail beyond VaR shaded, VaR and ES
// marked where they fall (the parametric counterpart of the scenario histogram).
import type { Formatters } from "../lib/format";
import type { DensityPoint, Marker } from "../lib/histogram";
import { niceTicks } from "../lib/ticks";
import { markerLines } from "./LossHistogram";
import { AXIS_TICK, COLORS } from "./theme";
import { Area, AreaChart, CartesianGrid, ResponsiveContainer, STILL, Tooltip, XAxis, YAxis } from "./recharts";

export function LossDensity({
  points,
  markers,
  fmt,
  label,
  height = 300,
}: {
  points: readonly DensityPoint[];
  markers: readonly Marker[];
  fmt: Formatters;
  label: string;
  height?: number;
}) {
  const lo = points.length ? points[0].pnl : 0;
  const hi = points.length ? points[points.length - 1].pnl : 1;
  const ticks = niceTicks(lo, hi, 8).filter((t) => t >= lo && t <= hi);
  return (
    <div
      className="chart"
      data-testid="chart-density"
      data-points={points.length}
      role="img"
      aria-label={`${label}; ${markers.map((m) => `${m.label} ${fmt.money(m.value)}`).join(", ")}`}
    >
      <ResponsiveContainer width="100%" height={height}>
        <AreaChart data={points as DensityPoint[]} margin={{ top: 24, right: 16, bottom: 24, left: 8 }}>
          <CartesianGrid stroke={COLORS.grid} vertical={false} />
          <XAxis
            dataKey="pnl"
            type="number"
            domain={[lo, hi]}
            ticks={ticks}
            tickFormatter={(x: number) => fmt.compact(x)}
            tick={AXIS_TICK}
            label={{ value: "P&L (gains right)", position: "insideBottom", offset: -16, fontSize: 12 }}
          />
          <YAxis
            tick={false}
            width={24}
            label={{ value: "density", angle: -90, position: "insideLeft", fontSize: 12 }}
          />
          <Tooltip
            formatter={(v) => [Number(v).toExponential(3), "density per unit of P&L"]}
            labelFormatter={(x) => `P&L ${fmt.money(Number(x))}`}
          />
          <Area
            dataKey="body"
            stroke={COLORS.bars}
            fill={COLORS.bars}
            fillOpacity={0.35}
            connectNulls={false}
            {...STILL}
          />
          <Area
            dataKey="tail"
            stroke={COLORS.loss}
            fill={COLORS.loss}
            fillOpacity={0.5}
            connectNulls={false}
            {...STILL}
          />
          {markerLines(markers, fmt)}
        </AreaChart>
      </ResponsiveContainer>
    </div>
  );
}
