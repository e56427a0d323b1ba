"""The HTTP API: ``create_app(settings)`` (FastAPI). The only package that imports FastAPI or
pydantic; importing the package itself does not (the CLI imports ``riskengine.cli.serve``)."""

__all__ = ["create_app"]


def __getattr__(name: str):
    if name == "create_app":
        from riskengine.api.app import create_app

        return create_app
    raise AttributeError(name)
