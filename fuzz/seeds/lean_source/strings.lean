theorem s : "a/-b" = "a/-b" := rfl
-- line comment with begin
/- nested /- comment -/ still -/
theorem «weird name» : true := trivial
theorem t (h : 1 = 1) : 1 = 1 := begin exact h, end
