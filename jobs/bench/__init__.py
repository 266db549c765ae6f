"""Benchmarks: `python -m jobs.bench [--only NAME ...] [--images N]` (what `make bench` runs).

Each section is a module here with a function

    def bench_rows(settings: Settings) -> tuple[list[Row], dict[str, Any]]:

that measures one part of the product and returns its table rows, each (what, measured, goal)
as display text with "" for no goal, and every number it took (JSON-serialisable; written under
the section's name to data/benchmarks.json). `settings` point at a throwaway bench database
that the runner creates and drops; a section that needs more (another database, a server)
makes and removes it itself. Sections run in the order of `SECTIONS` in `__main__.py`: adding
one is one line there, `"name": "module",`. The training section alone also takes `images`
(the --images option) and leaves a model active that the prediction section uses.
Most modules also run alone, e.g. `python -m jobs.bench.api --help`.
"""

Row = tuple[str, str, str]  # what, measured, goal
