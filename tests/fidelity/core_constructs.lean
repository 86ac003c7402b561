/-
Fidelity corpus (core Lean 3 only): the constructs people write around their theorems.
`prover check` must give each theorem the verdict `lean` gives it. Two theorems here are
meant to fail: `demo.bad_proof` (Lean rejects it) and `by_axiom` (Lean accepts it, but it
rests on this file's own axiom, which the prover refuses to count as a proof).
-/
universes u v

noncomputable theory
set_option pp.beta true

namespace demo

def double (n : ℕ) : ℕ := n + n

variables {α : Type u} (n : ℕ)

theorem double_eq : double n = n + n := rfl

local notation `dbl` := double

lemma dbl_zero : dbl 0 = 0 := rfl

structure point := (x : ℕ) (y : ℕ)

def point.swap (p : point) : point := ⟨p.y, p.x⟩

theorem point.swap_swap (p : point) : p.swap.swap = p :=
by cases p; refl

inductive color | red | green

instance : inhabited color := ⟨color.red⟩

protected theorem color_default : (default : color) = color.red := rfl

class has_size (β : Type v) := (size : β → ℕ)

instance point_size : has_size point := ⟨λ p, p.x + p.y⟩

theorem size_swap (p : point) : has_size.size p.swap = has_size.size p :=
by { cases p, simp [has_size.size, point.swap, nat.add_comm] }

section params
parameters (k : ℕ)
include k
theorem k_le : k ≤ k + 1 := nat.le_succ k
omit k
end params

@[simp] lemma double_zero : double 0 = 0 := rfl

example : double 2 = 4 := by simp [double]

theorem uses_earlier : double 0 + 0 = 0 :=
begin
  rw double_zero,
end

theorem bad_proof : double 1 = 3 := by refl

theorem by_chain (p q : Prop) (hp : p) (hq : q) : p ∧ q :=
by { split; assumption }

theorem calc_proof (a b c : ℕ) (h1 : a = b) (h2 : b = c) : a = c :=
calc a = b : h1
   ... = c : h2

theorem lam_proof : ∀ (p : ℕ × ℕ), p.1 + p.2 = p.2 + p.1 :=
λ ⟨a, b⟩, nat.add_comm a b

theorem match_proof (m : ℕ) : m = 0 ∨ 0 < m :=
match m with
| 0 := or.inl rfl
| (k+1) := or.inr (nat.succ_pos k)
end

theorem eqns : ∀ m : ℕ, double m = m + m
| 0 := rfl
| (k+1) := rfl

private theorem hidden (m : ℕ) : m + 0 = m := rfl

theorem uses_hidden (m : ℕ) : m + 0 + 0 = m := by rw [hidden, hidden]

theorem nested_blocks (p q r : Prop) (hp : p) (hq : q) (hr : r) : (p ∧ q) ∧ r :=
begin
  split,
  { split,
    { exact hp },
    { exact hq } },
  { exact hr }
end

theorem max_self' (m : ℕ) : max m m = m := max_self m

theorem tt_eq : tt = tt := rfl

meta def my_tac : tactic unit := tactic.reflexivity

theorem by_meta : (3 : ℕ) = 3 := by my_tac

meta def my_tac2 : tactic unit := my_tac <|> tactic.triv

theorem by_meta2 (m : ℕ) : m = m :=
begin
  my_tac2
end

theorem tactic_match (p : ℕ × ℕ) (h : ∃ k, p.1 = k) : p.1 + p.2 = p.2 + p.1 :=
begin
  have key : ∀ q : ℕ × ℕ, q.1 + q.2 = q.2 + q.1 := λ ⟨a, b⟩, nat.add_comm a b,
  exact (λ ⟨k, hk⟩, key p : (∃ k, p.1 = k) → p.1 + p.2 = p.2 + p.1) h
end

attribute [simp] double_eq

local attribute [instance] classical.prop_decidable

theorem classical_em (p : Prop) : p ∨ ¬ p := if h : p then or.inl h else or.inr h

end demo

open demo (double)
open nat

theorem outside : double 1 = 2 := rfl

theorem succ_pos' (m : ℕ) : 0 < succ m := succ_pos m

namespace nat
theorem my_succ_le (m : ℕ) : m ≤ succ m := le_succ m
end nat

export demo (point.swap)

theorem exported_swap (p : demo.point) : point.swap (point.swap p) = p := demo.point.swap_swap p

run_cmd tactic.trace "running a command"

axiom cheat : false
theorem by_axiom : 1 = 2 := false.elim cheat
