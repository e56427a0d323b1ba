// A titled section of the page, and the messages a section shows instead of data.
import type { ReactNode } from "react";

export function Panel({
  title,
  testId,
  actions,
  children,
  wide,
}: {
  title: string;
  testId: string;
  actions?: ReactNode;
  children: ReactNode;
  wide?: boolean;
}) {
  const id = `${testId}-title`;
  return (
    <section className={wide ? "panel wide" : "panel"} data-testid={testId} aria-labelledby={id}>
      <header className="panel-head">
        <h2 id={id}>{title}</h2>
        {actions ? <div className="panel-actions">{actions}</div> : null}
      </header>
      {children}
    </section>
  );
}

/** Nothing to show yet: what it is waiting for, and what to do. */
export function Empty({ children }: { children: ReactNode }) {
  return (
    <p className="state empty" data-testid="state-empty">
      {children}
    </p>
  );
}

export function Loading({ children = "Loading…" }: { children?: ReactNode }) {
  return (
    <p className="state loading" role="status" data-testid="state-loading">
      <span className="spinner" aria-hidden="true" />
      {children}
    </p>
  );
}

/** A failure: the server's own words (its problem detail says the way out), and a retry. */
export function Failure({ message, onRetry }: { message: string; onRetry?: () => void }) {
  return (
    <div className="state error" role="alert" data-testid="state-error">
      <p>{message}</p>
      {onRetry ? (
        <button type="button" onClick={onRetry}>
          Try again
        </button>
      ) : null}
    </div>
  );
}
