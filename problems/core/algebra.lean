/-
Simple algebra over ℕ and ℤ with core lemmas only (no `ring`, `linarith` or `norm_num`;
core has no `is_commutative` instances for `ac_refl` either).
Tiers as in logic.lean: [search] or [lemma].
-/

/-- [search] Closed arithmetic over ℕ. -/
theorem alg_nat_closed : (2 + 3) * 4 = 20 ∧ 17 % 5 = 2 :=
begin
  split,
  { refl },
  { refl },
end

/-- [search] Closed arithmetic over ℤ. -/
theorem alg_int_closed : (-3 : ℤ) * 4 + 12 = 0 ∧ (7 : ℤ) - 10 = -3 :=
begin
  split,
  { refl },
  { refl },
end

/-- [search] Substituting a value. -/
theorem alg_nat_subst (x y : ℕ) (h₀ : x = 3) (h₁ : y = x + 2) : y = 5 :=
begin
  rw h₁,
  rw h₀,
end

/-- [search] Substituting into an integer expression. -/
theorem alg_int_subst (a b : ℤ) (h₀ : a = -2) (h₁ : b = a * a) : b = 4 :=
begin
  rw h₁,
  rw h₀,
  refl,
end

/-- [search] A decidable bound on a concrete product. -/
theorem alg_nat_bound : 6 * 7 < 50 ∧ ¬ (50 < 6 * 7) :=
begin
  split,
  { exact dec_trivial },
  { exact dec_trivial },
end

/-- [search] A pair of equations read off a conjunction. -/
theorem alg_nat_pair (x y : ℕ) (h : x = 1 ∧ y = 2) : x + y = 3 :=
begin
  cases h with hx hy,
  rw hx,
  rw hy,
end

/-- [lemma] Right distributivity with the factors turned around. -/
theorem alg_nat_distrib_comm (a b c : ℕ) : (a + b) * c = c * a + c * b :=
begin
  rw nat.right_distrib,
  rw nat.mul_comm a c,
  rw nat.mul_comm b c,
end

/-- [lemma] Expanding a square into four products. -/
theorem alg_nat_square_expand (a b : ℕ) :
  (a + b) * (a + b) = a * a + a * b + (b * a + b * b) :=
begin
  rw nat.right_distrib,
  rw nat.left_distrib,
  rw nat.left_distrib,
end

/-- [lemma] Reassociating and swapping integer factors. -/
theorem alg_int_mul_rearrange (a b c : ℤ) : a * b * c = b * (a * c) :=
begin
  rw int.mul_comm a b,
  rw int.mul_assoc,
end

/-- [lemma] An integer minus itself. -/
theorem alg_int_add_neg_sub (a b : ℤ) : (a + -a) + (b - b) = 0 :=
begin
  rw int.add_right_neg,
  rw int.sub_self,
  refl,
end

/-- [lemma] Equal differences give equal integers. -/
theorem alg_int_eq_of_sub (a b : ℤ) (h : a - b = 0) : a = b :=
begin
  apply int.eq_of_sub_eq_zero,
  exact h,
end

/-- [lemma] Doubling is adding to itself. -/
theorem alg_nat_two_mul (n : ℕ) : 2 * n = n + n :=
begin
  rw nat.succ_mul,
  rw nat.one_mul,
end

/-- [lemma] Reordering a sum of three terms. -/
theorem alg_nat_add_rearrange (a b c : ℕ) : a + b + c = c + b + a :=
begin
  rw nat.add_comm a b,
  rw nat.add_comm (b + a) c,
  rw nat.add_assoc,
end

/-- [lemma] Cancelling a positive factor. -/
theorem alg_nat_mul_cancel (a b : ℕ) (h : 3 * a = 3 * b) : a = b :=
begin
  have h₃ : 0 < 3 := dec_trivial,
  exact nat.eq_of_mul_eq_mul_left h₃ h,
end

/-- [search] Two integer values read off a conjunction. -/
theorem alg_int_pair (a b : ℤ) (h : a = 1 ∧ b = -1) : a + b = 0 :=
begin
  cases h with ha hb,
  rw ha,
  rw hb,
  refl,
end
