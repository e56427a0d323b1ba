// The page's live connection and the latest prices it pushed.
import { useEffect, useMemo, useState } from "react";
import type { ApiClient } from "../api/client";
import { LiveConnection, type LiveStatus } from "../api/live";

export interface LivePrices {
  as_of: string;
  prices: Record<string, number>;
  /** How many price pushes arrived so far. */
  seq: number;
  /** The prices come from a simulated feed (the demo). */
  simulated: boolean;
}

export function useLive(client: ApiClient, key: string | null) {
  const conn = useMemo(() => new LiveConnection(() => client.liveUrl()), [client, key]);
  const [status, setStatus] = useState<LiveStatus>(conn.status);
  const [prices, setPrices] = useState<LivePrices | null>(null);
  const [simulated, setSimulated] = useState(false);

  useEffect(() => {
    const offStatus = conn.onStatus(setStatus);
    const offMessage = conn.onMessage((m) => {
      if (m.type === "hello") setSimulated(Boolean(m.simulated_prices));
      if (m.type === "prices")
        setPrices((p) => ({ as_of: m.as_of, prices: m.prices, seq: (p?.seq ?? 0) + 1, simulated: m.simulated }));
    });
    conn.start();
    return () => {
      offStatus();
      offMessage();
      conn.stop();
    };
  }, [conn]);

  return { conn, status, prices, simulated: simulated || Boolean(prices?.simulated) };
}
