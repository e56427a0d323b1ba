// The book's risk report for the controls: requested over HTTP (as a job when the server says
// it is heavy, with its progress), then kept up to date by the live pushes of the same request.
import { useEffect, useRef, useState } from "react";
import type { ApiClient } from "../api/client";
import type { LiveConnection } from "../api/live";
import type { LimitUtilisation, RiskReport } from "../api/types";
import { reportMatches, riskOptions, riskRequest, type Controls } from "../lib/request";
import { useSubmit } from "./useSubmit";

export interface RiskPush {
  /** Pushed reports received for this request so far. */
  count: number;
  /** The limits the last pushed report breached. */
  breaches: LimitUtilisation[];
  /** The last error the server pushed for this book. */
  error: string | null;
}

export function useRisk(client: ApiClient, conn: LiveConnection, bookId: number | null, controls: Controls | null) {
  const { state, run, cancel, replace } = useSubmit<RiskReport>(client);
  const [push, setPush] = useState<RiskPush>({ count: 0, breaches: [], error: null });
  const wanted = useRef<{ bookId: number | null; controls: Controls | null; live: boolean }>({
    bookId: null,
    controls: null,
    live: false,
  });
  const key = bookId === null || controls === null ? null : JSON.stringify([bookId, controls]);

  useEffect(() => {
    if (bookId === null || controls === null) return;
    wanted.current = { bookId, controls, live: false };
    setPush({ count: 0, breaches: [], error: null });
    let stale = false;
    run("/api/v1/risk", riskRequest(bookId, controls)).then((answer) => {
      if (stale || !answer || !("data" in answer)) return;
      if (answer.viaJob) {
        conn.unwatch(bookId); // heavy: not recomputed on every tick
      } else {
        wanted.current.live = true;
        conn.watch(bookId, riskOptions(controls));
      }
    });
    return () => {
      stale = true;
      conn.unwatch(bookId);
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key, conn]);

  useEffect(
    () =>
      conn.onMessage((m) => {
        const w = wanted.current;
        if (!w.live || w.controls === null) return;
        if (m.type === "report" && m.portfolio_id === w.bookId && reportMatches(m.report, w.controls)) {
          replace(m.report);
          setPush((p) => ({ count: p.count + 1, breaches: m.breaches, error: null }));
        } else if (m.type === "error" && m.portfolio_id === w.bookId) {
          setPush((p) => ({ ...p, error: m.problem.detail }));
        }
      }),
    [conn, replace],
  );

  return { state, push, cancel };
}
