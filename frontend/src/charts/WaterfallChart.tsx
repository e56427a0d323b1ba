// A waterfall: floating bars from one running total to the next, totals from zero.
import type { Formatters } from "../lib/format";
import { niceTicks, shorten } from "../lib/ticks";
import type { StepKind, WaterfallBar } from "../lib/waterfall";
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

export interface WaterfallChartProps {
  bars: readonly WaterfallBar[];
  fmt: Formatters;
  testId: string;
  height?: number;
}

const FILL: Record<StepKind, string> = {
  up: COLORS.loss,
  down: COLORS.gain,
  total: COLORS.total,
  subtotal: COLORS.subtotal,
};

export function WaterfallChart({ bars, fmt, testId, height = 320 }: WaterfallChartProps) {
  const lo = Math.min(0, ...bars.map((b) => b.range[0]));
  const hi = Math.max(0, ...bars.map((b) => b.range[1]));
  const ticks = niceTicks(lo, hi, 6);
  return (
    <div
      className="chart"
      data-testid={testId}
      data-bars={bars.length}
      role="img"
      aria-label={bars.map((b) => `${b.label} ${fmt.signed(b.value)}`).join("; ")}
    >
      <ResponsiveContainer width="100%" height={height}>
        <BarChart data={bars as WaterfallBar[]} margin={{ top: 16, right: 16, bottom: 8, left: 8 }}>
          <CartesianGrid stroke={COLORS.grid} vertical={false} />
          <XAxis
            dataKey="label"
            tick={AXIS_TICK}
            interval={0}
            angle={-35}
            textAnchor="end"
            height={130}
            tickFormatter={(label: string) => shorten(label, 28)}
          />
          <YAxis
            domain={[ticks[0], ticks[ticks.length - 1]]}
            ticks={ticks}
            tickFormatter={(x: number) => fmt.compact(x)}
            tick={AXIS_TICK}
            width={72}
            label={{ value: "contribution to VaR", angle: -90, position: "insideLeft", fontSize: 12, dy: 60 }}
          />
          <ReferenceLine y={0} stroke={COLORS.axis} />
          <Tooltip
            formatter={(_v, _n, item) => {
              const b = (item as { payload: WaterfallBar }).payload;
              return [b.kind === "total" || b.kind === "subtotal" ? fmt.money(b.value) : fmt.signed(b.value), "VaR"];
            }}
            labelFormatter={(label) => String(label)}
          />
          <Bar dataKey="range" {...STILL}>
            {bars.map((b) => (
              <Cell key={b.key} fill={FILL[b.kind]} />
            ))}
          </Bar>
        </BarChart>
      </ResponsiveContainer>
    </div>
  );
}
