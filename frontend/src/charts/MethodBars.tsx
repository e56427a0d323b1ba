// The same book by each method: VaR and ES side by side, with their standard errors.
import type { Formatters } from "../lib/format";
import { METHOD_LABELS, type MethodRow } from "../lib/methods";
import { AXIS_TICK, COLORS } from "./theme";
import {
  Bar,
  BarChart,
  CartesianGrid,
  ErrorBar,
  Legend,
  ResponsiveContainer,
  STILL,
  Tooltip,
  XAxis,
  YAxis,
} from "./recharts";

export interface MethodBarsProps {
  rows: readonly MethodRow[];
  fmt: Formatters;
  height?: number;
}

export function MethodBars({ rows, fmt, height = 300 }: MethodBarsProps) {
  const data = rows.map((r) => ({
    label: METHOD_LABELS[r.method],
    VaR: r.valueAtRisk,
    ES: r.expectedShortfall,
    varError: r.varError == null ? 0 : 2 * r.varError,
    esError: r.esError == null ? 0 : 2 * r.esError,
  }));
  return (
    <div
      className="chart"
      data-testid="chart-methods"
      data-bars={rows.length}
      role="img"
      aria-label={rows
        .map((r) => `${METHOD_LABELS[r.method]}: VaR ${fmt.money(r.valueAtRisk)}, ES ${fmt.money(r.expectedShortfall)}`)
        .join("; ")}
    >
      <ResponsiveContainer width="100%" height={height}>
        <BarChart data={data} margin={{ top: 8, right: 16, bottom: 8, left: 8 }}>
          <CartesianGrid stroke={COLORS.grid} vertical={false} />
          <XAxis dataKey="label" tick={AXIS_TICK} />
          <YAxis tickFormatter={(x: number) => fmt.compact(x)} tick={AXIS_TICK} width={64} />
          <Tooltip formatter={(v, name) => [fmt.money(Number(v)), String(name)]} />
          <Legend />
          <Bar dataKey="VaR" fill={COLORS.total} {...STILL}>
            <ErrorBar dataKey="varError" direction="y" width={8} stroke={COLORS.warning} strokeWidth={2} />
          </Bar>
          <Bar dataKey="ES" fill={COLORS.es} {...STILL}>
            <ErrorBar dataKey="esError" direction="y" width={8} stroke={COLORS.warning} strokeWidth={2} />
          </Bar>
        </BarChart>
      </ResponsiveContainer>
    </div>
  );
}
