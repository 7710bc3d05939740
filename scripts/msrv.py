#!/usr/bin/env python3
"""Fails when a dependency (any feature) declares a rust-version above ours.

Only one toolchain can be installed on the CI machine, so the MSRV is checked from the
manifests: every crate in the resolved graph with all features states the compiler it
needs, and none may need more than `rust-version` in Cargo.toml. Our own code is held to
it by clippy's `incompatible_msrv` lint.
"""
import json
import subprocess
import sys


def version(text):
    parts = [int(part) for part in text.split(".")]
    return tuple(parts + [0] * (3 - len(parts)))


meta = json.loads(
    subprocess.check_output(
        ["cargo", "metadata", "--format-version", "1", "--all-features"], text=True
    )
)
ours = next(p for p in meta["packages"] if p["name"] == "tower-bearer")
msrv = version(ours["rust_version"])
# What a user of the library builds: normal and build dependencies reachable from us in
# the resolved graph (dev-dependencies only run our own tests and benches).
nodes = {n["id"]: n for n in meta["resolve"]["nodes"]}
packages = {p["id"]: p for p in meta["packages"]}
seen, stack = set(), [ours["id"]]
while stack:
    node = stack.pop()
    if node in seen:
        continue
    seen.add(node)
    for dep in nodes[node]["deps"]:
        kinds = {k["kind"] for k in dep["dep_kinds"]}
        if kinds == {"dev"}:
            continue
        stack.append(dep["pkg"])
too_new = sorted(
    (packages[i]["name"], packages[i]["version"], packages[i]["rust_version"])
    for i in seen
    if packages[i].get("rust_version") and version(packages[i]["rust_version"]) > msrv
)
for name, ver, needs in too_new:
    print(f"{name} {ver} needs Rust {needs}, above rust-version {ours['rust_version']}")
print(f"{len(seen)} crates checked against rust-version {ours['rust_version']}: "
      f"{'FAIL' if too_new else 'ok'}")
sys.exit(1 if too_new else 0)
