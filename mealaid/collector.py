"""Python's cycle collector, set for processes like ours.

The collector looks at the youngest objects every 700 allocations (net of those freed) and
at every object the process holds every 100 of those looks. A request, a cutoff's step or a
test allocates tens of thousands of short-lived objects (ORM rows, pydantic models, template
output), so the collector ran dozens of times each, and the occasional full collection walked
every module, table and route again. Measured on the API tests (230 tests, SQLite, one
process): 63-65 s of CPU as Python sets it, 52-54 s with this."""

import gc

# Young objects are looked at every 10,000 allocations; a full collection comes after 50 x 100
# young ones (Python's defaults: 700, 10, 10).
THRESHOLDS = (10_000, 50, 100)


def settle() -> None:
    """Once a process has imported what it runs: what exists now (modules, the ORM's tables,
    the app's routes) lives as long as the process, so the collector stops walking it, and it
    looks at young objects less often. A process's own objects are still collected."""
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)


def settle_for_serving() -> None:
    """Before a long-running process (web, worker, bot) starts serving: what it loaded at start
    (modules, the ORM's mappers, the bot's handlers: about 200,000 objects) would otherwise be
    walked again by every full collection, a pause of about 100 ms that everyone waiting at
    that moment feels. Start-up's garbage is collected first, so it is not kept frozen."""
    gc.collect()
    settle()
