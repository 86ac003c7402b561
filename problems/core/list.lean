/-
Lists: append, length, map, membership and reverse. Needs only Lean 3 core, which has
the basic `append`/`length`/`map` lemmas (many tagged `simp`) but nothing about
`reverse`. Tiers as in logic.lean: [search] or [lemma].
-/

/-- [search] Appending the empty list, by induction. -/
theorem list_append_nil_own (α : Type) (l : list α) : l ++ [] = l :=
begin
  induction l with a l ih,
  { refl },
  { rw list.cons_append,
    rw ih },
end

/-- [lemma] Length of an append, by induction; core `simp` needs the reordering lemma. -/
theorem list_length_append_own (α : Type) (l₁ l₂ : list α) :
  (l₁ ++ l₂).length = l₁.length + l₂.length :=
begin
  induction l₁ with a l ih,
  { simp [nat.zero_add] },
  { simp [ih, nat.add_right_comm] },
end

/-- [search] `map` distributes over append. -/
theorem list_map_append_own (α β : Type) (f : α → β) (l₁ l₂ : list α) :
  list.map f (l₁ ++ l₂) = list.map f l₁ ++ list.map f l₂ :=
begin
  induction l₁ with a l ih,
  { refl },
  { simp [ih] },
end

/-- [search] `map` keeps the length. -/
theorem list_length_map_own (α β : Type) (f : α → β) (l : list α) :
  (list.map f l).length = l.length :=
begin
  induction l with a l ih,
  { refl },
  { simp [ih] },
end

/-- [search] Append is associative. -/
theorem list_append_assoc_own (α : Type) (l₁ l₂ l₃ : list α) :
  l₁ ++ l₂ ++ l₃ = l₁ ++ (l₂ ++ l₃) :=
begin
  induction l₁ with a l ih,
  { refl },
  { simp [ih] },
end

/-- [search] A cons is never empty. -/
theorem list_cons_ne_nil_own (α : Type) (a : α) (l : list α) : a :: l ≠ [] :=
begin
  intro h,
  cases h,
end

/-- [search] Membership in a singleton. -/
theorem list_mem_singleton_own (α : Type) (a b : α) (h : a ∈ [b]) : a = b :=
begin
  simp at h,
  exact h,
end

/-- [search] Membership survives appending on the right. -/
theorem list_mem_append_of_mem_left (α : Type) (a : α) (l₁ l₂ : list α) (h : a ∈ l₁) :
  a ∈ l₁ ++ l₂ :=
begin
  simp,
  left,
  exact h,
end

/-- [search] Concrete computations with lists of numbers. -/
theorem list_closed_facts :
  list.reverse [1, 2, 3] = [3, 2, 1] ∧ ([1, 2] ++ [3]).length = 3 ∧ list.map nat.succ [0, 1] = [1, 2] :=
begin
  split,
  { refl },
  split,
  { refl },
  { refl },
end

/-- [search] The length of `repeat`. -/
theorem list_length_repeat_own (α : Type) (a : α) (n : ℕ) : (list.repeat a n).length = n :=
begin
  induction n with n ih,
  { refl },
  { simp [ih] },
end

/-- [search] A list of length zero is empty. -/
theorem list_eq_nil_of_length_zero (α : Type) (l : list α) (h : l.length = 0) : l = [] :=
begin
  cases l with a l,
  { refl },
  { simp at h,
    contradiction },
end

/-- [lemma] A non-empty list has positive length. -/
theorem list_length_pos_of_cons (α : Type) (a : α) (l : list α) : 0 < (a :: l).length :=
begin
  rw list.length_cons,
  apply nat.succ_pos,
end

/-- [lemma] The accumulator of `reverse_core` comes out at the end. -/
theorem list_reverse_core_append (α : Type) :
  ∀ (l r : list α), list.reverse_core l r = list.reverse_core l [] ++ r :=
begin
  intro l,
  induction l with a l ih,
  { intro r, refl },
  { intro r,
    unfold list.reverse_core,
    rw [ih (a :: r), ih [a]],
    simp },
end

/-- [lemma] Reversing an append, from the lemma above. -/
theorem list_reverse_cons_own (α : Type) (a : α) (l : list α) :
  list.reverse (a :: l) = list.reverse l ++ [a] :=
begin
  unfold list.reverse,
  unfold list.reverse_core,
  rw list_reverse_core_append,
end

/-- [lemma] Reverse keeps the length. -/
theorem list_length_reverse_own (α : Type) (l : list α) : l.reverse.length = l.length :=
begin
  induction l with a l ih,
  { refl },
  { rw list_reverse_cons_own,
    rw list.length_append,
    rw ih,
    refl },
end

/-- [lemma] Mapping commutes with reverse. -/
theorem list_map_reverse_own (α β : Type) (f : α → β) (l : list α) :
  list.map f l.reverse = (list.map f l).reverse :=
begin
  induction l with a l ih,
  { refl },
  { rw [list.map_cons, list_reverse_cons_own, list_reverse_cons_own],
    rw [list.map_append, ih],
    refl },
end

/-- [search] The head of a cons is a member. -/
theorem list_mem_cons_self_own (α : Type) (a : α) (l : list α) : a ∈ a :: l :=
begin
  left,
  refl,
end

/-- [search] Tail of a known cons. -/
theorem list_tail_of_eq_cons (α : Type) (a : α) (l t : list α) (h : l = a :: t) : l.tail = t :=
begin
  rw h,
  refl,
end

/-- [search] Length of a known two-element list. -/
theorem list_length_of_eq_pair (α : Type) (a b : α) (l : list α) (h : l = [a, b]) :
  l.length = 2 :=
begin
  rw h,
  refl,
end

/-- [lemma] Mapping twice is mapping the composition, rewriting step by step. -/
theorem list_map_map_own (α β γ : Type) (f : α → β) (g : β → γ) (l : list α) :
  list.map g (list.map f l) = list.map (g ∘ f) l :=
begin
  induction l with a l ih,
  refl,
  rw list.map_cons,
  rw list.map_cons,
  rw list.map_cons,
  rw ih,
end
