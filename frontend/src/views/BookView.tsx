// The book: every position's latest price, day move and market value, updating with the
// pushed prices.
import type { Valuation } from "../api/types";
import { Export } from "../components/Export";
import { Empty, Failure, Loading, Panel } from "../components/Panel";
import { fieldColumns, fileName } from "../lib/export";
import { clockTime, type Formatters } from "../lib/format";

type PositionValue = Valuation["positions"][number];

const POSITION_COLUMNS = fieldColumns<PositionValue>([
  "id", "symbol", "instrument_type", "quantity", "currency", "factor", "factor_price",
  "factor_close", "change", "price", "market_value", "close_value", "day_pnl",
]); // prettier-ignore

export function BookView({
  valuation,
  loading,
  error,
  fmt,
}: {
  valuation: Valuation | null;
  loading: boolean;
  error: string | null;
  fmt: Formatters;
}) {
  return (
    <Panel
      title="Positions"
      testId="panel-book"
      wide
      actions={
        valuation?.positions.length ? (
          <Export
            name={fileName(valuation.name, "positions", valuation.prices_as_of ?? valuation.as_of)}
            rows={valuation.positions}
            columns={POSITION_COLUMNS}
            json={valuation}
            testId="export-book"
            what="positions"
          />
        ) : null
      }
    >
      {error && !valuation ? <Failure message={error} /> : null}
      {!valuation && loading ? <Loading>Valuing the book at the latest prices…</Loading> : null}
      {valuation ? (
        valuation.positions.length === 0 ? (
          <Empty>No position of this book can be priced.</Empty>
        ) : (
          <>
            <p className="caption" data-testid="book-as-of">
              {valuation.name}: {valuation.positions.length} positions valued at{" "}
              {valuation.prices_as_of
                ? `prices of ${clockTime(valuation.prices_as_of)}`
                : `the close of ${valuation.as_of}`}
              ; day move against the close of {valuation.as_of}.
            </p>
            <div className="table-wrap">
              <table className="table positions" data-testid="positions-table">
                <thead>
                  <tr>
                    <th scope="col">Position</th>
                    <th scope="col">Symbol</th>
                    <th scope="col">Type</th>
                    <th scope="col" className="num">
                      Quantity
                    </th>
                    <th scope="col" className="num">
                      Price
                    </th>
                    <th scope="col" className="num">
                      Underlying
                    </th>
                    <th scope="col" className="num">
                      Day move
                    </th>
                    <th scope="col" className="num">
                      Market value
                    </th>
                    <th scope="col" className="num">
                      Day P&amp;L
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {valuation.positions.map((p) => (
                    <tr key={p.id} data-testid={`position-${p.id}`}>
                      <th scope="row">{p.id}</th>
                      <td>{p.symbol}</td>
                      <td>{p.instrument_type}</td>
                      <td className="num">{fmt.number(p.quantity, 2)}</td>
                      <td className="num" data-testid="position-price" data-value={p.price}>
                        {fmt.price(p.price)}
                      </td>
                      <td className="num">{p.factor !== p.symbol ? `${p.factor} ${fmt.price(p.factor_price)}` : ""}</td>
                      <td className={`num ${tone(p.change)}`}>{fmt.move(p.change)}</td>
                      <td className="num" data-testid="position-value" data-value={p.market_value}>
                        {fmt.money(p.market_value)}
                      </td>
                      <td className={`num ${tone(p.day_pnl)}`}>{fmt.signed(p.day_pnl)}</td>
                    </tr>
                  ))}
                </tbody>
                <tfoot>
                  <tr>
                    <th scope="row" colSpan={7}>
                      Total
                    </th>
                    <td className="num" data-testid="book-value" data-value={valuation.market_value}>
                      {fmt.money(valuation.market_value)}
                    </td>
                    <td className={`num ${tone(valuation.day_pnl)}`}>{fmt.signed(valuation.day_pnl)}</td>
                  </tr>
                </tfoot>
              </table>
            </div>
            {valuation.excluded_positions.length ? (
              <div className="excluded" role="note">
                <h3>Left out ({valuation.excluded_positions.length})</h3>
                <ul>
                  {valuation.excluded_positions.map((e) => (
                    <li key={e.id}>
                      <strong>{e.id}</strong> {e.symbol}: {e.reason}
                    </li>
                  ))}
                </ul>
              </div>
            ) : null}
          </>
        )
      ) : null}
    </Panel>
  );
}

export function tone(x: number | null | undefined): string {
  if (x == null || x === 0 || !Number.isFinite(x)) return "";
  return x > 0 ? "gain" : "loss";
}
