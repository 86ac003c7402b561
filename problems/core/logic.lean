/-
Propositional and first-order logic. Needs only Lean 3 core.
Doc comments give the tier: [search] = within reach of a plain search over
intro/split/cases/left/right/exact/assumption/cc, [lemma] = needs a named lemma
or a less obvious step.
-/

/-- [search] Conjunction is symmetric. -/
theorem logic_and_swap (p q : Prop) (h : p ∧ q) : q ∧ p :=
begin
  cases h with hp hq,
  split,
  exact hq,
  exact hp,
end

/-- [search] Disjunction is symmetric. -/
theorem logic_or_swap (p q : Prop) (h : p ∨ q) : q ∨ p :=
begin
  cases h with hp hq,
  { right, exact hp },
  { left, exact hq },
end

/-- [search] Implication chains. -/
theorem logic_imp_trans (p q r : Prop) (hpq : p → q) (hqr : q → r) : p → r :=
begin
  intro hp,
  apply hqr,
  apply hpq,
  exact hp,
end

/-- [search] Regrouping a triple conjunction. -/
theorem logic_and_assoc (p q r : Prop) : (p ∧ q) ∧ r ↔ p ∧ (q ∧ r) :=
begin
  split,
  { intro h,
    cases h with hpq hr,
    cases hpq with hp hq,
    exact ⟨hp, hq, hr⟩ },
  { intro h,
    cases h with hp hqr,
    cases hqr with hq hr,
    exact ⟨⟨hp, hq⟩, hr⟩ },
end

/-- [search] A proposition implies its double negation. -/
theorem logic_not_not_intro (p : Prop) (hp : p) : ¬¬p :=
begin
  intro hn,
  apply hn,
  exact hp,
end

/-- [search] Contraposition. -/
theorem logic_contrapositive (p q : Prop) (h : p → q) : ¬q → ¬p :=
begin
  intros hnq hp,
  apply hnq,
  exact h hp,
end

/-- [search] Anything follows from a contradiction. -/
theorem logic_absurd_any (p q : Prop) (hp : p) (hnp : ¬p) : q :=
begin
  exfalso,
  apply hnp,
  exact hp,
end

/-- [search] Two implications make an equivalence. -/
theorem logic_iff_of_both (p q : Prop) (h₁ : p → q) (h₂ : q → p) : p ↔ q :=
begin
  split,
  exact h₁,
  exact h₂,
end

/-- [search] De Morgan for a negated disjunction. -/
theorem logic_not_or_iff (p q : Prop) : ¬(p ∨ q) ↔ ¬p ∧ ¬q :=
begin
  split,
  { intro h,
    split,
    { intro hp, exact h (or.inl hp) },
    { intro hq, exact h (or.inr hq) } },
  { intros h hpq,
    cases h with hnp hnq,
    cases hpq with hp hq,
    { exact hnp hp },
    { exact hnq hq } },
end

/-- [search] Conjunction distributes over disjunction (one direction). -/
theorem logic_and_or_distrib (p q r : Prop) (h : p ∧ (q ∨ r)) : (p ∧ q) ∨ (p ∧ r) :=
begin
  cases h with hp hqr,
  cases hqr with hq hr,
  { left, exact ⟨hp, hq⟩ },
  { right, exact ⟨hp, hr⟩ },
end

/-- [search] A universally true predicate on an inhabited type is satisfiable. -/
theorem logic_exists_of_forall (α : Type) (p : α → Prop) (a : α) (h : ∀ x, p x) :
  ∃ x, p x :=
begin
  existsi a,
  exact h a,
end

/-- [search] Dropping the right half of an existential conjunction. -/
theorem logic_exists_and_left (α : Type) (p q : α → Prop) (h : ∃ x, p x ∧ q x) :
  ∃ x, p x :=
begin
  cases h with x hx,
  existsi x,
  exact hx.left,
end

/-- [search] A universal statement over a conjunction splits. -/
theorem logic_forall_and_split (α : Type) (p q : α → Prop) (h : ∀ x, p x ∧ q x) :
  (∀ x, p x) ∧ (∀ x, q x) :=
begin
  split,
  { intro x, exact (h x).left },
  { intro x, exact (h x).right },
end

/-- [search] No witness means the predicate fails everywhere. -/
theorem logic_forall_not_of_not_exists (α : Type) (p : α → Prop) (h : ¬ ∃ x, p x) :
  ∀ x, ¬ p x :=
begin
  intros x hx,
  apply h,
  exact ⟨x, hx⟩,
end

/-- [search] Universal quantifiers commute. -/
theorem logic_forall_swap (α β : Type) (r : α → β → Prop) (h : ∀ x y, r x y) :
  ∀ y x, r x y :=
begin
  intros y x,
  exact h x y,
end

/-- [search] Existential quantifiers commute. -/
theorem logic_exists_swap (α β : Type) (r : α → β → Prop) (h : ∃ x, ∃ y, r x y) :
  ∃ y, ∃ x, r x y :=
begin
  cases h with x hx,
  cases hx with y hy,
  existsi y,
  existsi x,
  exact hy,
end

/-- [search] Congruence closure: equal arguments give equal values. -/
theorem logic_congr_chain (α : Type) (f : α → α) (a b c : α) (h₁ : a = b) (h₂ : b = c) :
  f a = f c :=
begin
  rw h₁,
  rw h₂,
end

/-- [lemma] Case split on a decidable proposition. -/
theorem logic_by_cases (p q : Prop) [decidable p] (hpq : p → q) (hnpq : ¬p → q) : q :=
begin
  by_cases hp : p,
  { exact hpq hp },
  { exact hnpq hp },
end

/-- [search] An implication out of a disjunction is a pair of implications. -/
theorem logic_or_imp_iff (p q r : Prop) : (p ∨ q → r) ↔ (p → r) ∧ (q → r) :=
begin
  split,
  { intro h,
    exact ⟨λ hp, h (or.inl hp), λ hq, h (or.inr hq)⟩ },
  { intros h hpq,
    cases h with hpr hqr,
    cases hpq with hp hq,
    { exact hpr hp },
    { exact hqr hq } },
end

/-- [lemma] Double negation elimination needs classical reasoning. -/
theorem logic_not_not_elim (p : Prop) (h : ¬¬p) : p :=
begin
  apply classical.by_contradiction,
  intro hn,
  exact h hn,
end

/-- [lemma] Peirce's law, by excluded middle. -/
theorem logic_peirce (p q : Prop) : ((p → q) → p) → p :=
begin
  intro h,
  cases classical.em p with hp hnp,
  { exact hp },
  { apply h,
    intro hp,
    exact absurd hp hnp },
end

/-- [search] Currying a conjunction. -/
theorem logic_curry_iff (p q r : Prop) : (p ∧ q → r) ↔ (p → q → r) :=
begin
  split,
  { intros h hp hq,
    exact h ⟨hp, hq⟩ },
  { intros h hpq,
    cases hpq with hp hq,
    exact h hp hq },
end

/-- [search] Equivalence is symmetric. -/
theorem logic_iff_symm_own (p q : Prop) (h : p ↔ q) : q ↔ p :=
begin
  cases h with h₁ h₂,
  split,
  exact h₂,
  exact h₁,
end

/-- [search] An existential over a disjunction splits. -/
theorem logic_exists_or_split (α : Type) (p q : α → Prop) (h : ∃ x, p x ∨ q x) :
  (∃ x, p x) ∨ (∃ x, q x) :=
begin
  cases h with x hx,
  cases hx with hp hq,
  { left, exact ⟨x, hp⟩ },
  { right, exact ⟨x, hq⟩ },
end

/-- [lemma] One De Morgan direction that needs excluded middle, as a flat script. -/
theorem logic_not_and_classical (p q : Prop) : ¬(p ∧ q) → ¬p ∨ ¬q :=
begin
  intro h,
  cases classical.em p with hp hnp,
  right,
  intro hq,
  apply h,
  exact ⟨hp, hq⟩,
  left,
  exact hnp,
end
