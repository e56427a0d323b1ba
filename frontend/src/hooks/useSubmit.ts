// Run one request at a time (a newer one aborts the older), following a job to its result.
import { useCallback, useEffect, useRef, useState } from "react";
import { ApiClient, isAbort, messageOf } from "../api/client";
import type { Job } from "../api/types";

export interface RunState<T> {
  status: "idle" | "loading" | "done" | "error";
  data: T | null;
  error: string | null;
  /** The running job (null when none runs, or the request was answered directly). */
  job: Job | null;
  /** The last answer came from a job. */
  viaJob: boolean;
  unauthorized: boolean;
}

/** How a run ended: its answer, or the error; null when a newer run (or cancel) aborted it. */
export type Outcome<T> = { data: T; viaJob: boolean } | { error: string } | null;

const IDLE = { status: "idle", data: null, error: null, job: null, viaJob: false, unauthorized: false } as const;

export function useSubmit<T>(client: ApiClient) {
  const [state, setState] = useState<RunState<T>>(IDLE);
  const current = useRef<AbortController | null>(null);
  const jobRef = useRef<Job | null>(null);

  const run = useCallback(
    async (path: string, body: unknown): Promise<Outcome<T>> => {
      current.current?.abort();
      const ctl = new AbortController();
      current.current = ctl;
      setState((s) => ({ ...s, status: "loading", error: null, job: null }));
      try {
        const { result, job } = await client.submit<T>(
          path,
          body,
          (j) => {
            jobRef.current = j;
            if (!ctl.signal.aborted) setState((s) => ({ ...s, job: j }));
          },
          { signal: ctl.signal },
        );
        if (ctl.signal.aborted) return null;
        jobRef.current = null;
        setState({ status: "done", data: result, error: null, job: null, viaJob: job !== null, unauthorized: false });
        return { data: result, viaJob: job !== null };
      } catch (e) {
        if (isAbort(e) || ctl.signal.aborted) return null;
        jobRef.current = null;
        const unauthorized = (e as { status?: number }).status === 401;
        setState((s) => ({ ...s, status: "error", error: messageOf(e), job: null, unauthorized }));
        return { error: messageOf(e) };
      }
    },
    [client],
  );

  /** Stop following the request; a running job is cancelled on the server too. */
  const cancel = useCallback(() => {
    current.current?.abort();
    const job = jobRef.current;
    jobRef.current = null;
    if (job && (job.state === "queued" || job.state === "running")) {
      client.delete(`/api/v1/jobs/${job.id}`).catch(() => undefined);
    }
    setState((s) => ({ ...s, status: s.data ? "done" : "idle", job: null, error: job ? "cancelled" : s.error }));
  }, [client]);

  /** Show ``data`` as the latest answer (a pushed report, say). */
  const replace = useCallback((data: T) => {
    setState((s) => ({ ...s, status: "done", data, error: null }));
  }, []);

  useEffect(() => () => current.current?.abort(), []);

  return { state, run, cancel, replace };
}
