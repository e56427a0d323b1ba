// The FRTB tab's charts (docs/frtb.md): the liquidity-horizon cascade, the stressed-window
// search on a time line, amounts as bars (IMCC and the capital), and the P&L attribution.
// Each is a pure function of rows made by lib/frtb.ts; data-* attributes carry what is drawn.
import { FRTB_SETS, type AmountBar, type CascadeRow, type PlaPoint, type SearchPoint } from "../lib/frtb";
import type { Formatters } from "../lib/format";
import { AXIS_TICK, COLORS } from "./theme";
import {
  Bar,
  BarChart,
  CartesianGrid,
  Cell,
  ComposedChart,
  Legend,
  Line,
  ReferenceArea,
  ReferenceLine,
  ResponsiveContainer,
  Scatter,
  ScatterChart,
  STILL,
  Tooltip,
  XAxis,
  YAxis,
} from "./recharts";

const SET_COLORS = [COLORS.loss, COLORS.total, COLORS.bars] as const;

export function CascadeChart({
  rows,
  fmt,
  height = 300,
}: {
  rows: readonly CascadeRow[];
  fmt: Formatters;
  height?: number;
}) {
  return (
    <div
      className="chart"
      data-testid="chart-frtb-cascade"
      data-rows={JSON.stringify(rows)}
      role="img"
      aria-label={`ES by liquidity bucket: ${rows
        .map((r) => `${r.bucket} stressed ${fmt.money(r.reduced_stressed)}`)
        .join("; ")}`}
    >
      <ResponsiveContainer width="100%" height={height}>
        <BarChart data={rows as CascadeRow[]} margin={{ top: 8, right: 16, bottom: 24, left: 8 }}>
          <CartesianGrid stroke={COLORS.grid} vertical={false} />
          <XAxis
            dataKey="bucket"
            tick={AXIS_TICK}
            interval={0}
            label={{ value: "liquidity bucket (factors shocked)", position: "insideBottom", offset: -16, fontSize: 12 }}
          />
          <YAxis
            tickFormatter={(x: number) => fmt.compact(x)}
            tick={AXIS_TICK}
            width={72}
            label={{ value: "ES (97.5%, 10 d)", angle: -90, position: "insideLeft", fontSize: 12 }}
          />
          <Tooltip formatter={(v, name) => [fmt.money(Number(v)), String(name)]} />
          <Legend verticalAlign="top" />
          {FRTB_SETS.map((s, i) => (
            <Bar key={s.key} dataKey={s.key} name={s.label} fill={SET_COLORS[i]} {...STILL} />
          ))}
        </BarChart>
      </ResponsiveContainer>
    </div>
  );
}

export function SearchChart({
  points,
  span,
  fmt,
  height = 280,
}: {
  points: readonly SearchPoint[];
  span: [string, string];
  fmt: Formatters;
  height?: number;
}) {
  return (
    <div
      className="chart"
      data-testid="chart-frtb-search"
      data-points={points.length}
      data-window={span.join("..")}
      role="img"
      aria-label={`Reduced-set ES of every 12-month window; the stressed window ends ${span[1]}`}
    >
      <ResponsiveContainer width="100%" height={height}>
        <ComposedChart data={points as SearchPoint[]} margin={{ top: 8, right: 16, bottom: 24, left: 8 }}>
          <CartesianGrid stroke={COLORS.grid} vertical={false} />
          <XAxis
            dataKey="date"
            tick={AXIS_TICK}
            minTickGap={60}
            label={{ value: "last date of the 12-month window", position: "insideBottom", offset: -16, fontSize: 12 }}
          />
          <YAxis
            tickFormatter={(x: number) => fmt.compact(x)}
            tick={AXIS_TICK}
            width={72}
            label={{ value: "ES R,S", angle: -90, position: "insideLeft", fontSize: 12 }}
          />
          <Tooltip formatter={(v) => [fmt.money(Number(v)), "ES R,S"]} />
          <ReferenceArea x1={span[0]} x2={span[1]} fill={COLORS.lossSoft} fillOpacity={0.35} {...STILL} />
          <ReferenceLine
            x={span[1]}
            stroke={COLORS.loss}
            label={{ value: "stressed", fontSize: 12, fill: COLORS.loss }}
          />
          <Line dataKey="es" name="ES R,S" stroke={COLORS.total} dot={false} strokeWidth={1.2} {...STILL} />
        </ComposedChart>
      </ResponsiveContainer>
    </div>
  );
}

export function AmountBars({
  rows,
  fmt,
  testId,
  height = 220,
}: {
  rows: readonly AmountBar[];
  fmt: Formatters;
  testId: string;
  height?: number;
}) {
  return (
    <div
      className="chart"
      data-testid={testId}
      data-rows={JSON.stringify(rows.map((r) => [r.key, r.value]))}
      role="img"
      aria-label={rows.map((r) => `${r.label} ${fmt.money(r.value)}`).join("; ")}
    >
      <ResponsiveContainer width="100%" height={height}>
        <BarChart data={rows as AmountBar[]} layout="vertical" margin={{ top: 8, right: 24, bottom: 8, left: 8 }}>
          <CartesianGrid stroke={COLORS.grid} horizontal={false} />
          <XAxis type="number" tickFormatter={(x: number) => fmt.compact(x)} tick={AXIS_TICK} />
          <YAxis type="category" dataKey="label" width={210} tick={AXIS_TICK} interval={0} />
          <Tooltip formatter={(v) => [fmt.money(Number(v)), "amount"]} />
          <Bar dataKey="value" {...STILL}>
            {rows.map((r) => (
              <Cell key={r.key} fill={r.total ? COLORS.total : COLORS.bars} />
            ))}
          </Bar>
        </BarChart>
      </ResponsiveContainer>
    </div>
  );
}

export function PlaChart({
  points,
  fmt,
  height = 300,
}: {
  points: readonly PlaPoint[];
  fmt: Formatters;
  height?: number;
}) {
  const values = points.flatMap((p) => [p.hypothetical, p.model]);
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  return (
    <div
      className="chart"
      data-testid="chart-frtb-pla"
      data-points={points.length}
      role="img"
      aria-label={`Risk model P&L against hypothetical P&L on ${points.length} days`}
    >
      <ResponsiveContainer width="100%" height={height}>
        <ScatterChart margin={{ top: 8, right: 16, bottom: 24, left: 8 }}>
          <CartesianGrid stroke={COLORS.grid} />
          <XAxis
            type="number"
            dataKey="hypothetical"
            domain={[lo, hi]}
            tickFormatter={(x: number) => fmt.compact(x)}
            tick={AXIS_TICK}
            label={{
              value: "hypothetical P&L (full revaluation)",
              position: "insideBottom",
              offset: -16,
              fontSize: 12,
            }}
          />
          <YAxis
            type="number"
            dataKey="model"
            domain={[lo, hi]}
            tickFormatter={(x: number) => fmt.compact(x)}
            tick={AXIS_TICK}
            width={72}
            label={{ value: "risk model P&L", angle: -90, position: "insideLeft", fontSize: 12 }}
          />
          <ReferenceLine
            segment={[
              { x: lo, y: lo },
              { x: hi, y: hi },
            ]}
            stroke={COLORS.axis}
            strokeDasharray="4 4"
          />
          <Tooltip formatter={(v, name) => [fmt.signed(Number(v)), String(name)]} />
          <Scatter data={points as PlaPoint[]} fill={COLORS.total} {...STILL} />
        </ScatterChart>
      </ResponsiveContainer>
    </div>
  );
}
