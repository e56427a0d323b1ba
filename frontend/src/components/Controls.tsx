// The risk request: method, confidence levels, horizon, and Monte Carlo paths and seed.
// Choices apply at once; typed numbers apply with Enter or the Apply button.
import { useEffect, useState, type FormEvent } from "react";
import { METHODS, type Method } from "../api/types";
import { confidenceLabel } from "../lib/format";
import { METHOD_LABELS } from "../lib/methods";
import { CONFIDENCE_CHOICES, controlErrors, type Controls as ControlValues } from "../lib/request";

interface Draft {
  horizon_days: string;
  n_scenarios: string;
  seed: string;
}

const draftOf = (c: ControlValues): Draft => ({
  horizon_days: String(c.horizon_days),
  n_scenarios: String(c.n_scenarios),
  seed: c.seed === null ? "" : String(c.seed),
});

const num = (s: string) => (s.trim() === "" ? Number.NaN : Number(s.replace(/[_,\s]/g, "")));

export function Controls({
  value,
  onChange,
  busy,
}: {
  value: ControlValues;
  onChange: (c: ControlValues) => void;
  busy: boolean;
}) {
  const [draft, setDraft] = useState<Draft>(draftOf(value));
  useEffect(() => setDraft(draftOf(value)), [value]);

  const typed: ControlValues = {
    ...value,
    horizon_days: num(draft.horizon_days),
    n_scenarios: num(draft.n_scenarios),
    seed: draft.seed.trim() === "" ? null : num(draft.seed),
  };
  const errors = controlErrors(typed);
  const dirty = JSON.stringify(draftOf(value)) !== JSON.stringify(draft);

  const apply = (next: ControlValues) => {
    if (Object.keys(controlErrors(next)).length === 0) onChange(next);
  };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    apply(typed);
  };
  const setMethod = (method: Method) => apply({ ...(Object.keys(errors).length ? value : typed), method });
  const toggle = (c: number) => {
    const has = value.confidence.some((x) => Math.abs(x - c) < 1e-12);
    const confidence = has ? value.confidence.filter((x) => Math.abs(x - c) >= 1e-12) : [...value.confidence, c];
    if (confidence.length) apply({ ...value, confidence: confidence.sort((a, b) => a - b) });
  };
  const mc = value.method === "montecarlo";

  return (
    <form className="controls" onSubmit={submit} aria-label="Risk request" data-testid="controls">
      <div className="field">
        <label htmlFor="method">Method</label>
        <select
          id="method"
          data-testid="control-method"
          value={value.method}
          onChange={(e) => setMethod(e.target.value as Method)}
        >
          {METHODS.map((m) => (
            <option key={m} value={m}>
              {METHOD_LABELS[m]}
            </option>
          ))}
        </select>
      </div>
      <fieldset className="field confidences">
        <legend>Confidence</legend>
        {CONFIDENCE_CHOICES.map((c) => {
          const id = `confidence-${String(c).replace(".", "_")}`;
          return (
            <span key={c} className="check">
              <input
                id={id}
                type="checkbox"
                data-testid={id}
                checked={value.confidence.some((x) => Math.abs(x - c) < 1e-12)}
                onChange={() => toggle(c)}
              />
              <label htmlFor={id}>{confidenceLabel(c)}</label>
            </span>
          );
        })}
      </fieldset>
      <div className="field">
        <label htmlFor="horizon">Horizon (days)</label>
        <input
          id="horizon"
          data-testid="control-horizon"
          inputMode="numeric"
          value={draft.horizon_days}
          aria-invalid={errors.horizon_days ? true : undefined}
          aria-describedby={errors.horizon_days ? "horizon-error" : undefined}
          onChange={(e) => setDraft({ ...draft, horizon_days: e.target.value })}
          size={4}
        />
        {errors.horizon_days ? (
          <span id="horizon-error" className="field-error">
            {errors.horizon_days}
          </span>
        ) : null}
      </div>
      <div className="field">
        <label htmlFor="paths">Paths</label>
        <input
          id="paths"
          data-testid="control-paths"
          inputMode="numeric"
          value={draft.n_scenarios}
          disabled={!mc}
          title={mc ? undefined : "Monte Carlo only"}
          aria-invalid={mc && errors.n_scenarios ? true : undefined}
          aria-describedby={mc && errors.n_scenarios ? "paths-error" : undefined}
          onChange={(e) => setDraft({ ...draft, n_scenarios: e.target.value })}
          size={9}
        />
        {mc && errors.n_scenarios ? (
          <span id="paths-error" className="field-error">
            {errors.n_scenarios}
          </span>
        ) : null}
      </div>
      <div className="field">
        <label htmlFor="seed">Seed</label>
        <input
          id="seed"
          data-testid="control-seed"
          inputMode="numeric"
          value={draft.seed}
          placeholder="random"
          disabled={!mc}
          title={mc ? undefined : "Monte Carlo only"}
          aria-invalid={mc && errors.seed ? true : undefined}
          onChange={(e) => setDraft({ ...draft, seed: e.target.value })}
          size={6}
        />
      </div>
      <button type="submit" data-testid="control-apply" disabled={!dirty || Object.keys(errors).length > 0}>
        {busy ? "Computing…" : "Apply"}
      </button>
    </form>
  );
}
