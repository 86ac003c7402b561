"""The `use` graph between the files of a crate, and its circles.

An edge a -> b when a's code names a path into b's module: `crate::m::…`, `super::…`,
`self::…`, `crate::{…}`, or (in a module's own file) a child module by name. Comments and
inline `#[cfg(test)] mod tests` are left out. `python3 .ci/use_cycles.py CRATE/src…` prints
each folder's files, edges and circles; exit status 1 when there is a circle.
"""
import os
import re
import sys


def modpath(src, f):
    rel = os.path.relpath(f, src)[:-3].split(os.sep)
    if rel[-1] in ("lib", "main", "mod"):
        rel = rel[:-1]
    return tuple(rel)


def analyse(src):
    files = [
        os.path.join(d, n)
        for d, _, names in os.walk(src)
        for n in names
        # A binary's main.rs beside a lib.rs is a crate of its own.
        if n.endswith(".rs") and not (n == "main.rs" and os.path.exists(os.path.join(d, "lib.rs")))
    ]
    mods = {modpath(src, f): f for f in files}
    edges = {f: set() for f in files}
    for f in files:
        me = modpath(src, f)
        owns_folder = os.path.basename(f) in ("mod.rs", "lib.rs", "main.rs")
        text = re.sub(r"//[^\n]*", "", open(f).read())
        text = text.split("#[cfg(test)]\nmod tests")[0]
        if owns_folder:
            for m in re.finditer(r"(?<![A-Za-z_0-9:])([a-z_][a-z_0-9]*)::", text):
                child = me + (m.group(1),)
                if child in mods and mods[child] != f:
                    edges[f].add(mods[child])
        for m in re.finditer(
            r"(?<![A-Za-z_0-9:])((?:crate|super|self)(?:::[A-Za-z_][A-Za-z_0-9]*)*)(::\{)?", text
        ):
            parts = m.group(1).split("::")
            if len(parts) == 1 and not m.group(2):
                continue  # `pub(crate)`: not a path
            # The module a path starts from.
            if parts[0] == "crate":
                cur, k = [], 1
            elif parts[0] == "self":
                cur, k = list(me), 1
            else:
                cur, k = list(me[:-1]), 1
                while k < len(parts) and parts[k] == "super":
                    cur, k = cur[:-1], k + 1
            heads = [parts[k:]]
            if m.group(2):
                # `path::{a::x, b, …}`: each item continues the path.
                inner = text[m.end():text.find("}", m.end())]
                heads = [parts[k:] + item.strip().split("::") for item in inner.split(",")]
            for rest in heads:
                target = tuple(cur)
                for p in rest:
                    if target + (p,) in mods:
                        target = target + (p,)
                    else:
                        break
                if target in mods and mods[target] != f:
                    edges[f].add(mods[target])
    return files, edges


def cycles(files, edges):
    """Strongly connected components of more than one file (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]
    sys.setrecursionlimit(10000)

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(comp)

    for v in files:
        if v not in index:
            visit(v)
    return out


def main():
    total = 0
    for src in sys.argv[1:]:
        files, edges = analyse(src)
        found = cycles(files, edges)
        n = sum(len(e) for e in edges.values())
        print(f"{src}: {len(files)} files, {n} edges, {len(found)} circle(s)")
        for comp in found:
            print("   circle:", sorted(os.path.relpath(x, src) for x in comp))
        total += len(found)
    sys.exit(1 if total else 0)


if __name__ == "__main__":
    main()
