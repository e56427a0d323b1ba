// The progress of a job the server runs in the background.
import type { Job } from "../api/types";

export function JobProgress({ job, what, onCancel }: { job: Job; what: string; onCancel?: () => void }) {
  const pct = Math.round(job.progress * 100);
  return (
    <div className="job" data-testid="job-progress" data-job={job.id} data-progress={job.progress}>
      <label htmlFor={`job-${job.id}`}>
        {what}: {job.state === "queued" ? "queued" : `${pct}%`}
      </label>
      <progress id={`job-${job.id}`} max={100} value={pct} aria-valuetext={`${pct}%`} />
      {onCancel ? (
        <button type="button" className="link" onClick={onCancel}>
          Cancel
        </button>
      ) : null}
    </div>
  );
}
