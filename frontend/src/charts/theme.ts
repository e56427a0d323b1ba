// Chart colours (shared with the CSS variables of styles.css).
import type { Method } from "../api/types";

export const COLORS = {
  loss: "#c0392b",
  lossSoft: "#e8a39b",
  gain: "#1e8449",
  neutral: "#5b6b7f",
  bars: "#7b93b5",
  total: "#1f3a5f",
  subtotal: "#50698d",
  warning: "#d68910",
  grid: "#e3e8ef",
  axis: "#5b6b7f",
  es: "#7d3c98",
} as const;

export const METHOD_COLORS: Record<Method, string> = {
  historical: "#1f77b4",
  parametric: "#d35400",
  montecarlo: "#16a085",
};

export const AXIS_TICK = { fontSize: 12, fill: COLORS.axis } as const;
