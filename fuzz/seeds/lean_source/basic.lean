import data.nat.basic
open nat

namespace foo
variables {a b : ℕ}

/-- A doc comment. -/
theorem add_comm' (a b : ℕ) : a + b = b + a :=
begin
  induction a with n ih,
  { simp },
  { rw [succ_add, ih], refl }
end

lemma t2 : ∀ n : ℕ, n ≤ n + 1 := λ n, nat.le_succ n

example (p q : Prop) (hp : p) (hq : q) : p ∧ q := by { split; assumption }

def f : ℕ → ℕ
| 0 := 1
| (n+1) := f n * 2

theorem bad : (true :=
trivial
end foo
