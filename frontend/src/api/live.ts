// The live WebSocket: one connection, reconnecting with backoff; watches are sent again after
// a reconnect. Listeners get every message and every change of the connection's state.
import type { LiveCommand, LiveMessage, RiskOptions } from "./types";

export type LiveState = "connecting" | "live" | "reconnecting" | "offline";

export interface LiveStatus {
  state: LiveState;
  /** Seconds until the next attempt while reconnecting. */
  retryIn: number | null;
  /** Why the last connection ended, when it did. */
  reason: string | null;
}

type Listener = (m: LiveMessage) => void;
type StatusListener = (s: LiveStatus) => void;

const BACKOFF_S = [1, 2, 5, 10, 20];

export class LiveConnection {
  private ws: WebSocket | null = null;
  private attempts = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private closed = false;
  private readonly watches = new Map<number, RiskOptions>();
  private readonly listeners = new Set<Listener>();
  private readonly statusListeners = new Set<StatusListener>();
  status: LiveStatus = { state: "connecting", retryIn: null, reason: null };

  constructor(private readonly url: () => string) {}

  start(): void {
    this.closed = false;
    this.open();
  }

  stop(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.ws?.close();
    this.ws = null;
  }

  onMessage(fn: Listener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  onStatus(fn: StatusListener): () => void {
    this.statusListeners.add(fn);
    fn(this.status);
    return () => this.statusListeners.delete(fn);
  }

  watch(portfolioId: number, request: RiskOptions): void {
    this.watches.set(portfolioId, request);
    this.send({ action: "watch", portfolio_id: portfolioId, request });
  }

  unwatch(portfolioId: number): void {
    if (!this.watches.delete(portfolioId)) return;
    this.send({ action: "unwatch", portfolio_id: portfolioId });
  }

  private send(cmd: LiveCommand): void {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(cmd));
  }

  private setStatus(s: LiveStatus): void {
    this.status = s;
    for (const fn of this.statusListeners) fn(s);
  }

  private open(): void {
    const ws = new WebSocket(this.url());
    this.ws = ws;
    ws.onopen = () => {
      this.attempts = 0;
      this.setStatus({ state: "live", retryIn: null, reason: null });
      for (const [id, request] of this.watches) this.send({ action: "watch", portfolio_id: id, request });
    };
    ws.onmessage = (event) => {
      let msg: LiveMessage;
      try {
        msg = JSON.parse(String(event.data)) as LiveMessage;
      } catch {
        return;
      }
      for (const fn of this.listeners) fn(msg);
    };
    ws.onclose = (event) => {
      if (this.ws !== ws || this.closed) return;
      this.ws = null;
      const reason = event.code === 4401 ? "the API key was refused" : event.reason || null;
      if (event.code === 4401) {
        this.setStatus({ state: "offline", retryIn: null, reason });
        return;
      }
      const wait = BACKOFF_S[Math.min(this.attempts, BACKOFF_S.length - 1)];
      this.attempts += 1;
      this.setStatus({ state: "reconnecting", retryIn: wait, reason });
      this.timer = setTimeout(() => this.open(), wait * 1000);
    };
  }
}
