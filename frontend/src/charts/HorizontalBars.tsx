// Labelled horizontal bars of signed amounts (stress P&L by scenario or by position); a bar
// can be chosen with the mouse (the views offer the same choice by keyboard).
import type { Formatters } from "../lib/format";
import { shorten } from "../lib/ticks";
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

export interface SignedBar {
  key: string;
  label: string;
  value: number;
}

export interface HorizontalBarsProps {
  rows: readonly SignedBar[];
  fmt: Formatters;
  testId: string;
  selectedKey?: string | null;
  onSelect?: (key: string) => void;
  labelWidth?: number;
}

export function HorizontalBars({ rows, fmt, testId, selectedKey, onSelect, labelWidth = 180 }: HorizontalBarsProps) {
  const height = Math.max(120, rows.length * 28 + 48);
  return (
    <div
      className="chart"
      data-testid={testId}
      data-bars={rows.length}
      role="img"
      aria-label={rows.map((r) => `${r.label} ${fmt.signed(r.value)}`).join("; ")}
    >
      <ResponsiveContainer width="100%" height={height}>
        <BarChart data={rows as SignedBar[]} layout="vertical" margin={{ top: 8, right: 24, bottom: 8, left: 8 }}>
          <CartesianGrid stroke={COLORS.grid} horizontal={false} />
          <XAxis type="number" tickFormatter={(x: number) => fmt.compact(x)} tick={AXIS_TICK} />
          <YAxis
            type="category"
            dataKey="label"
            width={labelWidth}
            tick={AXIS_TICK}
            interval={0}
            tickFormatter={(label: string) => shorten(label, Math.floor(labelWidth / 7))}
          />
          <ReferenceLine x={0} stroke={COLORS.axis} />
          <Tooltip formatter={(v) => [fmt.signed(Number(v)), "P&L"]} />
          <Bar
            dataKey="value"
            {...STILL}
            cursor={onSelect ? "pointer" : undefined}
            onClick={
              onSelect ? (d) => onSelect(String((d as unknown as { payload: SignedBar }).payload.key)) : undefined
            }
          >
            {rows.map((r) => (
              <Cell
                key={r.key}
                fill={r.value < 0 ? COLORS.loss : COLORS.gain}
                fillOpacity={selectedKey && selectedKey !== r.key ? 0.45 : 1}
              />
            ))}
          </Bar>
        </BarChart>
      </ResponsiveContainer>
    </div>
  );
}
