// GET a resource when its path (or a refresh token) changes; keep the last good answer while
// a newer one loads.
import { useEffect, useState } from "react";
import { type ApiClient, isAbort, messageOf } from "../api/client";

export interface Fetched<T> {
  data: T | null;
  loading: boolean;
  error: string | null;
  unauthorized: boolean;
}

export function useFetch<T>(client: ApiClient, path: string | null, refresh: unknown = 0): Fetched<T> {
  const [state, setState] = useState<Fetched<T>>({
    data: null,
    loading: path !== null,
    error: null,
    unauthorized: false,
  });
  const [prevPath, setPrevPath] = useState(path);
  if (prevPath !== path) {
    setPrevPath(path);
    setState({ data: null, loading: path !== null, error: null, unauthorized: false });
  }
  useEffect(() => {
    if (path === null) return;
    const ctl = new AbortController();
    setState((s) => ({ ...s, loading: true }));
    client
      .get<T>(path, { signal: ctl.signal })
      .then((data) => setState({ data, loading: false, error: null, unauthorized: false }))
      .catch((e) => {
        if (isAbort(e)) return;
        const unauthorized = (e as { status?: number }).status === 401;
        setState((s) => ({ ...s, loading: false, error: messageOf(e), unauthorized }));
      });
    return () => ctl.abort();
  }, [client, path, refresh]);
  return state;
}
