"""Use graph between the files of each crate: an edge a -> b when a's code names a path into
b's module (`crate::m::…`, `super::…`, `self::…`, or a child module by name in a `use`).
A path ending at a crate-root re-export counts as an edge to lib.rs. Prints cycles."""
import os, re, sys
def modpath(src, f):
    rel = os.path.relpath(f, src)[:-3].split(os.sep)
    if rel[-1] in ('lib', 'main'): rel = rel[:-1]
    elif rel[-1] == 'mod': rel = rel[:-1]
    return tuple(rel)
def analyse(src):
    files = [os.path.join(d, n) for d, _, ns in os.walk(src) for n in ns if n.endswith('.rs') and not (n == 'main.rs' and os.path.exists(os.path.join(d, 'lib.rs')))]
    mods = {modpath(src, f): f for f in files}
    edges = {f: set() for f in files}
    for f in files:
        me = modpath(src, f)
        is_dir = os.path.basename(f) in ('mod.rs', 'lib.rs', 'main.rs')
        text = open(f).read()
        text = re.sub(r'//[^\n]*', '', text)
        # drop #[cfg(test)] mod tests { ... } bodies: crude, cut at '#[cfg(test)]\nmod tests'
        text = text.split('#[cfg(test)]\nmod tests')[0]
        if is_dir:
            for m in re.finditer(r'(?<![A-Za-z_0-9:])([a-z_][a-z_0-9]*)::', text):
                child = tuple(list(me) + [m.group(1)])
                if child in mods and mods[child] != f:
                    edges[f].add(mods[child])
        for m in re.finditer(r'(?<![A-Za-z_0-9:])((?:crate|super|self)(?:::[A-Za-z_][A-Za-z_0-9]*)*)(::\{)?', text):
            parts = m.group(1).split('::')
            if len(parts) == 1 and not m.group(2):
                continue  # `pub(crate)`, `self.x`: not a path
            base = list(me) if is_dir else list(me[:-1]) if parts[0] != 'self' else list(me)
            if parts[0] == 'crate': cur = []
            elif parts[0] == 'self': cur = list(me)
            else:
                cur = list(me[:-1]) if is_dir else list(me[:-2]) if len(me) >= 1 else []
                if not is_dir: cur = list(me[:-1])
                if is_dir: cur = list(me[:-1])
                if not is_dir: cur = list(me[:-1])  # super of a file module = its parent dir module
                k = 1
                while k < len(parts) and parts[k] == 'super':
                    cur = cur[:-1]; k += 1
                parts = ['super'] + parts[k:]
            rest = parts[1:]
            target = tuple(cur)
            for p in rest:
                if tuple(list(target) + [p]) in mods: target = tuple(list(target) + [p])
                else: break
            if target in mods and mods[target] != f:
                # a file naming its own ancestor directory module for an item: edge
                edges[f].add(mods[target])
    return files, edges
def cycles(files, edges):
    index = {}; low = {}; st = []; on = set(); out = []; c = [0]
    sys.setrecursionlimit(10000)
    def sc(v):
        index[v] = low[v] = c[0]; c[0] += 1; st.append(v); on.add(v)
        for w in edges[v]:
            if w not in index: sc(w); low[v] = min(low[v], low[w])
            elif w in on: low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = st.pop(); on.discard(w); comp.append(w)
                if w == v: break
            if len(comp) > 1: out.append(comp)
    for v in files:
        if v not in index: sc(v)
    return out
total = 0
for src in sys.argv[1:]:
    files, edges = analyse(src)
    cs = cycles(files, edges)
    n = sum(len(e) for e in edges.values())
    print(f"{src}: {len(files)} files, {n} edges, {len(cs)} cycle(s)")
    for comp in cs: print("   cycle:", sorted(os.path.relpath(x, src) for x in comp))
    total += len(cs)
sys.exit(1 if total else 0)
