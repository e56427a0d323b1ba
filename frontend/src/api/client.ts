// The HTTP client of the page: JSON in and out, problem details as errors, jobs followed to
// their result. The API key (when the server wants one) is kept for the browser session.
import type { Job, Problem } from "./types";

export class ApiError extends Error {
  readonly status: number;
  readonly problem: Problem | null;

  constructor(status: number, message: string, problem: Problem | null = null) {
    super(message);
    this.status = status;
    this.problem = problem;
  }

  get unauthorized(): boolean {
    return this.status === 401;
  }
}

const KEY_STORAGE = "riskengine.apiKey";

export function storedKey(): string | null {
  try {
    return sessionStorage.getItem(KEY_STORAGE);
  } catch {
    return null;
  }
}

export function storeKey(key: string | null): void {
  try {
    if (key) sessionStorage.setItem(KEY_STORAGE, key);
    else sessionStorage.removeItem(KEY_STORAGE);
  } catch {
    // storage refused (private mode): the key lives as long as the page
  }
}

async function failure(r: Response): Promise<ApiError> {
  let problem: Problem | null = null;
  try {
    problem = (await r.json()) as Problem;
  } catch {
    // not JSON: a proxy's page, say
  }
  const detail = problem?.detail ?? `${r.status} ${r.statusText}`;
  return new ApiError(r.status, detail, problem);
}

export interface RequestOptions {
  signal?: AbortSignal;
  headers?: Record<string, string>;
}

/** A job's progress, as the server reports it while the job runs. */
export type JobProgress = (job: Job) => void;

export interface Submitted<T> {
  result: T;
  /** The job that computed it (null: answered directly). */
  job: Job | null;
}

export const POLL_MS = 250;

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(t);
      reject(new DOMException("aborted", "AbortError"));
    });
  });

export class ApiClient {
  constructor(
    private readonly key: () => string | null = storedKey,
    private readonly base = "",
  ) {}

  private headers(extra?: Record<string, string>): Record<string, string> {
    const key = this.key();
    return { ...(key ? { "X-API-Key": key } : {}), ...extra };
  }

  async request(method: string, path: string, body?: unknown, options: RequestOptions = {}): Promise<Response> {
    const init: RequestInit = { method, signal: options.signal, headers: this.headers(options.headers) };
    if (body instanceof FormData) init.body = body;
    else if (body !== undefined) {
      init.body = JSON.stringify(body);
      (init.headers as Record<string, string>)["content-type"] = "application/json";
    }
    const r = await fetch(this.base + path, init);
    if (!r.ok) throw await failure(r);
    return r;
  }

  async get<T>(path: string, options?: RequestOptions): Promise<T> {
    return (await (await this.request("GET", path, undefined, options)).json()) as T;
  }

  /** GET every page of a list that pages with a ``Link: <...>; rel="next"`` header, up to
   * ``max`` items; ``truncated`` when more were left on the server. */
  async getAll<T>(path: string, max: number, options?: RequestOptions): Promise<{ items: T[]; truncated: boolean }> {
    const items: T[] = [];
    let next: string | null = path;
    while (next !== null && items.length < max) {
      const r = await this.request("GET", next, undefined, options);
      items.push(...((await r.json()) as T[]));
      next = nextLink(r.headers.get("link"));
    }
    return { items: items.slice(0, max), truncated: next !== null || items.length > max };
  }

  async post<T>(path: string, body: unknown, options?: RequestOptions): Promise<T> {
    return (await (await this.request("POST", path, body, options)).json()) as T;
  }

  async delete(path: string): Promise<void> {
    await this.request("DELETE", path);
  }

  /** POST a risk, stress or backtest request; a 202 is a job, followed until it ends (its
   * progress reported on the way) and its result fetched. */
  async submit<T>(
    path: string,
    body: unknown,
    onProgress?: JobProgress,
    options: RequestOptions = {},
  ): Promise<Submitted<T>> {
    const r = await this.request("POST", path, body, options);
    if (r.status !== 202) return { result: (await r.json()) as T, job: null };
    let job = (await r.json()) as Job;
    onProgress?.(job);
    while (job.state === "queued" || job.state === "running") {
      await sleep(POLL_MS, options.signal);
      job = await this.get<Job>(`/api/v1/jobs/${job.id}`, options);
      onProgress?.(job);
    }
    if (job.state !== "succeeded") {
      throw new ApiError(409, job.error ?? `the job was ${job.state}; run it again.`);
    }
    return { result: await this.get<T>(`/api/v1/jobs/${job.id}/result`, options), job };
  }

  /** The WebSocket URL of the live updates (the key as a query parameter: browsers cannot set
   * a WebSocket's headers). */
  liveUrl(): string {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const key = this.key();
    const query = key ? `?api_key=${encodeURIComponent(key)}` : "";
    return `${scheme}://${location.host}${this.base}/api/v1/live${query}`;
  }
}

/** The URL of a ``Link`` header's ``rel="next"`` entry, or null. */
export function nextLink(header: string | null): string | null {
  if (!header) return null;
  for (const part of header.split(",")) {
    const m = /^\s*<([^>]*)>\s*;\s*rel="?next"?\s*$/.exec(part);
    if (m) return m[1];
  }
  return null;
}

export function isAbort(e: unknown): boolean {
  return e instanceof DOMException && e.name === "AbortError";
}

export function messageOf(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}
