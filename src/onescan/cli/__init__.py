"""The ``onescan`` command line: thin wrappers over the library.

Each command lives in its own module and registers itself on :data:`app`.
Errors: :class:`onescan.contract._errors.InputError` → every problem on stderr, exit 2;
usage errors → exit 2 (typer/click); anything else → exit 1 with a one-line
message (the traceback only with ``ONESCAN_DEBUG=1``).
"""

from __future__ import annotations

from ._app import app, main  # noqa: F401

# Command modules register themselves on `app` when imported (one line each).
from . import validate  # noqa: F401,E402
from . import dose  # noqa: F401,E402
from . import schedule  # noqa: F401,E402
from . import reproduce  # noqa: F401,E402
from . import train  # noqa: F401,E402
from . import predict  # noqa: F401,E402
from . import simulate  # noqa: F401,E402
