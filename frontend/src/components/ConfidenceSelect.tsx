// "at 99%": the confidence level a panel shows, among those it has (nothing when only one).
import { confidenceLabel } from "../lib/format";

export function ConfidenceSelect({
  id,
  levels,
  value,
  onChange,
  testId,
}: {
  id: string;
  levels: readonly number[];
  value: number | undefined;
  onChange: (c: number) => void;
  testId?: string;
}) {
  if (levels.length < 2) return null;
  return (
    <span className="inline-field">
      <label htmlFor={id}>at</label>
      <select id={id} data-testid={testId} value={value} onChange={(e) => onChange(Number(e.target.value))}>
        {levels.map((c) => (
          <option key={c} value={c}>
            {confidenceLabel(c)}
          </option>
        ))}
      </select>
    </span>
  );
}
