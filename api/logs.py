"""The web server's logs. Query strings never reach them: an elder search carries phone digits
or a name, and a rider's link carries the key that opens the route (personal data and a
credential); the path is enough to follow what happened."""

import copy
import logging
from typing import Any

from uvicorn.config import LOGGING_CONFIG


class WithoutQueryStrings(logging.Filter):
    """Cuts the query string off the path in uvicorn's access-log records."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        # uvicorn's access record: (client address, method, path with query, HTTP version, status)
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str):
            record.args = (args[0], args[1], args[2].split("?", 1)[0], *args[3:])
        return True


def server_log_config() -> dict[str, Any]:
    """uvicorn's own logging set-up, with the access log passed through the filter above."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["without_query_strings"] = {"()": WithoutQueryStrings}
    config["handlers"]["access"]["filters"] = ["without_query_strings"]
    return config
