// VaR and ES of a book over time from its stored reports, its limits as they stood (stepped
// lines), and the reports that breached one (red points).
import type { Formatters } from "../lib/format";
import { timeLabel, type HistoryRow } from "../lib/history";
import { AXIS_TICK, COLORS } from "./theme";
import {
  CartesianGrid,
  ComposedChart,
  Legend,
  Line,
  ResponsiveContainer,
  Scatter,
  STILL,
  Tooltip,
  XAxis,
  YAxis,
} from "./recharts";

export function HistoryChart({ rows, fmt, label }: { rows: readonly HistoryRow[]; fmt: Formatters; label: string }) {
  const span = rows.length ? rows[rows.length - 1].t - rows[0].t : 0;
  const breaches = rows.filter((r) => r.varBreach !== null || r.esBreach !== null).length;
  const hasVarLimit = rows.some((r) => r.varLimit !== null);
  const hasEsLimit = rows.some((r) => r.esLimit !== null);
  return (
    <div
      className="chart"
      data-testid="chart-history"
      data-points={rows.length}
      data-breaches={breaches}
      role="img"
      aria-label={`${label} over ${rows.length} stored reports; ${breaches} breached a limit`}
    >
      <ResponsiveContainer width="100%" height={320}>
        <ComposedChart data={rows as HistoryRow[]} margin={{ top: 8, right: 16, bottom: 8, left: 8 }}>
          <CartesianGrid stroke={COLORS.grid} vertical={false} />
          <XAxis
            dataKey="t"
            type="number"
            scale="time"
            domain={["dataMin", "dataMax"]}
            tickFormatter={(t: number) => timeLabel(t, span)}
            tick={AXIS_TICK}
            minTickGap={40}
          />
          <YAxis tickFormatter={(x: number) => fmt.compact(x)} tick={AXIS_TICK} width={72} domain={["auto", "auto"]} />
          <Tooltip
            labelFormatter={(t) => timeLabel(Number(t), 0) + " UTC"}
            formatter={(v, name) => [fmt.money(Number(v)), String(name)]}
          />
          <Legend />
          <Line dataKey="valueAtRisk" name="VaR" stroke={COLORS.loss} dot={false} strokeWidth={1.8} {...STILL} />
          <Line
            dataKey="expectedShortfall"
            name="ES"
            stroke={COLORS.es}
            strokeDasharray="5 3"
            dot={false}
            strokeWidth={1.5}
            {...STILL}
          />
          {hasVarLimit ? (
            <Line
              dataKey="varLimit"
              name="VaR limit"
              stroke={COLORS.warning}
              type="stepAfter"
              dot={false}
              connectNulls
              {...STILL}
            />
          ) : null}
          {hasEsLimit ? (
            <Line
              dataKey="esLimit"
              name="ES limit"
              stroke={COLORS.warning}
              strokeDasharray="2 3"
              type="stepAfter"
              dot={false}
              connectNulls
              {...STILL}
            />
          ) : null}
          <Scatter dataKey="varBreach" name="VaR over its limit" fill={COLORS.loss} {...STILL} />
          <Scatter dataKey="esBreach" name="ES over its limit" fill={COLORS.es} shape="diamond" {...STILL} />
        </ComposedChart>
      </ResponsiveContainer>
    </div>
  );
}
