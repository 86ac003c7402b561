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
* `stats`   {}                               → {states, proofs, contexts}

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

/-- Elaborates a statement; returns its type and how many binders precede the colon. -/
meta def elab_statement (binders goal : string) : tactic (expr × ℕ) := do
  p ← parse_all (lean.parser.pexpr 0) (statement_text binders goal),
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
    q ← parse_all (lean.parser.pexpr 0) ("∀ " ++ binders ++ ",\ntrue"),
    b ← to_expr q ff,
    return (count_pis b) },
  return (t, n)

/-- Makes a goal for the statement and introduces its binders as hypotheses, as a theorem's
parameters are in scope in its proof. Returns the root metavariable. -/
meta def start_goal (t : expr) (n : ℕ) : tactic expr := do
  g ← mk_meta_var t,
  set_goals [g],
  intron n,
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

/-- The assumptions (axioms) everything in `todo` depends on, transitively, like `#print axioms`.
A declaration whose value contains `sorry` counts as depending on `sorry_ax` (a lemma proved
with `sorry` earlier in a file must not make a later proof look complete). -/
meta def collect_axioms (env : environment) : list name → name_set → list name → list name
| [] _ acc := acc
| (n :: todo) seen acc :=
  if seen.contains n then collect_axioms todo seen acc else
  match env.get n with
  | exceptional.success d :=
      let (ty_deps, _) := deps_of d.type in
      let vd : list name × bool := (match d with
        | (declaration.defn _ _ _ v _ _) := deps_of v
        | (declaration.thm _ _ _ v) := deps_of v.get
        | _ := ([], ff) end) in
      let (val_deps, sorry_in_val) := vd in
      let acc := if is_assumption env d then n :: acc else acc in
      let acc := if sorry_in_val && bnot (to_bool (`sorry_ax ∈ acc)) then `sorry_ax :: acc else acc in
      collect_axioms (ty_deps ++ val_deps ++ todo) (seen.insert n) acc
  | _ := collect_axioms todo (seen.insert n) acc
  end

meta def allowed_axioms : list name := [`propext, `quot.sound, `classical.choice]

/-- Checks a finished proof term of `t`: no holes, no `sorry`, accepted by the kernel, and only
the standard axioms. Returns the errors (empty when verified) and the axioms used. -/
meta def check_proof_term (t pf : expr) : tactic (list string × list name) := do
  env ← get_env,
  if pf.has_meta_var then return (["the proof is incomplete: it leaves goals or holes"], [])
  else do
  let sorry_errs := if has_sorry pf then ["the proof uses sorry"] else [],
  kernel ← catching (add_decl (declaration.thm `_prover_repl_verify
    (t.collect_univ_params) t (task.pure pf))),
  let kernel_errs := match kernel with
    | sum.inl f := ["kernel: " ++ f.msg]
    | sum.inr _ := [] end,
  let axs := (collect_axioms env (consts_of pf ++ consts_of t) mk_name_set []).reverse,
  let bad := axs.filter (λ a, a ∉ allowed_axioms),
  let ax_errs := bad.map (λ a, "the proof depends on the axiom " ++ to_string a ++
    (if a = `sorry_ax then " (sorry)" else "")),
  return (sorry_errs ++ kernel_errs ++ ax_errs, axs)

/-! ### REPL state -/

meta structure proof_record :=
(root : expr)   -- the metavariable of the whole statement
(type : expr)
(states : list ℕ)

meta structure repl_state :=
(base_env : environment)
(contexts : rb_map string environment)
(states : rb_map ℕ (ℕ × tactic_state))   -- state id ↦ (proof id, tactic state)
(proofs : rb_map ℕ proof_record)
(next_id : ℕ)

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

meta def handle_start (σ : repl_state) (req : json) : tactic (list (string × json) × repl_state) := do
  (env, σ) ← context_env σ (field_strs req "context"),
  set_env_core env,
  r ← catching (do
    (t, n) ← elab_statement (field_str req "binders") (field_str req "goal"),
    g ← start_goal t n,
    ts ← read,
    return (t, g, ts)),
  match r with
  | sum.inl f := return (error_body f.msg f.pos, σ)
  | sum.inr (t, g, ts) := do
      let (pid, σ) := σ.fresh,
      let σ := { proofs := σ.proofs.insert pid ⟨g, t, []⟩, ..σ },
      let (sid, σ) := σ.add_state pid ts,
      body ← state_body sid,
      return (("proof", jnat pid) :: body, σ)
  end

/-- Runs tactic text on a state, at most `hb` thousand heartbeats (0: no limit). -/
meta def run_text (tac : string) (hb : ℕ) : tactic unit := do
  rv ← parse_all lean.parser.itactic_reflected ("{ " ++ tac ++ "\n}"),
  t ← eval_expr (tactic unit) rv.expr,
  if hb = 0 then t else try_for hb t

meta def handle_run (σ : repl_state) (req : json) : tactic (list (string × json) × repl_state) :=
let sid := field_nat req "state" in
match σ.states.find sid with
| none := return (error_body ("unknown state " ++ to_string sid) none, σ)
| some (pid, ts) := do
    write ts,
    r ← catching (run_text (field_str req "tactic") (field_nat req "heartbeats")),
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
  (env, σ) ← context_env σ (field_strs req "context"),
  set_env_core env,
  st ← catching (elab_statement (field_str req "binders") (field_str req "goal")),
  match st with
  | sum.inl f := return (error_body ("statement: " ++ f.msg) f.pos, σ)
  | sum.inr (t, n) := do
    let hb := field_nat req "heartbeats",
    r ← catching (do
      g ← start_goal t n,
      tgt ← target,
      p ← parse_term_with_locals (field_str req "proof"),
      let elab : tactic unit := (to_expr ``(%%p : %%tgt) tt ff >>= exact),
      if hb = 0 then elab else try_for hb elab,
      instantiate_mvars g),
    match r with
    | sum.inl f := return (error_body f.msg f.pos, σ)
    | sum.inr pf := do
        (errs, axs) ← check_proof_term t pf,
        return ([("ok", json.of_bool tt), ("verified", json.of_bool errs.empty),
                 ("errors", json.array (errs.map json.of_string)),
                 ("axioms", json.array (axs.map (λ a, json.of_string (to_string a))))], σ)
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

meta def handle (σ : repl_state) (req : json) : tactic (list (string × json) × repl_state) :=
match field_str req "cmd" with
| "start" := handle_start σ req
| "run" := handle_run σ req
| "drop" := handle_drop σ req
| "check" := handle_check σ req
| "verify" := handle_verify σ req
| "stats" := handle_stats σ
| "declared" := handle_declared σ req
| c := return (error_body ("unknown command: " ++ c) none, σ)
end

/-! ### The loop -/

/-- Runs `t`, printing `tag` and the time it took on stderr (Lean's `timeit`). -/
meta def timed_tactic {α : Type} (tag : string) (t : tactic α) : tactic α :=
λ s, timeit tag (t s)

meta def respond (body : list (string × json)) : io unit := do
  io.put_str_ln ("#PROVER_REPL# " ++ json.unparse (json.object body)),
  out ← io.stdout,
  io.fs.flush out

meta def step (σ : repl_state) : io (option repl_state) := do
  line ← io.get_line,
  if blank line then return none else
  match json.parse line with
  | none := do respond (error_body "request is not JSON" none), return (some σ)
  | some req := do
      let id := field req "id",
      -- With `timed`, Lean's own `timetac` prints how long the request took on stderr, so
      -- the bridge can tell its overhead from Lean's work.
      let timed := match field req "timed" with | some (json.of_bool tt) := tt | _ := ff end,
      let tag := "PROVER_TIME " ++ (match id with | some (json.of_int i) := to_string i | _ := "0" end),
      let h : tactic (sum failure (list (string × json) × repl_state)) := catching (handle σ req),
      r ← io.run_tactic (if timed then timed_tactic tag h else h),
      match r with
      | sum.inr (body, σ') := do
          respond (("id", id.get_or_else json.null) :: body), return (some σ')
      | sum.inl f := do
          respond (("id", id.get_or_else json.null) :: error_body ("internal error: " ++ f.msg) f.pos),
          return (some σ)
      end
  end

meta def main : io unit := do
  env ← io.run_tactic get_env,
  respond [("ready", json.of_bool tt)],
  _ ← io.iterate (⟨env, rb_map.mk _ _, rb_map.mk _ _, rb_map.mk _ _, 0⟩ : repl_state) step,
  return ()

end prover_repl
