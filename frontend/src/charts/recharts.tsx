// The one module that imports Recharts (style rule 11). Charts import their building blocks
// from here, so a change of charting library, or of its defaults, happens in one place.
export {
  Area,
  AreaChart,
  Bar,
  BarChart,
  CartesianGrid,
  Cell,
  ComposedChart,
  ErrorBar,
  Legend,
  Line,
  ReferenceArea,
  ReferenceLine,
  ResponsiveContainer,
  Scatter,
  ScatterChart,
  Tooltip,
  XAxis,
  YAxis,
} from "recharts";

/** Charts draw at once: no animation, so a screenshot or a test sees the final picture. */
export const STILL = { isAnimationActive: false } as const;
