"""Checks the architecture invariants ARCHITECTURE.md states, from the source text.

Run from the repository root: `python3 .ci/invariants.py`. Exit status 1 names each breach.
"""
import os, re, subprocess, sys

sys.path.insert(0, os.path.dirname(__file__))
from use_cycles import analyse, cycles  # noqa: E402

CRATES = ["lean-bridge", "problems", "search", "heuristic", "causal-lm", "lean-env", "lean-setup", "lean-trace",
          "openai-api", "retrieval", "prover"]
failures = []


def code_of(path):
    """A Rust file's text without comments and without its inline `#[cfg(test)] mod tests`."""
    text = re.sub(r"//[^\n]*", "", open(path).read())
    return text.split("#[cfg(test)]\nmod tests")[0]


def rust_files(folder, skip=()):
    for d, _, names in os.walk(folder):
        for n in names:
            p = os.path.join(d, n)
            if n.endswith(".rs") and not any(s in p for s in skip):
                yield p


def dependencies(crate):
    """The crates `crate` depends on (normal dependencies, not dev-dependencies)."""
    text = open(os.path.join(crate, "Cargo.toml")).read()
    section = re.search(r"\n\[dependencies\]\n(.*?)(\n\[|\Z)", text, re.S).group(1)
    return set(re.findall(r"^([A-Za-z0-9_-]+)\s*[.=]", section, re.M))


# 1. No circles in the `use` graph between the files of a crate.
for crate in CRATES:
    files, edges = analyse(os.path.join(crate, "src"))
    for comp in cycles(files, edges):
        failures.append(f"{crate}: files use each other in a circle: {sorted(comp)}")

# 2. What each crate must never depend on.
never = {
    "search": {"lean-bridge", "problems", "causal-lm", "heuristic", "lean-env", "lsp-types"},
    "heuristic": {"lean-bridge", "causal-lm", "lean-env", "lsp-types"},
    "causal-lm": {"lean-bridge", "problems", "search", "clap", "anyhow", "lsp-types"},
    "problems": {"lean-bridge", "search", "causal-lm", "lsp-types"},
    "lean-bridge": {"search", "causal-lm", "heuristic", "lsp-types"},
    "lean-env": {"causal-lm", "heuristic", "clap", "anyhow", "lsp-types"},
    "lean-trace": {"search", "causal-lm", "heuristic", "openai-api", "clap", "anyhow", "lsp-types"},
    "lean-setup": {"search", "causal-lm", "heuristic", "lean-env", "openai-api", "clap", "anyhow", "lsp-types"},
    "openai-api": {"lean-bridge", "problems", "search", "causal-lm", "heuristic", "lean-env",
                   "clap", "anyhow", "lsp-types"},
    "retrieval": {"lean-bridge", "problems", "search", "causal-lm", "heuristic", "lean-env",
                  "openai-api", "prover", "clap", "anyhow", "lsp-types"},
}
for crate, banned in never.items():
    if not os.path.exists(os.path.join(crate, "Cargo.toml")):
        failures.append(f"crate {crate} is missing")
        continue
    for dep in sorted(dependencies(crate) & banned):
        failures.append(f"{crate} depends on {dep}")

# 3. search knows no Lean syntax (outside its tests and toy worlds).
for path in rust_files("search/src", skip=("search/src/tests/", "search/src/testing.rs")):
    for token in ["begin", "⊢", ":=", "lean"]:
        if re.search(r"\b" + re.escape(token) + r"\b" if token.isalpha() else re.escape(token),
                     code_of(path)):
            failures.append(f"{path} mentions Lean syntax `{token}`")

# 4. Only the language server knows LSP types.
for crate in CRATES:
    for path in rust_files(os.path.join(crate, "src")):
        if path.startswith("prover/src/lsp/"):
            continue
        if re.search(r"\blsp_(types|server)::", code_of(path)):
            failures.append(f"{path} uses LSP types outside the language server")

# 5. Only lean-bridge starts processes that could be Lean: elsewhere, only these programs.
allowed = {"prover/src/model_bench.rs": "python (PyTorch comparison)", "search/src/export.rs": "dot (Graphviz)",
           "prover/src/serve_bench.rs": "prover itself (prove processes sharing one server)",
           "prover/src/soak_bench.rs": "prover itself (the language server under a long run)",
           "lean-setup/src/tools.rs": "the installers (elan, git, leanproject, curl, tar)"}
for crate in CRATES:
    if crate == "lean-bridge":
        continue
    for path in rust_files(os.path.join(crate, "src")):
        if "Command::new" in code_of(path) and path not in allowed:
            failures.append(f"{path} starts a process (only lean-bridge starts Lean)")

# 5b. setup's programs are a closed list, and Lean is not on it (the bridge starts Lean, sandboxed).
tools = code_of("lean-setup/src/tools.rs")
programs = re.search(r"pub enum Program \{(.*?)\n\}", tools, re.S)
if not programs:
    failures.append("lean-setup/src/tools.rs: no `enum Program` listing the programs setup starts")
elif re.search(r"\bLean\b|\"lean\"", programs.group(1) + tools[tools.find("fn name"):tools.find("fn find")]):
    failures.append("lean-setup/src/tools.rs: setup may not start Lean itself")

# 6. No error decided by reading message text in the bridge's callers.
for crate in ["search", "lean-env", "prover"]:
    for path in rust_files(os.path.join(crate, "src")):
        if re.search(r"\.to_string\(\)\s*\.(starts_with|contains)\(", code_of(path)):
            failures.append(f"{path} decides on an error's message text")

# 7. The heuristic reads text it is handed: no process, no file, no index opened by itself.
for path in rust_files("heuristic/src"):
    for token in ["std::fs", "File::open", "Command::new", "DeclIndex::open", "TacticIndex::open"]:
        if token in code_of(path):
            failures.append(f"{path} uses `{token}` (the heuristic reads only text it is handed)")

for f in failures:
    print("invariant broken:", f)
print(f"architecture invariants: {len(failures)} broken")
sys.exit(1 if failures else 0)
