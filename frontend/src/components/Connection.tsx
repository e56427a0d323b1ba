// The live connection's state, and the time of the market snapshot on screen.
import type { LiveStatus } from "../api/live";
import { clockTime } from "../lib/format";

const TEXT = {
  connecting: "Connecting…",
  live: "Live",
  reconnecting: "Reconnecting",
  offline: "Offline",
} as const;

export function Connection({
  status,
  pricesAsOf,
  simulated = false,
}: {
  status: LiveStatus;
  pricesAsOf: string | null;
  /** the server's prices come from a simulated feed (the demo) */
  simulated?: boolean;
}) {
  const detail =
    status.state === "reconnecting"
      ? `lost the connection; trying again in ${status.retryIn}s`
      : status.state === "offline"
        ? `${status.reason ?? "no connection"}; reload the page to try again`
        : status.state === "live"
          ? "numbers update as the server pushes them"
          : "opening the live connection";
  return (
    <div className="connection" data-testid="connection" data-state={status.state} title={detail}>
      <span className={`dot ${status.state}`} aria-hidden="true" />
      <span role="status" aria-live="polite">
        {TEXT[status.state]}
        <span className="sr-only">: {detail}</span>
      </span>
      {simulated ? (
        <span
          className="simulated"
          data-testid="simulated-prices"
          title="the demo's prices: a simulated feed moving from the last close, not a market"
        >
          Simulated prices
        </span>
      ) : null}
      <span className="prices-as-of" data-testid="prices-as-of">
        {simulated ? "simulated " : ""}prices {pricesAsOf ? clockTime(pricesAsOf) : "at the last close"}
      </span>
    </div>
  );
}
