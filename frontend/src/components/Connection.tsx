// The live connection's state, and the time of the market snapshot on screen.
import type { LiveStatus } from "../api/live";
import { clockTime } from "../lib/format";

const TEXT = {
  connecting: "Connecting…",
  live: "Live",
  reconnecting: "Reconnecting",
  offline: "Offline",
} as const;

export function Connection({ status, pricesAsOf }: { status: LiveStatus; pricesAsOf: string | null }) {
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
      <span className="prices-as-of" data-testid="prices-as-of">
        prices {pricesAsOf ? clockTime(pricesAsOf) : "at the last close"}
      </span>
    </div>
  );
}
