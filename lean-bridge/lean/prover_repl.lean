/-
The prover's Lean 3 REPL.

A line-oriented JSON protocol on stdin/stdout: one request per line, one response per line,
tagged with the request's `id`. Response lines start with `#PROVER_REPL# ` so that the Rust side
can tell them apart from anything else Lean prints on stdout (messages of context commands,
`trace` output of tactics).

Depends only on Lean 3 core, so it runs in a bare Lean install and inside any leanpkg project.
The bridge compiles this file once per Lean binary and starts each worker with a small
launch file: `import <worker imports> prover_repl` and `meta def main := prover_repl.main`.

Requests (`cmd`):
* `start`   {context, binders, goal}        → {proof, state, goals, num_goals} or error
* `run`     {state, tactic, heartbeats}      → {state, goals, num_goals} or error
* `drop`    {states, proofs}                 → {dropped}
* `verify`  {context, binders, goal, proof, heartbeats} → {verified, errors, axioms}
* `check`   {context, binders, goal}         → ok, or error with position
* `declared` {names}                         → {declared: [bool]}
* `resolve` {theorem, names}                 → {resolved: [{name, olean, line, column} | null]}
* `declarations` {offset, limit}             → {total, declarations: [{name, kind, type, olean, line, column}]}
* `stats`   {}                               → {states, proofs, contexts}

An error is `{ok: false, error, pos?}`, plus `error_kind` where the bridge acts on what went
wrong (`unknown_state`, `statement`: see `error_body_of_kind`). The Rust side's types for all
of this are in `src/protocol.rs`.

Untrusted text is screened by the Rust side before it gets here; this file only makes sure that
a tactic text is exactly one tactic block (no trailing input) and that every proof is checked.
-/
import system.io

namespace prover_repl
open tactic native

/-! ### Requests and responses as JSON -/

meta def lookup (k : string) : list (string × json) → option json
| [] := none
| ((k', v) :: rest) := if k = k' then some v else lookup rest

meta def field (j : json) (k : string) : option json :=
match j with
| json.object kvs := lookup k kvs
| _ := none
end

/-- Whether a string is empty or only whitespace. -/
meta def blank (s : string) : bool := s.to_list.all (λ c, to_bool c.is_whitespace)

meta def field_str (j : json) (k : string) : string :=
match field j k with
| some (json.of_string s) := s
| _ := ""
end

meta def field_nat (j : json) (k : string) : ℕ :=
match field j k with
| some (json.of_int i) := i.to_nat
| _ := 0
end

meta def field_strs (j : json) (k : string) : list string :=
match field j k with
| some (json.array xs) := xs.filter_map (λ x, match x with json.of_string s := some s | _ := none end)
| _ := []
end

meta def field_nats (j : json) (k : string) : list ℕ :=
match field j k with
| some (json.array xs) := xs.filter_map (λ x, match x with json.of_int i := some i.to_nat | _ := none end)
| _ := []
end

meta def jnat (n : ℕ) : json := json.of_int (int.of_nat n)

/-- An error response body. `pos` is the (line, column) Lean reported, relative to the text
that was parsed (see each request for which text that is). -/
meta def error_body (msg : string) (p : option pos) : list (string × json) :=
[("ok", json.of_bool ff), ("error", json.of_string msg)] ++
match p with
| some ⟨l, c⟩ := [("pos", json.array [jnat l, jnat c])]
| none := []
end

/-- An error response body that also names the failure in `error_kind`, for the bridge to act
on (the message is for people): `unknown_state` (a `run` or `focus` on a state this process
does not hold), `statement` (the statement of a `verify` or `file_theorem` did not elaborate). -/
meta def error_body_of_kind (kind msg : string) (p : option pos) : list (string × json) :=
error_body msg p ++ [("error_kind", json.of_string kind)]

/-! ### Running tactics without letting their failures escape -/

/-- What a failed tactic said, with the position it reported. -/
meta structure failure :=
(msg : string)
(pos : option pos)

meta def render (msg : option (unit → format)) : string :=
match msg with
| some f := (f ()).to_string
| none := "tactic failed"
end

/-- Runs `t`; on failure returns what it said and leaves the state as it was. -/
meta def catching {α : Type} (t : tactic α) : tactic (sum failure α) :=
λ s, match t s with
| interaction_monad.result.success a s' := interaction_monad.result.success (sum.inr a) s'
| interaction_monad.result.exception msg p _ :=
    interaction_monad.result.success (sum.inl ⟨render msg, p⟩) s
end

/-- Runs a parser on the whole of `input`: trailing text (after whitespace) is an error, so a
tactic text can never smuggle in a second command. -/
meta def parse_all {α : Type} (p : lean.parser α) (input : string) : tactic α := do
  (a, rest) ← lean.parser.run (lean.parser.with_input p input),
  if blank rest then return a
  else fail ("unexpected text after the end: " ++ (rest.to_list.take 60).as_string)

/-- Parses a term that may mention the hypotheses of the main goal: Lean 3 resolves identifiers
while parsing, so the local context has to be declared to the parser first. -/
meta def parse_term_with_locals (input : string) : tactic pexpr := do
  lctx ← local_context,
  (a, rest) ← lean.parser.run (do
    lctx.mmap' lean.parser.add_local,
    lean.parser.with_input (lean.parser.pexpr 0) input),
  if blank rest then return a
  else fail ("unexpected text after the end: " ++ (rest.to_list.take 60).as_string)

/-! ### Contexts: `open` and `open_locale` lines run as commands -/

/-- Runs commands (`open nat`, `open_locale big_operators`, …) in the current environment and
returns the environment they leave. A fresh command parser first processes an (empty) import
block, so a harmless `prelude` goes first. -/
meta def run_commands (cmds : list string) : tactic environment :=
lean.parser.run $ do
  _ ← lean.parser.with_input lean.parser.command_like "prelude",
  cmds.mmap' (λ c, do
    (_, rest) ← lean.parser.with_input lean.parser.command_like c,
    if blank rest then return ()
    else lean.parser.of_tactic (fail ("one command per context line: " ++ c))),
  lean.parser.get_env

/-! ### Statements -/

/-- Number of leading `Π` binders. -/
meta def count_pis : expr → ℕ
| (expr.pi _ _ _ b) := count_pis b + 1
| _ := 0

/-- The text elaborated for a statement `BINDERS : GOAL`. Positions in errors refer to it. -/
meta def statement_text (binders goal : string) : string :=
if blank binders then goal
else "∀ " ++ binders ++ ",\n" ++ goal

/-- Elaborates a statement; returns its type and how many binders precede the colon. `levels`:
universe names in scope for its text (`Type u_1` in a printed state), as a `universes` line
would put them. -/
meta def elab_statement (binders goal : string) (levels : list name := []) : tactic (expr × ℕ) := do
  let add_levels : lean.parser unit :=
    levels.mmap' (λ l, lean.parser.add_local_level l <|> return ()),
  p ← parse_all (add_levels >> lean.parser.pexpr 0) (statement_text binders goal),
  t ← to_expr p ff,
  t ← instantiate_mvars t,
  when t.has_meta_var (fail "the statement has holes that could not be filled"),
  ty ← infer_type t,
  ty ← whnf ty,
  match ty with
  | (expr.sort _) := return ()
  | _ := fail "the statement is not a type"
  end,
  n ← if blank binders then return 0 else do {
    q ← parse_all (add_levels >> lean.parser.pexpr 0) ("∀ " ++ binders ++ ",\ntrue"),
    b ← to_expr q ff,
    return (count_pis b) },
  return (t, n)

/-- Introduces `n` binders under their own names, as a theorem's parameters are named in its
body: a later parameter shadows an earlier one of the same name (`intron` would rename it
`p_1`, and a proof's `induction p` would then pick the other `p`). -/
meta def intro_params : ℕ → tactic unit
| 0 := skip
| (k + 1) := do
  tgt ← target,
  match tgt with
  | (expr.pi n _ _ _) := intro n >> skip
  | _ := intro1 >> skip
  end,
  intro_params k

/-- Makes a goal for the statement and introduces its binders as hypotheses, as a theorem's
parameters are in scope in its proof. Returns the root metavariable. -/
meta def start_goal (t : expr) (n : ℕ) : tactic expr := do
  g ← mk_meta_var t,
  set_goals [g],
  intro_params n,
  return g

/-! ### Proof checking -/

meta def has_sorry (e : expr) : bool :=
e.fold ff (λ x _ acc, acc || x.is_sorry.is_some)

meta def consts_of (e : expr) : list name :=
e.fold [] (λ x _ acc, if x.is_constant then x.const_name :: acc else acc)

meta def builtin_quot : list name := [`quot, `quot.mk, `quot.lift, `quot.ind]

/-- Whether a declaration is an assumption rather than something defined: an `axiom`, or a
trusted `constant` that is not part of an inductive type or the quotient builtins. -/
meta def is_assumption (env : environment) (d : declaration) : bool :=
match d with
| (declaration.ax _ _ _) := tt
| (declaration.cnst n _ _ trusted) :=
    trusted && bnot (env.is_inductive n || env.is_constructor n || env.is_recursor n ||
      to_bool (n ∈ builtin_quot))
| _ := ff
end

/-- Constants an expression mentions, and whether it contains `sorry`. -/
meta def deps_of (e : expr) : list name × bool :=
e.fold ([], ff) (λ x _ acc,
  (if x.is_constant then x.const_name :: acc.1 else acc.1, acc.2 || x.is_sorry.is_some))

meta def dedup_names (l : list name) : list name :=
(l.foldl (λ (acc : list name × name_set) n,
  if acc.2.contains n then acc else (n :: acc.1, acc.2.insert n)) ([], mk_name_set)).1.reverse

/-- What one declaration contributes to an axiom closure: the constants its type and value
mention, whether its value contains `sorry`, and whether it is itself an assumption. -/
meta def decl_info (env : environment) (n : name) : list name × bool × bool :=
match env.get n with
| exceptional.success d :=
    let (ty_deps, _) := deps_of d.type in
    let vd : list name × bool := (match d with
      | (declaration.defn _ _ _ v _ _) := deps_of v
      | (declaration.thm _ _ _ v) := deps_of v.get
      | _ := ([], ff) end) in
    (dedup_names (ty_deps ++ vd.1), vd.2, is_assumption env d)
| _ := ([], ff, ff)
end

/-- Transitive axioms per declaration, kept between requests for the declarations of the
worker's imports (they never change), so that checking a proof after the first costs the walk
over what is new, not over all of mathlib again. -/
@[reducible] meta def axiom_memo := rb_map name (list name)

meta def axiom_union (a b : list name) : list name := a ++ b.filter (λ x, x ∉ a)

meta def memo_find (known fresh : axiom_memo) (n : name) : option (list name) :=
fresh.find n <|> known.find n

/-- Post-order walk over the dependency graph (a stack, not recursion: mathlib's chains are
deep), filling `fresh` for every declaration reached that `known` does not have. A declaration
whose value contains `sorry` counts as depending on `sorry_ax` (a lemma proved with `sorry`
earlier in a file must not make a later proof look complete). Names seen but not finished are
cycles (recursive meta code) and contribute nothing. -/
meta def axiom_walk (env : environment) (known : axiom_memo) :
  list (name × option (list name × bool × bool)) → name_set → axiom_memo → axiom_memo
| [] _ fresh := fresh
| ((n, some (deps, has_sorry, is_ax)) :: st) seen fresh :=
    let from_deps := deps.foldl
      (λ acc d, axiom_union acc ((memo_find known fresh d).get_or_else [])) [] in
    let own := (if is_ax then [n] else []) ++ (if has_sorry then [`sorry_ax] else []) in
    axiom_walk st seen (fresh.insert n (axiom_union own from_deps))
| ((n, none) :: st) seen fresh :=
    if seen.contains n ∨ (memo_find known fresh n).is_some then axiom_walk st seen fresh else
    let info := decl_info env n in
    let todo := (info.1.filter (λ d, (memo_find known fresh d).is_none)).map
      (λ d, (d, (none : option (list name × bool × bool)))) in
    axiom_walk (todo ++ (n, some info) :: st) (seen.insert n) fresh

/-- The assumptions (axioms) everything in `roots` depends on, transitively, like
`#print axioms`. `known` holds the closures of the imports' declarations (`base`) found so far
and comes back with the ones found here. -/
meta def collect_axioms (env base : environment) (known : axiom_memo) (roots : list name) :
    list name × axiom_memo :=
let roots := dedup_names roots in
let fresh := axiom_walk env known (roots.map (λ r, (r, none))) mk_name_set (rb_map.mk _ _) in
let axs := roots.foldl (λ acc r, axiom_union acc ((memo_find known fresh r).get_or_else [])) [] in
-- Only the imports' declarations are remembered: a file or context may define a name that
-- another file defines differently.
let known := fresh.fold known (λ n a m, if base.contains n then m.insert n a else m) in
(axs, known)

meta def allowed_axioms : list name := [`propext, `quot.sound, `classical.choice]

/-- Checks a finished proof term of `t`: no holes, no `sorry`, accepted by the kernel, and only
the standard axioms. Returns the errors (empty when verified), the axioms used, and `known`
with the closures found on the way. -/
meta def check_proof_term (base : environment) (known : axiom_memo) (t pf : expr) :
    tactic (list string × list name × axiom_memo) := do
  env ← get_env,
  if pf.has_meta_var then return (["the proof is incomplete: it leaves goals or holes"], [], known)
  else do
  let sorry_errs := if has_sorry pf then ["the proof uses sorry"] else [],
  kernel ← catching (add_decl (declaration.thm `_prover_repl_verify
    (t.collect_univ_params) t (task.pure pf))),
  let kernel_errs := match kernel with
    | sum.inl f := ["kernel: " ++ f.msg]
    | sum.inr _ := [] end,
  let (axs, known) := collect_axioms env base known (consts_of pf ++ consts_of t),
  let bad := axs.filter (λ a, a ∉ allowed_axioms),
  let ax_errs := bad.map (λ a, "the proof depends on the axiom " ++ to_string a ++
    (if a = `sorry_ax then " (sorry)" else "")),
  return (sorry_errs ++ kernel_errs ++ ax_errs, axs, known)

/-! ### REPL state -/

meta structure proof_record :=
(root : expr)   -- the metavariable of the whole statement
(type : expr)
(states : list ℕ)

/-- A theorem of a file, captured where the file states it: its statement as Lean elaborated
it there (section variables included as Lean includes them), how many leading binders are the
theorem's parameters, and a tactic state carrying that point's environment and options. -/
meta structure theorem_record :=
(type : expr)
(params : ℕ)
(ts : tactic_state)

meta structure repl_state :=
(base_env : environment)
(contexts : rb_map string environment)
(states : rb_map ℕ (ℕ × tactic_state))   -- state id ↦ (proof id, tactic state)
(proofs : rb_map ℕ proof_record)
(next_id : ℕ)
(theorems : rb_map ℕ theorem_record)
(in_file : bool)
(closures : axiom_memo)

meta def repl_state.fresh (σ : repl_state) : ℕ × repl_state :=
(σ.next_id, { next_id := σ.next_id + 1, ..σ })

meta def repl_state.add_state (σ : repl_state) (proof : ℕ) (ts : tactic_state) : ℕ × repl_state :=
let (sid, σ) := σ.fresh in
let proofs := match σ.proofs.find proof with
  | some r := σ.proofs.insert proof { states := sid :: r.states, ..r }
  | none := σ.proofs end in
(sid, { states := σ.states.insert sid (proof, ts), proofs := proofs, ..σ })

/-- The longest prefix of `ctx` whose environment is cached: its length and environment. -/
meta def cached_prefix (σ : repl_state) (ctx : list string) : ℕ → ℕ × environment
| 0 := (0, σ.base_env)
| (k+1) := match σ.contexts.find (string.intercalate "\n" (ctx.take (k+1))) with
  | some env := (k+1, env)
  | none := cached_prefix k
  end

/-- The environment for a list of context commands (`open …` lines, earlier lemmas of the
file). Every prefix is cached, so theorems of one file that share their first context lines
elaborate those lines once. -/
meta def context_env (σ : repl_state) (ctx : list string) : tactic (environment × repl_state) := do
  let (k, base) := cached_prefix σ ctx ctx.length,
  (env, σ) ← ((list.range ctx.length).drop k).mfoldl (λ (acc : environment × repl_state) i, do
      set_env_core acc.1,
      env ← run_commands ((ctx.drop i).take 1),
      let key := string.intercalate "\n" (ctx.take (i+1)),
      return (env, { contexts := acc.2.contexts.insert key env, ..acc.2 }))
    (base, σ),
  return (env, σ)

/-! ### Pretty-printing states -/

/-- Goals as Lean shows them in the editor, one string per goal. -/
meta def goal_strings : tactic (list string) := do
  gs ← get_goals,
  strs ← gs.mmap (λ g, do set_goals [g], ts ← read, return (to_string (to_fmt ts))),
  set_goals gs,
  return strs

/-- A state's answer: its id, each goal, and the whole state as Lean prints it (with the
`N goals` header when there are several). -/
meta def state_body (sid : ℕ) : tactic (list (string × json)) := do
  strs ← goal_strings,
  ts ← read,
  return [("ok", json.of_bool tt), ("state", jnat sid),
          ("goals", json.array (strs.map json.of_string)), ("num_goals", jnat strs.length),
          ("pp", json.of_string (to_string (to_fmt ts)))]

/-! ### Handlers. Each runs as one tactic and returns the response body and the new REPL state. -/

/-- The statement a request is about: a captured theorem of a file (`theorem`), a statement
given as text (`context`, `binders`, `goal`), or a statement given as text elaborated where a
captured theorem stands (`theorem`, `binders`, `goal`). Leaves the tactic state in that statement's
environment and returns the statement's type and parameter count. -/
meta def request_statement (σ : repl_state) (req : json) : tactic (sum failure (expr × ℕ) × repl_state) :=
match field req "theorem" with
| some (json.of_int i) :=
  match σ.theorems.find i.to_nat with
  | some rec := do
    write rec.ts,
    -- With a statement given as text: that statement, where the file states the theorem.
    if blank (field_str req "goal") then return (sum.inr (rec.type, rec.params), σ)
    else do
      r ← catching (elab_statement (field_str req "binders") (field_str req "goal")
        ((field_strs req "universes").map (λ u, name.mk_string u name.anonymous))),
      return (r, σ)
  | none := return (sum.inl ⟨"unknown theorem " ++ to_string i, none⟩, σ)
  end
| _ := do
  (env, σ) ← context_env σ (field_strs req "context"),
  set_env_core env,
  r ← catching (elab_statement (field_str req "binders") (field_str req "goal")),
  return (r, σ)
end

meta def handle_start (σ : repl_state) (req : json) : tactic (list (string × json) × repl_state) := do
  (st, σ) ← request_statement σ req,
  r ← match st with
  | sum.inl f := return (sum.inl f)
  | sum.inr (t, n) := catching (do
    g ← start_goal t n,
    ts ← read,
    return (t, g, ts))
  end,
  match r with
  | sum.inl f := return (error_body f.msg f.pos, σ)
  | sum.inr (t, g, ts) := do
      let (pid, σ) := σ.fresh,
      let σ := { proofs := σ.proofs.insert pid ⟨g, t, []⟩, ..σ },
      let (sid, σ) := σ.add_state pid ts,
      body ← state_body sid,
      return (("proof", jnat pid) :: body, σ)
  end

/-- A declaration's value, if it has one. -/
meta def decl_value (d : declaration) : option expr :=
match d with
| (declaration.defn _ _ _ v _ _) := some v
| (declaration.thm _ _ _ v) := some v.get
| _ := none
end

/-- The tactic text as one block, parsed (universe names `levels` in scope). -/
meta def parse_tactic (tac : string) (levels : list name) : tactic expr := do
  rv ← parse_all (do levels.mmap' lean.parser.add_local_level, lean.parser.itactic_reflected)
    ("{ " ++ tac ++ "\n}"),
  return rv.expr

/-- Inside the elaboration of a definition: parses tactic text and records the parsed tactic as
the value of the declaration `out` (the way a parsed tactic leaves that definition). -/
meta def reflect_step (out : name) (tac : string) (levels : list name) : tactic unit := do
  e ← parse_tactic tac levels,
  add_decl (declaration.defn out [] `(tactic unit) e reducibility_hints.opaque ff),
  exact `(())

meta def is_infix_chars : list char → list char → bool
| needle [] := needle = []
| needle hay@(_ :: rest) := (needle.is_prefix_of hay : bool) || is_infix_chars needle rest

/-- Whether `msg` contains `needle`. -/
meta def mentions (needle msg : string) : bool := is_infix_chars needle.to_list msg.to_list

/-- Runs `t`; where it fails with a message `retry` accepts, runs `alt` from the same state
instead (otherwise `t`'s failure stands, with its position). -/
meta def or_else_when {α : Type} (retry : string → bool) (t alt : tactic α) : tactic α :=
λ s, match t s with
| interaction_monad.result.exception msg p s' :=
  if retry (render msg) then alt s else interaction_monad.result.exception msg p s'
| r := r
end

/-- Lean 3 fixes how a pattern match (`λ ⟨a, b⟩, …`, `match … end`) names its auxiliary
definition when the text is parsed, from the declaration being parsed; outside any declaration
(where the REPL parses a step) that fails with "failed to register private name '_match_1'".
Inside a definition's elaboration the names are the definition's own, as in a theorem of a file. -/
meta def needs_declaration : string → bool := mentions "failed to register private name"

/-- Parses tactic text inside a fresh definition in a fresh namespace `prover_repl_step_<k>` (of
the tactic state's environment, which is left as it was), so that its pattern matches get
names of their own there (`prover_repl_step_<k>._match_1`: the namespace, because the
definition's own name is not in scope while its body is elaborated). -/
meta def parse_tactic_in_declaration (tac : string) (levels : list name) (k : ℕ) : tactic expr := do
  let base := "prover_repl_step_" ++ to_string k,
  let out : name := mk_simple_name (base ++ "_tactic"),
  let lvls := "[" ++ string.intercalate ", " (levels.map (λ l, "`" ++ to_string l)) ++ "]",
  env ← lean.parser.run (do
    _ ← lean.parser.with_input lean.parser.command_like "prelude",
    _ ← lean.parser.with_input lean.parser.command_like ("namespace " ++ base),
    _ ← lean.parser.with_input lean.parser.command_like
      ("def step : unit :=\nby prover_repl.reflect_step `" ++ to_string out ++ " "
        ++ repr tac ++ " " ++ lvls ++ "\n"),
    lean.parser.get_env),
  d ← returnex (env.get out),
  match decl_value d with
  | some v := return v
  | none := fail "the step was not parsed"
  end

/-- The REPL's VM was started with the imports' environment (`base`), so a tactic expression
that calls a definition of the file itself (a `meta def` tactic written there) does not
evaluate ("eval_expr failed"). Such definitions are replaced by their values, a few rounds deep;
one that calls itself stays, and still fails. -/
meta def inline_file_defs (base env : environment) : ℕ → expr → expr
| 0 e := e
| (k+1) e :=
  let e' := e.replace (λ x _, match x with
    | expr.const n ls := if base.contains n then none else
      match env.get n with
      | exceptional.success d := (λ v : expr, v.instantiate_univ_params (d.univ_params.zip ls)) <$> decl_value d
      | _ := none
      end
    | _ := none
    end) in
  if e' = e then e else inline_file_defs k e'

/-- Runs tactic text on the current goals, at most `hb` thousand heartbeats (0: no limit).
`levels`: the universe names of the statement, in scope for the text as they are in a
theorem's body (`Type (max u v)`). `k`: a number not used before in this process, naming the
definition the text is parsed in where it needs one. `base`: the environment the REPL's VM
knows. -/
meta def run_text (tac : string) (hb : ℕ) (levels : list name) (k : ℕ) (base : environment) :
    tactic unit :=
let eval : expr → tactic (tactic unit) := λ e,
  or_else_when (mentions "eval_expr failed") (eval_expr (tactic unit) e)
    (do env ← get_env, eval_expr (tactic unit) (inline_file_defs base env 8 e)) in
let run_expr : expr → tactic unit := λ e, do
  t ← eval e,
  if hb = 0 then t else try_for hb t in
or_else_when needs_declaration (parse_tactic tac levels >>= run_expr)
  (parse_tactic_in_declaration tac levels k >>= run_expr)

meta def handle_run (σ : repl_state) (req : json) : tactic (list (string × json) × repl_state) :=
let sid := field_nat req "state" in
match σ.states.find sid with
| none := return (error_body_of_kind "unknown_state" ("unknown state " ++ to_string sid) none, σ)
| some (pid, ts) := do
    write ts,
    let levels := match σ.proofs.find pid with
      | some rec := rec.type.collect_univ_params
      | none := [] end,
    let (k, σ) := σ.fresh,
    r ← catching (run_text (field_str req "tactic") (field_nat req "heartbeats") levels k σ.base_env),
    match r with
    | sum.inl f := return (error_body f.msg f.pos, σ)
    | sum.inr _ := do
        gs ← get_goals,
        complete_errs ← if gs ≠ [] then return [] else
          match σ.proofs.find pid with
          | some rec := do
              pf ← instantiate_mvars rec.root,
              return $ if pf.has_meta_var then ["the goals are closed but the proof has holes"]
                else if has_sorry pf then ["the proof uses sorry"] else []
          | none := return []
          end,
        match complete_errs with
        | [] := do
            ts' ← read,
            let (sid', σ) := σ.add_state pid ts',
            body ← state_body sid',
            return (body, σ)
        | (e :: _) := return (error_body e none, σ)
        end
    end
end

/-- `focus {state}`: a new proof whose one goal is the state's main goal, as inside a
`{ … }` block (closing it completes that proof). -/
meta def handle_focus (σ : repl_state) (req : json) : tactic (list (string × json) × repl_state) :=
let sid := field_nat req "state" in
match σ.states.find sid with
| none := return (error_body_of_kind "unknown_state" ("unknown state " ++ to_string sid) none, σ)
| some (_, ts) := do
    write ts,
    gs ← get_goals,
    match gs with
    | [] := return (error_body "no goals: nothing to focus on" none, σ)
    | (g :: _) := do
        set_goals [g],
        ty ← infer_type g,
        let (pid, σ) := σ.fresh,
        let σ := { proofs := σ.proofs.insert pid ⟨g, ty, []⟩, ..σ },
        ts' ← read,
        let (sid', σ) := σ.add_state pid ts',
        body ← state_body sid',
        return (("proof", jnat pid) :: body, σ)
    end
end

meta def handle_drop (σ : repl_state) (req : json) : tactic (list (string × json) × repl_state) :=
let by_proof := (field_nats req "proofs").foldl (λ (acc : list ℕ) pid,
      match σ.proofs.find pid with some r := r.states ++ acc | none := acc end) [] in
let sids := field_nats req "states" ++ by_proof in
let states := sids.foldl (λ m s, rb_map.erase m s) σ.states in
let proofs := (field_nats req "proofs").foldl (λ m p, rb_map.erase m p) σ.proofs in
return ([("ok", json.of_bool tt), ("dropped", jnat (σ.states.size - states.size))],
  { states := states, proofs := proofs, ..σ })

meta def handle_check (σ : repl_state) (req : json) : tactic (list (string × json) × repl_state) := do
  (env, σ) ← context_env σ (field_strs req "context"),
  set_env_core env,
  r ← catching (elab_statement (field_str req "binders") (field_str req "goal")),
  match r with
  | sum.inl f := return (error_body f.msg f.pos, σ)
  | sum.inr (t, _) := do
      s ← to_string <$> pp t,
      return ([("ok", json.of_bool tt), ("statement", json.of_string s)], σ)
  end

/-- Elaborates `proof` (`begin … end`, `by …`, or a term) against the statement with its binders
in scope, as Lean elaborates a theorem's body, then checks the result with the kernel. -/
meta def handle_verify (σ : repl_state) (req : json) : tactic (list (string × json) × repl_state) := do
  (st, σ) ← request_statement σ req,
  match st with
  | sum.inl f := return (error_body_of_kind "statement" ("statement: " ++ f.msg) f.pos, σ)
  | sum.inr (t, n) := do
    let hb := field_nat req "heartbeats",
    let (k, σ) := σ.fresh,
    let proof := field_str req "proof",
    let attempt : tactic expr := (do
      g ← start_goal t n,
      tgt ← target,
      p ← parse_term_with_locals proof,
      let elab : tactic unit := (to_expr ``(%%p : %%tgt) tt ff >>= exact),
      if hb = 0 then elab else try_for hb elab,
      instantiate_mvars g),
    -- A proof with a pattern match needs a declaration to be parsed in (see
    -- `needs_declaration`): it is then elaborated as the tactic `exact (proof)`.
    let in_declaration : tactic expr := (do
      g ← start_goal t n,
      run_text ("exact (" ++ proof ++ "\n)") hb t.collect_univ_params k σ.base_env,
      gs ← get_goals,
      when (gs ≠ []) (fail "the proof leaves goals"),
      instantiate_mvars g),
    r ← catching (or_else_when needs_declaration attempt in_declaration),
    match r with
    | sum.inl f := return (error_body f.msg f.pos, σ)
    | sum.inr pf := do
        (errs, axs, known) ← check_proof_term σ.base_env σ.closures t pf,
        return ([("ok", json.of_bool tt), ("verified", json.of_bool errs.empty),
                 ("errors", json.array (errs.map json.of_string)),
                 ("axioms", json.array (axs.map (λ a, json.of_string (to_string a))))],
                { closures := known, ..σ })
    end
  end

/-- Which of the given declarations exist (for detecting what tactics the imports offer, e.g.
`tactic.interactive.linarith`). -/
meta def handle_declared (σ : repl_state) (req : json) : tactic (list (string × json) × repl_state) := do
  env ← get_env,
  let names := field_strs req "names",
  flags ← names.mmap (λ n, do
    nm ← (lean.parser.run_with_input lean.parser.ident n) <|> return name.anonymous,
    return (json.of_bool (env.contains nm))),
  return ([("ok", json.of_bool tt), ("declared", json.array flags)], σ)

meta def handle_stats (σ : repl_state) : tactic (list (string × json) × repl_state) :=
return ([("ok", json.of_bool tt), ("states", jnat σ.states.size), ("proofs", jnat σ.proofs.size),
         ("contexts", jnat σ.contexts.size)], σ)

/-! ### Names as Lean resolves them, and the declarations an environment holds -/

/-- The constants a name resolves to in the current environment (its namespaces and `open`
lines, which Lean keeps in the environment, included): the declaration, or every candidate of
an overloaded name. A name that is a field access of a declaration (`foo.symm`, `h.1`) resolves
through its longest prefix that is one. -/
meta def resolve_consts : name → tactic (list name)
| name.anonymous := return []
| n := (do
    p ← resolve_name n,
    match p with
    | expr.const c _ := return [c]
    | expr.macro _ args := return (args.filter_map (λ a, match a with expr.const c _ := some c | _ := none end))
    | _ := return []
    end) <|> resolve_consts n.get_prefix

/-- A dotted name given as text (`nat.succ_le_iff`). -/
meta def dotted_name (s : string) : name :=
(s.split (= '.')).foldl (λ n part, name.mk_string part n) name.anonymous

meta def decl_place (env : environment) (n : name) : list (string × json) :=
let olean : json := match env.decl_olean n with | some f := json.of_string f | none := json.null end in
match env.decl_pos n with
| some ⟨l, c⟩ := [("olean", olean), ("line", jnat l), ("column", jnat c)]
| none := [("olean", olean), ("line", json.null), ("column", json.null)]
end

/-- `resolve {theorem, names}`: the declaration each name (dotted text) stands for where the file
states a captured theorem, with the file (`.olean`) and position where it is declared; `null`
for a name that is no declaration there. -/
meta def handle_resolve (σ : repl_state) (req : json) : tactic (list (string × json) × repl_state) :=
match field req "theorem" with
| some (json.of_int i) :=
  match σ.theorems.find i.to_nat with
  | none := return (error_body_of_kind "unknown_state" ("unknown theorem " ++ to_string i) none, σ)
  | some rec := do
    write rec.ts,
    env ← get_env,
    out ← (field_strs req "names").mmap (λ txt, do
      let n := dotted_name txt,
      cs ← resolve_consts n <|> return [],
      match cs with
      | (c :: _) := return (json.object ([("name", json.of_string (to_string c))] ++ decl_place env c))
      | [] := return json.null
      end),
    return ([("ok", json.of_bool tt), ("resolved", json.array out)], σ)
  end
| _ := return (error_body "resolve needs a theorem" none, σ)
end

/-- Names Lean makes for itself (equation lemmas, auxiliary definitions, matchers …). -/
meta def is_internal_name : name → bool
| name.anonymous := ff
| (name.mk_string s p) := (s.to_list.head = '_') || is_internal_name p
| (name.mk_numeral _ _) := tt

meta def decl_kind : declaration → string
| (declaration.thm _ _ _ _) := "theorem"
| (declaration.defn _ _ _ _ _ _) := "definition"
| (declaration.cnst _ _ _ _) := "constant"
| (declaration.ax _ _ _) := "axiom"

/-- `declarations {offset, limit}`: the environment's declarations that are not meta and not
Lean's own auxiliaries, in a fixed order, `limit` of them from `offset`: name, kind, type as Lean
prints it, and where it is declared. -/
meta def handle_declarations (σ : repl_state) (req : json) : tactic (list (string × json) × repl_state) := do
  env ← get_env,
  let all := env.fold ([] : list declaration) (λ d acc,
    if d.is_trusted ∧ ¬ is_internal_name d.to_name ∧ (env.decl_olean d.to_name).is_some then d :: acc else acc),
  let total := all.length,
  let chunk := (all.drop (field_nat req "offset")).take (field_nat req "limit"),
  out ← chunk.mmap (λ d, do
    ty ← (do f ← pp d.type, return (to_string f)) <|> return "",
    return (json.object ([("name", json.of_string (to_string d.to_name)),
      ("kind", json.of_string (decl_kind d)), ("type", json.of_string ty)] ++ decl_place env d.to_name))),
  return ([("ok", json.of_bool tt), ("total", jnat total), ("declarations", json.array out)], σ)

meta def handle (σ : repl_state) (req : json) : tactic (list (string × json) × repl_state) :=
match field_str req "cmd" with
| "start" := handle_start σ req
| "run" := handle_run σ req
| "focus" := handle_focus σ req
| "drop" := handle_drop σ req
| "check" := handle_check σ req
| "verify" := handle_verify σ req
| "stats" := handle_stats σ
| "declared" := handle_declared σ req
| "resolve" := handle_resolve σ req
| "declarations" := handle_declarations σ req
| c := return (error_body ("unknown command: " ++ c) none, σ)
end

/-! ### Files: a file's own commands, run by Lean's command parser where the REPL serves

The REPL serves from inside a command (`prover_repl_serve`, at the end of the worker's launch
file, after the imports), so it has the real command parser at hand: the commands of a file are
parsed and elaborated by it, one after the other, exactly as `lean` processes the file
(namespaces, sections, `variables`, notation, attributes, earlier declarations, …). At each
theorem the REPL captures the goal as Lean states it there and checks the file's own proof. A
worker serves one file: it only moves forward through it. -/

/-- Runs `p`, catching its failure. -/
meta def pcatching {α : Type} (p : lean.parser α) : lean.parser (sum failure α) :=
λ s, match p s with
| interaction_monad.result.success a s' := interaction_monad.result.success (sum.inr a) s'
| interaction_monad.result.exception msg p s' :=
    interaction_monad.result.success (sum.inl ⟨render msg, p⟩) s'
end

/-- Runs every command in `text` with the command parser; stops at the first error and returns
it together with how many characters of `text` came before the failing command. -/
meta def run_commands_from : string → ℕ → lean.parser (option (failure × ℕ))
| text done := if blank text then return none else do
  r ← pcatching (lean.parser.with_input lean.parser.command_like text),
  match r with
  | sum.inl f := return (some (f, done))
  | sum.inr (_, rest) :=
    if rest.length < text.length then run_commands_from rest (done + (text.length - rest.length))
    else return (some (⟨"the command parser did not advance", none⟩, done))
  end

/-- Runs commands with Lean's command parser. The text gets a final newline: a command that
ends its input on a token that looks ahead (`theorem t : ∅ ⊆ s.`, an empty match) would
otherwise read past it, out of the REPL's own input. -/
meta def run_file_commands (text : string) (done : ℕ) : lean.parser (option (failure × ℕ)) :=
run_commands_from (text ++ "\n") done

meta def name_of_parts (parts : list string) : name :=
parts.foldl (λ n s, name.mk_string s n) name.anonymous

/-- Number of leading `λ` binders. -/
meta def count_lams : expr → ℕ
| (expr.lam _ _ _ b) := count_lams b + 1
| _ := 0

/-- A name that is declared, as a tactic (resolving it as the current scope does). -/
meta def find_decl (env : environment) (n : name) : tactic name :=
(resolve_constant n) <|> (if env.contains n then return n else fail ("no declaration " ++ to_string n))

/-- Captures a theorem's goal where the file states it: elaborates `noncomputable def
prover_repl_captured_goal SIG := sorry` with the command parser (so Lean includes section variables
and instances as it does for the real theorem; a `def`, because a definition made by tactics has a
type of data, which a `theorem` may not have; `noncomputable`, so that nothing is compiled), reads
the parameter count off the value (one `λ` per parameter; the body is `sorry`, never a `λ`), and
takes the declaration back out of the environment. Returns the statement, its parameter count, and
the current namespace. -/
meta def capture_goal (sig : string) : lean.parser (sum failure (expr × ℕ × name)) := do
  env0 ← lean.parser.get_env,
  r ← run_file_commands ("noncomputable def prover_repl_captured_goal " ++ sig ++ " :=\nsorry") 0,
  res ← match r with
  | some (f, _) := return (sum.inl f)
  | none := pcatching (do
      env ← lean.parser.get_env,
      full ← lean.parser.of_tactic (find_decl env `prover_repl_captured_goal),
      d ← lean.parser.of_tactic (returnex (env.get full)),
      v ← match decl_value d with
        | some v := return v
        | none := lean.parser.of_tactic (fail "the statement has no value")
        end,
      return (d.type, count_lams v, full.get_prefix))
  end,
  lean.parser.set_env env0,
  return res

/-- Checks the declaration a file just added (the file's own proof, as Lean elaborated it):
no `sorry`, kernel-checked, standard axioms. -/
meta def check_file_decl (σ : repl_state) (full : name) :
    tactic (list string × list name × axiom_memo) := do
  env ← get_env,
  d ← returnex (env.get full),
  match decl_value d with
  | some v := check_proof_term σ.base_env σ.closures d.type v
  | none := return (["`" ++ to_string full ++ "` is not a theorem or definition"], [], σ.closures)
  end

meta def jstrs (xs : list string) : json := json.array (xs.map json.of_string)

meta def failure_body (f : failure) (base : ℕ) : list (string × json) :=
error_body f.msg f.pos ++ [("base", jnat base)]

/-- `file_reset {closers}`: starts a new file. The previous file's open sections and namespaces
are closed (`closers`), the variables it declared are dropped with the parser's local scope,
and the environment goes back to the imports'. Theorems captured earlier stay usable. -/
meta def handle_file_reset (σ : repl_state) (req : json) : lean.parser (list (string × json) × repl_state) := do
  when σ.in_file (do
    _ ← run_file_commands (field_str req "closers") 0,
    lean.parser.pop_local_scope),
  lean.parser.set_env σ.base_env,
  lean.parser.push_local_scope,
  -- The file's own proofs get the deterministic limit Lean's editor gives them, so a proof
  -- that never ends fails as it does there instead of hanging the worker.
  let hb := field_nat req "heartbeats",
  when (hb > 0) (do _ ← run_file_commands ("set_option timeout " ++ to_string hb) 0, return ()),
  return ([("ok", json.of_bool tt)], { in_file := tt, ..σ })

/-- `file_commands {text}`: runs the commands of a stretch of the file. -/
meta def handle_file_commands (σ : repl_state) (req : json) : lean.parser (list (string × json) × repl_state) := do
  r ← run_file_commands (field_str req "text") 0,
  match r with
  | none := return ([("ok", json.of_bool tt)], σ)
  | some (f, base) := return (failure_body f base, σ)
  end

/-- `file_theorem {signature, text, name, example}`: at a theorem of the file, captures its goal
(`signature`: the text between the name and `:=`), then runs its declaration (`text`) as the file
does and checks the proof Lean made of it. Examples declare nothing, so their proof is checked
under a temporary name that is removed afterwards. Answers the captured theorem's id, its full
name and goal, and the check's verdict. -/
meta def handle_file_theorem (σ : repl_state) (req : json) : lean.parser (list (string × json) × repl_state) := do
  cap ← capture_goal (field_str req "signature"),
  match cap with
  | sum.inl f := do
    -- The statement does not elaborate: still run the declaration, so that the file goes on
    -- as Lean would have it (Lean reports the same error and adds nothing usable).
    _ ← run_file_commands (field_str req "text") 0,
    return (error_body_of_kind "statement" ("statement: " ++ f.msg) f.pos, σ)
  | sum.inr (t0, n0, ns) := do
    ts0 ← lean.parser.of_tactic read,
    let is_example := match field req "example" with | some (json.of_bool tt) := tt | _ := ff end,
    env_before ← lean.parser.get_env,
    r ← run_file_commands (field_str req "text") 0,
    let parts := field_strs req "name",
    let short := name_of_parts parts,
    let find : lean.parser name := (do
      env ← lean.parser.get_env,
      lean.parser.of_tactic (
        if is_example then find_decl env short
        else find_decl env (ns ++ short) <|> find_decl env short)),
    found ← pcatching find,
    -- Where Lean's own error recovery would still have added the theorem (with `sorry`), a
    -- failure here (our parser runs without recovery) adds it from the `sorry` fallback, so the
    -- rest of the file sees it as Lean's run does.
    let missing : bool := match found with | sum.inl _ := tt | _ := ff end,
    when (r.is_some ∧ missing ∧ ¬ is_example) (do
      _ ← run_file_commands (field_str req "fallback") 0, return ()),
    env_after ← lean.parser.get_env,
    check ← match found with
      | sum.inl f := return (ff,
          [match r with | some (f', _) := f'.msg | none := "the declaration was not added: " ++ f.msg end],
          ([] : list name), name.anonymous, σ.closures)
      | sum.inr full := do
          c ← pcatching (lean.parser.of_tactic (check_file_decl σ full)),
          lean.parser.set_env env_after,
          match c with
          | sum.inl f := return (ff, [f.msg], [], full, σ.closures)
          | sum.inr (errs, axs, known) :=
              let errs := (match r with | some (f', _) := [f'.msg] | none := [] end) ++ errs in
              return (errs.empty, errs, axs, full, known)
          end
      end,
    let (verified, errs, axs, full, known) := check,
    let σ := { closures := known, ..σ },
    -- Lean also includes the section variables that only the proof mentions: where the real
    -- declaration has more leading binders than the captured statement, its type is the goal.
    real_type ← pcatching (do
      env ← lean.parser.get_env,
      d ← lean.parser.of_tactic (returnex (env.get full)),
      return d.type),
    let (t, n) := (match real_type with
      | sum.inr ty := if count_pis ty > count_pis t0 then (ty, n0 + (count_pis ty - count_pis t0)) else (t0, n0)
      | _ := (t0, n0) end : expr × ℕ),
    -- The proof starts in the environment before the declaration (it cannot use itself).
    goals ← lean.parser.of_tactic (do
      write ts0, g ← mk_meta_var t, set_goals [g], intro_params n, goal_strings),
    lean.parser.set_env env_after,
    let (tid, σ) := σ.fresh,
    let σ := { theorems := σ.theorems.insert tid ⟨t, n, ts0⟩, ..σ },
    -- An example leaves nothing behind in the file's environment.
    when is_example (lean.parser.set_env env_before),
    return ([("ok", json.of_bool tt), ("theorem", jnat tid), ("full_name", json.of_string (if full = name.anonymous then "" else to_string full)),
             ("namespace", json.of_string (if ns = name.anonymous then "" else to_string ns)), ("params", jnat n),
             ("goals", jstrs goals), ("verified", json.of_bool verified), ("errors", jstrs errs),
             ("axioms", jstrs (axs.map to_string))], σ)
  end

/-! ### The loop -/

/-- Runs `t`, printing `tag` and the time it took on stderr (Lean's `timeit`). -/
meta def timed_tactic {α : Type} (tag : string) (t : tactic α) : tactic α :=
λ s, timeit tag (t s)

meta def respond (body : list (string × json)) : io unit := do
  io.put_str_ln ("#PROVER_REPL# " ++ json.unparse (json.object body)),
  out ← io.stdout,
  io.fs.flush out

meta def prespond (body : list (string × json)) : lean.parser unit :=
lean.parser.of_tactic (tactic.unsafe_run_io (respond body))

/-- Handles one request. Tactic-level requests run in a tactic whose environment changes are
undone afterwards: only the file's own commands change the parser's environment. -/
meta def handle_request (σ : repl_state) (req : json) : lean.parser (list (string × json) × repl_state) :=
match field_str req "cmd" with
| "file_reset" := handle_file_reset σ req
| "file_commands" := handle_file_commands σ req
| "file_theorem" := handle_file_theorem σ req
| _ := do
  env ← lean.parser.get_env,
  let timed := match field req "timed" with | some (json.of_bool tt) := tt | _ := ff end,
  let tag := "PROVER_TIME " ++ (match field req "id" with | some (json.of_int i) := to_string i | _ := "0" end),
  let h : tactic (list (string × json) × repl_state) := handle σ req,
  r ← pcatching (lean.parser.of_tactic (if timed then timed_tactic tag h else h)),
  lean.parser.set_env env,
  match r with
  | sum.inr res := return res
  | sum.inl f := return (error_body ("internal error: " ++ f.msg) f.pos, σ)
  end
end

meta def serve_loop : repl_state → lean.parser unit
| σ := do
  line ← lean.parser.of_tactic (tactic.unsafe_run_io io.get_line),
  if blank line then return () else
  match json.parse line with
  | none := do prespond (error_body "request is not JSON" none), serve_loop σ
  | some req := do
      let id := (field req "id").get_or_else json.null,
      r ← pcatching (handle_request σ req),
      match r with
      | sum.inr (body, σ') := do prespond (("id", id) :: body), serve_loop σ'
      | sum.inl f := do
          prespond (("id", id) :: error_body ("internal error: " ++ f.msg) f.pos),
          serve_loop σ
      end
  end

/-- Serves requests until standard input ends. -/
meta def serve : lean.parser unit := do
  env ← lean.parser.get_env,
  prespond [("ready", json.of_bool tt)],
  serve_loop ⟨env, rb_map.mk _ _, rb_map.mk _ _, rb_map.mk _ _, 0, rb_map.mk _ _, ff, rb_map.mk _ _⟩

end prover_repl

open interactive lean.parser

/-- `prover_repl_serve`: the worker's launch file ends with this command; it serves the bridge's
requests from here, with the file's commands run by this command parser. -/
@[user_command]
meta def prover_repl_serve_cmd (_ : parse (tk "prover_repl_serve")) : lean.parser unit :=
prover_repl.serve
