"""Running the examples in docs/ exactly as a reader would copy them."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

DOCS = Path(__file__).parents[2] / "docs"


def documented_example(page: str, name: str) -> Any:
    """Execute the first Python block of `docs/<page>` and return the object it defines as `name`."""
    path = DOCS / page
    code = re.search(r"```python\n(.*?)```", path.read_text(), re.DOTALL)
    assert code is not None, f"{page} has no Python example"
    namespace: dict[str, Any] = {"__name__": f"docs_{path.stem.replace('-', '_')}"}
    exec(compile(code.group(1), str(path), "exec"), namespace)
    return namespace[name]
