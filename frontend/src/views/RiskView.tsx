// Loss distribution, VaR waterfall and limit utilisation of the current report.
import { useState } from "react";
import type { LimitUtilisation, PnlDensity, RiskReport } from "../api/types";
import { LimitBars } from "../charts/LimitBars";
import { LossDensity } from "../charts/LossDensity";
import { LossHistogram } from "../charts/LossHistogram";
import { WaterfallChart } from "../charts/WaterfallChart";
import { ConfidenceSelect } from "../components/ConfidenceSelect";
import { Export } from "../components/Export";
import { Empty, Panel } from "../components/Panel";
import { groupLabel, groupMembers, type Group } from "../lib/drill";
import { fileName, type Column } from "../lib/export";
import { confidenceLabel, type Formatters } from "../lib/format";
import { densityPoints, histogramBins, measureAt, tailMarkers, type Bin, type DensityPoint } from "../lib/histogram";
import { limitKey, limitRows, type LimitRow } from "../lib/limits";
import {
  componentWaterfall,
  diversificationWaterfall,
  positionItems,
  tagItems,
  tagKeys,
  waterfallBars,
  type Step,
} from "../lib/waterfall";

/** The base of an exported file's name: the book and the report's method and date. */
export function exportName(report: RiskReport, what: string, ...more: (string | number)[]): string {
  return fileName(report.portfolio.name, report.method, report.as_of, what, ...more);
}

const BIN_COLUMNS: Column<Bin>[] = [
  { name: "pnl_low", value: (b) => b.lo },
  { name: "pnl_high", value: (b) => b.hi },
  { name: "scenarios", value: (b) => b.count },
  { name: "beyond_var", value: (b) => b.tail },
];

const DENSITY_COLUMNS: Column<DensityPoint>[] = [
  { name: "pnl", value: (p) => p.pnl },
  { name: "density", value: (p) => p.density },
  { name: "beyond_var", value: (p) => p.tail !== null },
];

function densityLabel(d: PnlDensity): string {
  if (d.distribution === "student-t") return `Student-t with ${d.df} degrees of freedom`;
  if (d.distribution === "cornish-fisher")
    return `Cornish-Fisher (skewness ${(d.skewness ?? 0).toFixed(3)}, excess kurtosis ${(d.excess_kurtosis ?? 0).toFixed(3)})`;
  return "normal";
}

const STEP_COLUMNS: Column<Step>[] = [
  { name: "step", value: (s) => s.label },
  { name: "kind", value: (s) => s.kind },
  { name: "value", value: (s) => s.value },
  { name: "running_from", value: (s) => s.start },
  { name: "running_to", value: (s) => s.end },
];

const LIMIT_COLUMNS: Column<LimitRow>[] = [
  { name: "limit", value: (r) => r.label },
  { name: "on", value: (r) => r.scope },
  { name: "value", value: (r) => r.value },
  { name: "limit_amount", value: (r) => r.limit },
  { name: "utilisation", value: (r) => r.utilisation },
  { name: "state", value: (r) => r.state },
  { name: "reason", value: (r) => r.reason },
];

function ConfidencePicker({
  report,
  value,
  onChange,
  id,
}: {
  report: RiskReport;
  value: number;
  onChange: (c: number) => void;
  id: string;
}) {
  return (
    <ConfidenceSelect id={id} levels={report.results.map((m) => m.confidence)} value={value} onChange={onChange} />
  );
}

export function DistributionPanel({ report, fmt }: { report: RiskReport; fmt: Formatters }) {
  const last = report.results[report.results.length - 1].confidence;
  const [confidence, setConfidence] = useState(last);
  const m = measureAt(report.results, confidence);
  const h = report.pnl_histogram;
  const d = report.pnl_density ?? null;
  return (
    <Panel
      title="Loss distribution"
      testId="panel-distribution"
      actions={
        <>
          <ConfidencePicker
            id="dist-confidence"
            report={report}
            value={m?.confidence ?? last}
            onChange={setConfidence}
          />
          {h ? (
            <Export
              name={exportName(report, "loss-distribution", m?.confidence ?? last)}
              rows={histogramBins(h, m?.value_at_risk)}
              columns={BIN_COLUMNS}
              testId="export-distribution"
              what="histogram"
            />
          ) : d ? (
            <Export
              name={exportName(report, "loss-density", m?.confidence ?? last)}
              rows={densityPoints(d, m?.value_at_risk)}
              columns={DENSITY_COLUMNS}
              json={d}
              testId="export-distribution"
              what="density"
            />
          ) : null}
        </>
      }
    >
      {h ? (
        <>
          <LossHistogram bins={histogramBins(h, m?.value_at_risk)} markers={tailMarkers(m)} fmt={fmt} />
          <p className="caption">
            P&L of {fmt.number(report.n_scenarios)} scenarios, gains to the right; the{" "}
            {confidenceLabel(m?.confidence ?? last)} tail beyond VaR in red, ES dashed.
          </p>
        </>
      ) : d ? (
        <>
          <LossDensity
            points={densityPoints(d, m?.value_at_risk)}
            markers={tailMarkers(m)}
            fmt={fmt}
            label={densityLabel(d)}
          />
          <p className="caption" data-testid="density-caption">
            The fitted P&L density, gains to the right: {densityLabel(d)}, mean {fmt.signed(d.mean)}, standard deviation{" "}
            {fmt.money(d.standard_deviation)}; the {confidenceLabel(m?.confidence ?? last)} tail beyond VaR in red, ES
            dashed.
            {d.monotone === false
              ? " The expansion bends back in the far tail: only its increasing part is drawn."
              : ""}
          </p>
        </>
      ) : (
        <Empty>
          This {report.method} report has no scenarios to bin and no fitted density: choose Historical or Monte Carlo to
          see the distribution.
        </Empty>
      )}
    </Panel>
  );
}

type By = "position" | "tag";

export function WaterfallPanel({
  report,
  fmt,
  positions,
}: {
  report: RiskReport;
  fmt: Formatters;
  /** The stored book's positions (their tags), for the drill-down from a tag group. */
  positions?: readonly { id?: unknown; tags?: unknown }[] | null;
}) {
  const c = report.contributions;
  const [drill, setDrill] = useState<Group | null>(null);
  const last = report.results[report.results.length - 1].confidence;
  const [confidence, setConfidence] = useState(last);
  const [by, setBy] = useState<By>("position");
  const [top, setTop] = useState(8);
  const keys = c ? tagKeys(c.by_tag) : [];
  const [tag, setTag] = useState<string | null>(null);
  const tagKey = tag && keys.includes(tag) ? tag : (keys[0] ?? null);
  const m = measureAt(report.results, confidence);
  const at = m?.confidence ?? last;
  const summary = c?.summary.find((s) => Math.abs(s.confidence - at) < 1e-9);

  const actions = (
    <>
      <ConfidencePicker id="wf-confidence" report={report} value={at} onChange={setConfidence} />
      <span className="inline-field">
        <label htmlFor="wf-by">by</label>
        <select id="wf-by" data-testid="waterfall-by" value={by} onChange={(e) => setBy(e.target.value as By)}>
          <option value="position">position</option>
          <option value="tag" disabled={keys.length === 0}>
            tag
          </option>
        </select>
      </span>
      {by === "tag" && keys.length > 1 ? (
        <span className="inline-field">
          <label htmlFor="wf-tag">key</label>
          <select id="wf-tag" data-testid="waterfall-tag" value={tagKey ?? ""} onChange={(e) => setTag(e.target.value)}>
            {keys.map((k) => (
              <option key={k}>{k}</option>
            ))}
          </select>
        </span>
      ) : null}
      <span className="inline-field">
        <label htmlFor="wf-top">top</label>
        <select id="wf-top" data-testid="waterfall-top" value={top} onChange={(e) => setTop(Number(e.target.value))}>
          {[3, 5, 8, 12, 20].map((n) => (
            <option key={n}>{n}</option>
          ))}
        </select>
      </span>
    </>
  );
  if (!c || !m || m.value_at_risk == null) {
    return (
      <Panel title="VaR waterfall" testId="panel-waterfall">
        <Empty>This report has no risk contributions; they come with every request the page makes, so recompute.</Empty>
      </Panel>
    );
  }
  // a tag group drilled into: its positions, adding up to the group's component VaR
  const drilled = by === "tag" && tagKey && drill && drill.key === tagKey && positions ? drill : null;
  const members = drilled && positions ? groupMembers(positions, drilled) : null;
  const groupRow = drilled
    ? c.by_tag.find(
        (r) => r.key === drilled.key && (r.value ?? null) === drilled.value && Math.abs(r.confidence - at) < 1e-9,
      )
    : undefined;
  const memberRows = members ? c.by_position.filter((r) => members.has(r.id)) : [];
  const items = members
    ? positionItems(memberRows, at)
    : by === "tag" && tagKey
      ? tagItems(c.by_tag, tagKey, at)
      : positionItems(c.by_position, at);
  const components = componentWaterfall(
    items,
    top,
    drilled ? `${groupLabel(drilled)} ${confidenceLabel(at)}` : `VaR ${confidenceLabel(at)}`,
  );
  const standalone =
    by === "tag" && tagKey
      ? tagItems(c.by_tag, tagKey, at, "standalone_var")
      : positionItems(c.by_position, at, "standalone_var");
  const hasStandalone = summary?.sum_standalone_var != null && standalone.every((s) => Number.isFinite(s.value));
  const lines: ContributionLine[] = members
    ? memberRows.filter((r) => Math.abs(r.confidence - at) < 1e-9).map((r) => ({ ...r, label: r.id }))
    : by === "tag" && tagKey
      ? c.by_tag
          .filter((r) => r.key === tagKey && Math.abs(r.confidence - at) < 1e-9)
          .map((r) => ({
            ...r,
            label: `${r.key}=${r.value ?? "(none)"}`,
            group: { key: r.key, value: r.value ?? null },
          }))
      : c.by_position.filter((r) => Math.abs(r.confidence - at) < 1e-9).map((r) => ({ ...r, label: r.id }));
  const crumbs = drilled ? (
    <p className="crumbs" data-testid="drill-crumbs">
      <button type="button" className="link" data-testid="drill-back" onClick={() => setDrill(null)}>
        All {drilled.key} groups
      </button>{" "}
      › {groupLabel(drilled)}: {lines.length} position{lines.length === 1 ? "" : "s"}
    </p>
  ) : null;
  return (
    <>
      <Panel
        title="VaR waterfall"
        testId="panel-waterfall"
        actions={
          <>
            {actions}
            <Export
              name={exportName(report, "var-waterfall", at)}
              rows={components.steps}
              columns={STEP_COLUMNS}
              testId="export-waterfall"
              what="waterfall's steps"
            />
          </>
        }
      >
        {crumbs}
        <h3>Component VaR, largest first</h3>
        <WaterfallChart bars={waterfallBars(components.steps)} fmt={fmt} testId="chart-waterfall" />
        {drilled ? (
          <p
            className="caption"
            data-testid="waterfall-total"
            data-value={components.total}
            data-group={groupRow?.component_var ?? ""}
          >
            The positions of {groupLabel(drilled)} add up to its component VaR {fmt.money(components.total)} (the
            group's own: {fmt.money(groupRow?.component_var)}).
          </p>
        ) : (
          <p className="caption" data-testid="waterfall-total" data-value={components.total}>
            Components add up to VaR {fmt.money(components.total)}; red adds risk, green (hedges) takes it away.
            {by === "tag" && positions ? " Choose a group in the table below to see its positions." : ""}
          </p>
        )}
        <h3>From standalone VaRs to VaR</h3>
        {drilled ? (
          <Empty>The diversification waterfall is the whole book's: go back to all {drilled.key} groups.</Empty>
        ) : hasStandalone ? (
          <>
            <WaterfallChart
              bars={waterfallBars(diversificationWaterfall(standalone, top, m.value_at_risk))}
              fmt={fmt}
              testId="chart-diversification"
            />
            <p className="caption" data-testid="diversification" data-value={summary?.diversification_benefit ?? ""}>
              Diversification benefit {fmt.money(summary?.diversification_benefit)}: the sum of standalone VaRs{" "}
              {fmt.money(summary?.sum_standalone_var)} less VaR {fmt.money(m.value_at_risk)}.
            </p>
          </>
        ) : (
          <Empty>Standalone VaRs need full contributions; recompute the report.</Empty>
        )}
      </Panel>
      <Panel
        title={`Risk contributions at ${confidenceLabel(at)}${
          drilled ? ` in ${groupLabel(drilled)}` : by === "tag" && tagKey ? ` by ${tagKey}` : ""
        }`}
        testId="panel-contributions"
        wide
        actions={
          <Export
            name={exportName(
              report,
              "contributions",
              drilled ? groupLabel(drilled) : by === "tag" && tagKey ? tagKey : "position",
              at,
            )}
            rows={sortedLines(lines)}
            columns={contributionColumns(m.value_at_risk)}
            testId="export-contributions"
            what="table"
          />
        }
      >
        <ContributionsTable
          rows={lines}
          total={m.value_at_risk}
          fmt={fmt}
          onDrill={by === "tag" && positions && !drilled ? setDrill : undefined}
        />
      </Panel>
    </>
  );
}

export function LimitsPanel({
  report,
  fmt,
  breaches,
}: {
  report: RiskReport;
  fmt: Formatters;
  breaches: readonly LimitUtilisation[];
}) {
  const rows = limitRows(report.limits);
  const pushed = new Set(breaches.map(limitKey));
  return (
    <Panel
      title="Limits"
      testId="panel-limits"
      actions={
        rows.length ? (
          <Export
            name={exportName(report, "limits")}
            rows={rows}
            columns={LIMIT_COLUMNS}
            testId="export-limits"
            what="table"
          />
        ) : null
      }
    >
      {rows.length === 0 ? (
        <Empty>
          This book has no limits. Set them with <code>PUT /api/v1/portfolios/{report.portfolio.id}/limits</code>{" "}
          (docs/api.md#limits).
        </Empty>
      ) : (
        <>
          <LimitBars rows={rows} fmt={fmt} />
          <div className="table-wrap">
            <table className="table" data-testid="limits-table">
              <thead>
                <tr>
                  <th scope="col">Limit</th>
                  <th scope="col">On</th>
                  <th scope="col" className="num">
                    Value
                  </th>
                  <th scope="col" className="num">
                    Limit
                  </th>
                  <th scope="col" className="num">
                    Used
                  </th>
                </tr>
              </thead>
              <tbody>
                {rows.map((r) => (
                  <tr
                    key={r.key}
                    className={`limit ${r.state}${pushed.has(r.key) ? " pushed" : ""}`}
                    data-state={r.state}
                  >
                    <td>{r.label}</td>
                    <td>{r.scope}</td>
                    <td className="num">{fmt.money(r.value)}</td>
                    <td className="num">{fmt.money(r.limit)}</td>
                    <td className="num" title={r.reason ?? undefined}>
                      {r.state === "breached" ? (
                        <strong>{fmt.percent(r.utilisation, 0)} breached</strong>
                      ) : r.reason ? (
                        "n/a"
                      ) : (
                        fmt.percent(r.utilisation, 0)
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </Panel>
  );
}

interface ContributionLine {
  label: string;
  /** The tag group of a group's line (drill-down). */
  group?: Group;
  component_var: number | null;
  component_es: number | null;
  marginal_var: number | null;
  incremental_var: number | null;
  standalone_var: number | null;
}

/** Largest component VaR first (by absolute value), as the table shows them. */
function sortedLines(rows: readonly ContributionLine[]): ContributionLine[] {
  return [...rows].sort((a, b) => Math.abs(b.component_var ?? 0) - Math.abs(a.component_var ?? 0));
}

function contributionColumns(total: number): Column<ContributionLine>[] {
  return [
    { name: "position_or_group", value: (r) => r.label },
    { name: "component_var", value: (r) => r.component_var },
    { name: "share_of_var", value: (r) => (r.component_var == null ? null : r.component_var / total) },
    { name: "component_es", value: (r) => r.component_es },
    { name: "marginal_var", value: (r) => r.marginal_var },
    { name: "incremental_var", value: (r) => r.incremental_var },
    { name: "standalone_var", value: (r) => r.standalone_var },
  ];
}

/** The waterfall's numbers: every position's (or tag group's) contributions, largest first. */
function ContributionsTable({
  rows,
  total,
  fmt,
  onDrill,
}: {
  rows: readonly ContributionLine[];
  total: number;
  fmt: Formatters;
  onDrill?: (group: Group) => void;
}) {
  const sorted = sortedLines(rows);
  return (
    <>
      <div className="table-wrap">
        <table className="table" data-testid="contributions-table">
          <thead>
            <tr>
              <th scope="col">{rows.length && "symbol" in rows[0] ? "Position" : "Group"}</th>
              <th scope="col" className="num">
                Component VaR
              </th>
              <th scope="col" className="num">
                Share
              </th>
              <th scope="col" className="num">
                Component ES
              </th>
              <th scope="col" className="num">
                Marginal VaR
              </th>
              <th scope="col" className="num">
                Incremental VaR
              </th>
              <th scope="col" className="num">
                Standalone VaR
              </th>
            </tr>
          </thead>
          <tbody>
            {sorted.map((r) => (
              <tr key={r.label} data-component={r.component_var ?? ""}>
                <th scope="row">
                  {onDrill && r.group ? (
                    <button
                      type="button"
                      className="link"
                      data-testid={`drill-${r.label}`}
                      title={`The positions of ${r.label}`}
                      onClick={() => r.group && onDrill(r.group)}
                    >
                      {r.label}
                    </button>
                  ) : (
                    r.label
                  )}
                </th>
                <td className="num">{fmt.signed(r.component_var)}</td>
                <td className="num">{r.component_var == null ? "–" : fmt.percent(r.component_var / total, 1)}</td>
                <td className="num">{fmt.signed(r.component_es)}</td>
                <td className="num">{r.marginal_var == null ? "–" : fmt.number(r.marginal_var, 4)}</td>
                <td className="num">{fmt.signed(r.incremental_var)}</td>
                <td className="num">{fmt.money(r.standalone_var)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <p className="caption">
        Share: component VaR over VaR. Marginal VaR: dVaR / d(exposure), per unit of exposure. Incremental VaR: VaR with
        the position less VaR without it.
      </p>
    </>
  );
}
