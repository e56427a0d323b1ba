"""Write the API's OpenAPI schema to a file (the page's types are generated from it).

``python frontend/scripts/openapi.py frontend/openapi.json`` rewrites the file only when the
schema changed, so make rebuilds the page only then. Building the app connects to nothing.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main(path: str) -> int:
    from riskengine.api import create_app
    from riskengine.service.settings import Settings

    schema = create_app(Settings(auth=True)).openapi()
    text = json.dumps(schema, indent=1, sort_keys=True) + "\n"
    out = Path(path)
    if out.exists() and out.read_text() == text:
        return 0
    out.write_text(text)
    print(f"{out}: OpenAPI schema written")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
