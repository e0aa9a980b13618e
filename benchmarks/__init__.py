"""optnas' reproducible benchmarks (not part of the installed package).

Run each from the repository root as a module, e.g. ``python -m benchmarks.search_quality nb201``;
every one writes ``benchmarks/results/<name>.{json,md}`` through :mod:`benchmarks._harness`, and
``python -m benchmarks.make_results`` assembles ``benchmarks/RESULTS.md`` from the JSON.
"""
