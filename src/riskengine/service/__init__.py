"""The risk service behind the API, free of any web framework: settings, market snapshots,
the job queue, live updates, limits and API keys. ``riskengine.api`` puts HTTP on top."""
