#!/usr/bin/env python3
"""Markdown table of criterion medians for the layer bench (and bench-peers if run).

    python3 scripts/bench_table.py   # after `cargo bench --bench layer --features cache`

Overheads are median(row) - median(bare) from the same run; the paired, interleaved
figures come from `BENCH_PAIRED=1` (see BENCHMARKS.md).
"""
import json
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent.parent


def medians(criterion_dir):
    out = {}
    for est in sorted(criterion_dir.glob("*/new/estimates.json")):
        data = json.loads(est.read_text())
        out[est.parent.parent.name] = data["median"]["point_estimate"]
    return out


def fmt(ns):
    return f"{ns / 1000:.2f} µs" if ns >= 1000 else f"{ns:.0f} ns"


def table(rows, bare_of):
    print("| row | median | over its bare |")
    print("| --- | ---: | ---: |")
    for name, ns in rows.items():
        bare = bare_of(name)
        over = fmt(ns - rows[bare]) if bare in rows and bare != name else ""
        print(f"| `{name.replace('_', '/', 1)}` | {fmt(ns)} | {over} |")


main = medians(ROOT / "target" / "criterion")
table(main, lambda n: "axum_bare_router" if n.startswith("axum") else "hs256_bare")
peers = medians(ROOT / "bench-peers" / "target" / "criterion")
if peers:
    print()
    table(peers, lambda n: n.split("_", 1)[0] + "_bare_router")
