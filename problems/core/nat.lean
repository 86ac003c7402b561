/-
Natural-number arithmetic and order. Needs only Lean 3 core, where `simp` knows few
arithmetic facts (it cannot prove `0 + n = n`), so induction does real work here.
Tiers as in logic.lean: [search] or [lemma].
-/

/-- [lemma] Zero is a left identity, by induction (core `simp` cannot do the step). -/
theorem nat_zero_add_own (n : ℕ) : 0 + n = n :=
begin
  induction n with n ih,
  { refl },
  { rw nat.add_succ,
    rw ih },
end

/-- [lemma] Zero annihilates on the left, by induction. -/
theorem nat_zero_mul_own (n : ℕ) : 0 * n = 0 :=
begin
  induction n with n ih,
  { refl },
  { rw nat.mul_succ,
    rw ih },
end

/-- [search] Small closed arithmetic facts. -/
theorem nat_closed_facts : 3 * 4 = 12 ∧ 7 < 9 ∧ 10 - 3 = 7 :=
begin
  split,
  { refl },
  split,
  { exact dec_trivial },
  { refl },
end

/-- [search] The successor is never zero. -/
theorem nat_succ_ne_zero_own (n : ℕ) : n + 1 ≠ 0 :=
begin
  intro h,
  cases h,
end

/-- [lemma] A nonzero number is positive. -/
theorem nat_pos_of_ne_zero_own (n : ℕ) (h : n ≠ 0) : 0 < n :=
begin
  cases n,
  { contradiction },
  { exact nat.succ_pos n },
end

/-- [search] Predecessor of a successor, through a hypothesis. -/
theorem nat_pred_of_eq_succ (m n : ℕ) (h : m = n + 1) : nat.pred m = n :=
begin
  rw h,
  refl,
end

/-- [search] Rewriting with two hypotheses. -/
theorem nat_rewrite_twice (a b c : ℕ) (h₁ : a = b + 1) (h₂ : b = c + 1) : a = c + 2 :=
begin
  rw h₁,
  rw h₂,
end

/-- [search] Every number is zero or a successor. -/
theorem nat_zero_or_succ (n : ℕ) : n = 0 ∨ ∃ m, n = m + 1 :=
begin
  cases n with m,
  { left, refl },
  { right, exact ⟨m, rfl⟩ },
end

/-- [lemma] A number is less than its successor. -/
theorem nat_lt_succ_own (n : ℕ) : n < n + 1 :=
begin
  apply nat.lt_succ_of_le,
  refl,
end

/-- [search] Unfolding a small even-number claim. -/
theorem nat_exists_double (n : ℕ) : ∃ k, k = n + n :=
begin
  existsi n + n,
  refl,
end

/-- [search] Hypotheses that are already the goal. -/
theorem nat_le_of_le_and (a b c : ℕ) (h : a ≤ b ∧ b ≤ c) : b ≤ c ∧ a ≤ b :=
begin
  cases h with hab hbc,
  split,
  assumption,
  assumption,
end

/-- [lemma] Adding one on both sides keeps `≤`. -/
theorem nat_succ_le_succ_own (a b : ℕ) (h : a ≤ b) : a + 1 ≤ b + 1 :=
begin
  apply nat.succ_le_succ,
  exact h,
end

/-- [lemma] Mixing `<` and `≤`. -/
theorem nat_lt_of_lt_le (a b c : ℕ) (h₁ : a < b) (h₂ : b ≤ c) : a < c :=
begin
  apply nat.lt_of_lt_of_le,
  exact h₁,
  exact h₂,
end

/-- [lemma] Sums of inequalities. -/
theorem nat_add_le_add_both (a b c d : ℕ) (h₁ : a ≤ b) (h₂ : c ≤ d) : a + c ≤ b + d :=
begin
  apply nat.add_le_add,
  { exact h₁ },
  { exact h₂ },
end

/-- [lemma] Antisymmetry of `≤`. -/
theorem nat_eq_of_le_of_ge (a b : ℕ) (h₁ : a ≤ b) (h₂ : b ≤ a) : a = b :=
begin
  apply nat.le_antisymm,
  { exact h₁ },
  { exact h₂ },
end

/-- [lemma] Cancelling an added term, by induction on it. -/
theorem nat_add_right_cancel_own (a b c : ℕ) (h : a + c = b + c) : a = b :=
begin
  induction c with c ih,
  { exact h },
  { apply ih,
    apply nat.succ.inj,
    exact h },
end

/-- [lemma] Commutativity of addition, by induction with two core lemmas. -/
theorem nat_add_comm_own (a b : ℕ) : a + b = b + a :=
begin
  induction b with b ih,
  { rw nat.zero_add,
    refl },
  { rw [nat.add_succ, nat.succ_add, ih] },
end

/-- [lemma] Solving a linear equation without `linarith`. -/
theorem nat_solve_linear (x : ℕ) (h : x + 3 = 7) : x = 4 :=
begin
  apply @nat.add_right_cancel _ 3 _,
  rw h,
end

/-- [lemma] A square is zero only at zero. -/
theorem nat_eq_zero_of_mul_self (a : ℕ) (h : a * a = 0) : a = 0 :=
begin
  cases nat.eq_zero_of_mul_eq_zero h with h₁ h₁,
  { exact h₁ },
  { exact h₁ },
end

/-- [lemma] `n % 2` is 0 or 1, and so `n % 2 < 2`. -/
theorem nat_mod_two_lt_two (n : ℕ) : n % 2 < 2 :=
begin
  cases nat.mod_two_eq_zero_or_one n with h h,
  { rw h, exact dec_trivial },
  { rw h, exact dec_trivial },
end

/-- [lemma] Subtraction undoes addition. -/
theorem nat_add_sub_cancel_own (n m : ℕ) : n + m - m = n :=
begin
  induction m with m ih,
  { refl },
  { rw nat.add_succ,
    rw nat.succ_sub_succ,
    exact ih },
end

/-- [search] Injectivity of the successor, by `cases` on the equation. -/
theorem nat_succ_inj_own (a b : ℕ) (h : a + 1 = b + 1) : a = b :=
begin
  cases h,
  refl,
end

/-- [search] Chaining an equation through another variable. -/
theorem nat_eq_via (a b : ℕ) (h₁ : a = 2) (h₂ : b = a) : b = 2 :=
begin
  rw h₂,
  exact h₁,
end

/-- [search] Reflexivity of `≤` and `=` together. -/
theorem nat_le_refl_and_eq (a : ℕ) : a ≤ a ∧ a = a :=
begin
  split,
  refl,
  refl,
end

/-- [search] A decidable `if` after substitution. -/
theorem nat_ite_after_subst (n : ℕ) (h : n = 5) : (if n = 5 then 1 else 0) = 1 :=
begin
  rw h,
  refl,
end

/-- [search] Three small facts from three substitutions, one goal after another. -/
theorem nat_three_substitutions (a b c : ℕ) (h₁ : a = 1) (h₂ : b = 2) (h₃ : c = 3) :
  a * b + c = 5 ∧ c * b = 6 ∧ a + c = 4 :=
begin
  split,
  rw h₁,
  rw h₂,
  rw h₃,
  refl,
  split,
  rw h₃,
  rw h₂,
  refl,
  rw h₁,
  rw h₃,
end
