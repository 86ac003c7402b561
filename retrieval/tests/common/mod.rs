//! Synthetic declarations in mathlib's shapes, many and deterministic, for the tests and the
//! timing example (which includes this file by path).

use retrieval::Declaration;

const NAMESPACES: &[&str] = &[
    "nat",
    "int",
    "real",
    "rat",
    "complex",
    "finset",
    "set",
    "list",
    "multiset",
    "polynomial",
    "matrix",
    "zmod",
    "fin",
    "function",
    "order",
    "measure_theory",
    "topology",
    "filter",
];
const WORDS: &[&str] = &[
    "add",
    "mul",
    "sub",
    "div",
    "pow",
    "le",
    "lt",
    "eq",
    "ne",
    "succ",
    "pred",
    "prime",
    "dvd",
    "mod",
    "sum",
    "prod",
    "range",
    "card",
    "abs",
    "sqrt",
    "floor",
    "ceil",
    "neg",
    "inv",
    "zero",
    "one",
    "two",
    "comm",
    "assoc",
    "cancel",
    "pos",
    "nonneg",
    "mono",
    "injective",
    "map",
    "image",
    "preimage",
    "union",
    "inter",
    "subset",
    "mem",
    "insert",
    "erase",
    "filter",
    "max",
    "min",
    "gcd",
    "lcm",
    "factorial",
    "choose",
    "exp",
    "log",
    "sin",
    "cos",
    "self",
    "left",
    "right",
    "iff",
    "of",
    "trans",
    "symm",
    "congr",
    "ext",
    "smul",
    "coe",
    "cast",
];
const TYPES: &[&str] = &["ℕ", "ℤ", "ℝ", "ℚ", "ℂ", "α", "β"];
const RELATIONS: &[&str] = &["=", "≤", "<", "≠", "∣", "↔", "⊆", "∈"];
const OPERATORS: &[&str] = &["+", "*", "-", "/", "^", "%", "∪", "∩"];
const KINDS: &[&str] = &[
    "theorem",
    "theorem",
    "theorem",
    "definition",
    "constant",
    "axiom",
];

/// A small deterministic generator (SplitMix64), so that every run indexes the same text.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
}

/// The `i`-th synthetic declaration: a unique name from namespace words, a statement with
/// binders, a hypothesis and a relation between terms built from constants and operators.
pub fn synthetic_declaration(i: usize, rng: &mut Rng) -> Declaration {
    let ns = rng.pick(NAMESPACES);
    let (w1, w2, w3) = (rng.pick(WORDS), rng.pick(WORDS), rng.pick(WORDS));
    let ty = rng.pick(TYPES);
    let f = format!("{ns}.{}", rng.pick(WORDS));
    let g = format!("{}.{}", rng.pick(NAMESPACES), rng.pick(WORDS));
    let (op1, op2) = (rng.pick(OPERATORS), rng.pick(OPERATORS));
    let (rel1, rel2) = (rng.pick(RELATIONS), rng.pick(RELATIONS));
    let k = rng.next() % 20;
    let statement = format!(
        "∀ {{a b : {ty}}} (n : ℕ), a {rel1} {f} b → {f} (a {op1} b) {rel2} {g} a {op2} {k} ^ n"
    );
    Declaration {
        name: format!("{ns}.{w1}_{w2}_{w3}_{i}"),
        kind: rng.pick(KINDS).to_string(),
        statement,
        path: Some(format!("src/{ns}/basic.lean")),
        line: Some((i % 3000) as u32 + 1),
        column: Some(0),
    }
}

pub fn synthetic_declarations(count: usize) -> Vec<Declaration> {
    let mut rng = Rng::new(2024);
    (0..count)
        .map(|i| synthetic_declaration(i, &mut rng))
        .collect()
}
