//! The rustdoc of `backward`: the derived equations in the notation of the lecture, so a
//! reader can check the chain rule the macro applied: `∂L/∂z₂ = y − t`,
//! `∂L/∂w2 += ∂L/∂z₂ ⊗ h`, `∂L/∂h = w2ᵀ ∂L/∂z₂`.

use std::collections::HashMap;
use std::fmt::Write;

use chainrule_grammar::model::{Net, Scalar};

use crate::ir::{Binary, Graph, Id, Op, Part, Shape, Unary};
use crate::lower::Lowered;
use crate::naming::Role;
use crate::plan::{MethodSpec, Place, Plan, Step, order};
use crate::print::{self, P_ADD, P_ATOM, P_MUL, P_NEG, binop};

/// A term of the derivation.
type Expr = print::Expr<String>;

/// The doc comment of `backward`.
pub fn backward(
    net: &Net,
    low: &Lowered,
    spec: &MethodSpec,
    plan: &Plan,
    roles: &[Role],
    totals: &[Option<Id>],
) -> String {
    let g = &low.graph;
    let live = g.reachable(spec.roots());
    let named = doc_named(low, plan, totals, &live);
    let printer = Printer::new(net, low, roles, totals, &named);
    // One line per named node, in order; each sink right after the last line it reads,
    // as the code runs them.
    let stores = g
        .ids()
        .filter(|id| named[id.index()] && !printer.is_alias(*id));
    let sinks = spec
        .sinks
        .iter()
        .map(|sink| {
            let after = sink
                .terms
                .iter()
                .filter_map(|t| printer.last_named(*t))
                .max();
            let step = Step::Sink {
                param: sink.param,
                terms: sink.terms.clone(),
            };
            (after, step)
        })
        .collect();
    let lines = order(stores, sinks).into_iter().map(|step| match step {
        Step::Store(id) => {
            let lhs = if id == low.loss {
                "L".to_string()
            } else {
                printer.names[&id].clone()
            };
            format!("{lhs} = {}", printer.expr(id, true).text)
        }
        Step::Sink { param, terms } => {
            let rhs: Vec<String> = terms.iter().map(|t| printer.expr(*t, false).text).collect();
            format!("∂L/∂{} += {}", net.params[param].name, rhs.join(" + "))
        }
    });
    let mut doc = String::from(
        " Adds `∂L/∂θ` for every parameter `θ` to `grad` and returns the loss `L`.\n\n \
         The chain rule as `network!` derived and simplified it at compile time, one line \
         per value (`⊙` is the elementwise product, `⊗` the outer product, `·` a scalar \
         product, `Σ` a sum over all elements, `[a > 0]` is 1 where `a > 0` and 0 \
         elsewhere):\n\n ```text\n",
    );
    for line in lines {
        let _ = writeln!(doc, " {line}");
    }
    doc.push_str(" ```\n\n `backward_batch` adds the mean of these over a batch.");
    doc.push_str(&loops(net, g, &printer));
    doc
}

/// A state as the docs name it: `h`, or `` `c` of layer `enc` `` for the state a recurrent
/// layer's `let enc = lstm(..)` declares (named "enc c" in the model).
fn state_label(name: &str) -> String {
    match name.split_once(' ') {
        Some((layer, state)) => format!("`{state}` of layer `{layer}`"),
        None => format!("`{name}`"),
    }
}

/// What each `for` loop keeps for its backward pass: the states as each step began, from
/// which the backward loop recomputes the step. Empty for a net without loops.
fn loops(net: &Net, g: &Graph, printer: &Printer) -> String {
    let scalar = match net.scalar {
        Scalar::F32 => ("f32", 4),
        Scalar::F64 => ("f64", 8),
    };
    let mut out = String::new();
    for scan in &g.scans {
        let names: Vec<String> = (scan.states.iter())
            .map(|s| state_label(&net.states[*s].name))
            .collect();
        let per_step: usize = (scan.new_states.iter())
            .map(|s| scan.cell.shape(*s).len())
            .sum();
        let seq = printer.expr(scan.seq, false).text;
        let _ = write!(
            out,
            "\n\n The loop over the {} rows of `{seq}` runs one step function per row, \
             forwards and backwards.",
            scan.steps
        );
        if per_step > 0 {
            let _ = write!(
                out,
                " Backwards, each step is recomputed from the states it began with ({}), \
                 kept on the stack: {} steps × {per_step} {} = {} bytes.",
                names.join(", "),
                scan.steps,
                scalar.0,
                scan.steps * per_step * scalar.1
            );
        }
    }
    out
}

/// The nodes that get a line of their own: `let` values, pre-activations, the loss, the
/// adjoints of those, and everything the code stores.
fn doc_named(low: &Lowered, plan: &Plan, totals: &[Option<Id>], live: &[bool]) -> Vec<bool> {
    let g = &low.graph;
    let mut named = vec![false; g.len()];
    for id in g.ids().filter(|id| live[id.index()]) {
        let op = g.op(id);
        if op.is_leaf() {
            continue;
        }
        if plan.place[id.index()] == Place::Let || low.lets.contains(&id) || id == low.loss {
            named[id.index()] = true;
        }
        if let Op::Unary(f, a) = op {
            let activation = matches!(f, Unary::Elem(e) if e.function().public);
            let forward = low.owners.get(a.index()).is_some_and(|o| o.is_some());
            if activation && forward && !g.op(a).is_leaf() {
                named[a.index()] = true;
            }
        }
    }
    for (f, total) in totals.iter().enumerate() {
        if let Some(t) = total
            && named.get(f) == Some(&true)
            && live[t.index()]
            && !g.op(*t).is_leaf()
        {
            named[t.index()] = true;
        }
    }
    named
}

struct Printer<'a> {
    g: &'a Graph,
    net: &'a Net,
    names: HashMap<Id, String>,
}

fn subscript(k: usize) -> String {
    k.to_string()
        .chars()
        .map(|c| char::from_u32(0x2080 + c.to_digit(10).unwrap_or(0)).unwrap_or(c))
        .collect()
}

impl<'a> Printer<'a> {
    fn new(
        net: &'a Net,
        low: &'a Lowered,
        roles: &[Role],
        totals: &[Option<Id>],
        named: &[bool],
    ) -> Self {
        let g = &low.graph;
        let mut names: HashMap<Id, String> = HashMap::new();
        let (mut z, mut d, mut s) = (0, 0, 0);
        // The forward node each total adjoint belongs to, to name `∂L/∂z₁` after `z₁`.
        let adjoint_of: HashMap<Id, Id> = totals
            .iter()
            .enumerate()
            .filter_map(|(f, t)| t.map(|t| (t, Id(f as u32))))
            .collect();
        for id in g.ids().filter(|id| named[id.index()]) {
            // `x · scale` is `x` in `backward` (scale 1): it keeps the name of `x`.
            if let Op::Binary(Binary::Mul, a, b) = g.op(id) {
                let alias = match (g.op(a), g.op(b)) {
                    (_, Op::Seed) => names.get(&a).cloned(),
                    (Op::Seed, _) => names.get(&b).cloned(),
                    _ => None,
                };
                if let Some(alias) = alias {
                    names.insert(id, alias);
                    continue;
                }
            }
            let forward_name = adjoint_of.get(&id).and_then(|f| names.get(f)).cloned();
            let name = match (&roles[id.index()], forward_name) {
                (Role::Value(n), _) => n.clone(),
                (Role::Adjoint(n), _) => format!("∂L/∂{n}"),
                (_, Some(f)) if id != low.loss => format!("∂L/∂{f}"),
                (Role::Forward(_), _) => {
                    z += 1;
                    format!("z{}", subscript(z))
                }
                _ if g.shape(id) == Shape::Scalar => {
                    s += 1;
                    format!("s{}", subscript(s))
                }
                _ => {
                    d += 1;
                    format!("δ{}", subscript(d))
                }
            };
            names.insert(id, name);
        }
        if names.contains_key(&low.loss) {
            names.insert(low.loss, "L".into());
        }
        Self { g, net, names }
    }

    /// True for `x · scale` where `x` has a line of its own.
    fn is_alias(&self, id: Id) -> bool {
        match self.g.op(id) {
            Op::Binary(Binary::Mul, a, b) => {
                (self.g.op(b) == Op::Seed && self.names.contains_key(&a))
                    || (self.g.op(a) == Op::Seed && self.names.contains_key(&b))
            }
            _ => false,
        }
    }

    /// The latest named node an expression reads.
    fn last_named(&self, id: Id) -> Option<Id> {
        if self.names.contains_key(&id) {
            return Some(id);
        }
        self.g.children(id).filter_map(|c| self.last_named(c)).max()
    }

    /// The expression of a node; `top` expands a stored node instead of naming it.
    fn expr(&self, id: Id, top: bool) -> Expr {
        if !top && let Some(n) = self.names.get(&id) {
            return Expr::atom(n.clone());
        }
        let g = self.g;
        let node = g.node(id);
        let sub = |x: Id| self.expr(x, false);
        match node.op {
            Op::Input => Expr::new(self.net.input.name.clone(), P_ATOM),
            Op::Target => Expr::new(
                self.net
                    .target
                    .as_ref()
                    .map_or_else(|| "t".into(), |t| t.name.clone()),
                P_ATOM,
            ),
            Op::Param(p) => Expr::new(self.net.params[p as usize].name.clone(), P_ATOM),
            Op::Seed => Expr::new("1".into(), P_ATOM),
            Op::Const(bits) => {
                let v = f64::from_bits(bits);
                if v < 0.0 {
                    Expr::new(format!("−{}", -v), P_NEG)
                } else {
                    Expr::new(format!("{v}"), P_ATOM)
                }
            }
            Op::Unary(Unary::Neg, a) => Expr::new(format!("−{}", sub(a).at(P_NEG)), P_NEG),
            Op::Unary(Unary::Square, a) => Expr::new(format!("{}²", sub(a).at(P_ATOM)), P_ATOM),
            Op::Unary(Unary::Elem(f), a) => {
                let row = f.function();
                let mut text = row.notation.replace("{x}", &sub(a).text);
                for (p, v) in row.params.iter().zip(f.params()) {
                    text = text.replace(&format!("{{{}}}", p.name), &v.to_string());
                }
                Expr::atom(text)
            }
            Op::Binary(f, a, b) => {
                let (ea, eb) = (sub(a), sub(b));
                match f {
                    Binary::Add => binop(ea, "+".into(), eb, P_ADD),
                    Binary::Sub => binop(ea, "−".into(), eb, P_ADD),
                    Binary::Mul | Binary::Div => {
                        let seed = |x: Id| g.op(x) == Op::Seed;
                        if f == Binary::Mul && seed(b) {
                            return ea;
                        }
                        if f == Binary::Mul && seed(a) {
                            return eb;
                        }
                        let scalar = g.shape(a) == Shape::Scalar || g.shape(b) == Shape::Scalar;
                        let op = match (f, scalar) {
                            (Binary::Div, _) => "/",
                            (_, true) => "·",
                            (_, false) => "⊙",
                        };
                        binop(ea, op.into(), eb, P_MUL)
                    }
                    Binary::Pow => {
                        Expr::new(format!("{}^{}", ea.at(P_ATOM), eb.at(P_ATOM)), P_ATOM)
                    }
                    other => Expr::new(
                        format!(
                            "{}({}, {})",
                            crate::ir::binary_name(other),
                            ea.text,
                            eb.text
                        ),
                        P_ATOM,
                    ),
                }
            }
            Op::Broadcast(s) => sub(s),
            Op::Sum(a) => Expr::new(format!("Σ {}", sub(a).at(P_ATOM)), P_NEG),
            Op::Transpose(a) => Expr::new(format!("{}ᵀ", sub(a).at(P_ATOM)), P_ATOM),
            Op::Index(a, i, j) => match g.shape(a) {
                Shape::Matrix(..) => Expr::new(format!("{}[{i}, {j}]", sub(a).at(P_ATOM)), P_ATOM),
                _ => Expr::new(format!("{}[{i}]", sub(a).at(P_ATOM)), P_ATOM),
            },
            Op::Unindex(s, i, j) => match node.shape {
                Shape::Matrix(..) => {
                    Expr::new(format!("e[{i}, {j}] · {}", sub(s).at(P_NEG)), P_MUL)
                }
                _ => Expr::new(format!("e[{i}] · {}", sub(s).at(P_NEG)), P_MUL),
            },
            Op::MatVec(w, x) => Expr::new(
                format!("{} {}", sub(w).at(P_ATOM), sub(x).at(P_ATOM)),
                P_MUL,
            ),
            Op::VecMat(x, w) => Expr::new(
                format!("{}ᵀ {}", sub(w).at(P_ATOM), sub(x).at(P_ATOM)),
                P_MUL,
            ),
            Op::MatMat(a, b, ta, tb) => {
                let t = |flag: bool| if flag { "ᵀ" } else { "" };
                Expr::new(
                    format!(
                        "{}{} {}{}",
                        sub(a).at(P_ATOM),
                        t(ta),
                        sub(b).at(P_ATOM),
                        t(tb)
                    ),
                    P_MUL,
                )
            }
            Op::Outer(u, v) => Expr::new(
                format!("{} ⊗ {}", sub(u).at(P_ATOM), sub(v).at(P_ATOM)),
                P_MUL,
            ),
            Op::Softmax(a) => Expr::new(format!("softmax({})", sub(a).text), P_ATOM),
            Op::LogSoftmax(a) => Expr::new(format!("log_softmax({})", sub(a).text), P_ATOM),
            Op::Slice(a, s) => Expr::new(
                format!(
                    "{}[{s}..{}]",
                    sub(a).at(P_ATOM),
                    s as usize + node.shape.len()
                ),
                P_ATOM,
            ),
            Op::Unslice(a, s) => Expr::new(
                format!(
                    "e[{s}..{}] · {}",
                    s as usize + g.shape(a).len(),
                    sub(a).at(P_NEG)
                ),
                P_MUL,
            ),
            Op::Row(a, i) => Expr::new(format!("{}[{i}]", sub(a).at(P_ATOM)), P_ATOM),
            Op::Unrow(a, i) => Expr::new(format!("e[{i}] · {}", sub(a).at(P_NEG)), P_MUL),
            Op::State(k) => Expr::atom(format!("state{k}")),
            Op::Captured(j) => Expr::atom(format!("captured{j}")),
            Op::Adj(k) => Expr::atom(format!("adj{k}")),
            Op::Scan(_) => {
                let s = g.scan_of(id);
                Expr::atom(format!("for each row of {}", sub(s.seq).at(P_ATOM)))
            }
            Op::ScanFinal(scan, k) => {
                let s = g.scan_of(scan);
                let name = (s.states.get(k as usize))
                    .and_then(|i| self.net.states.get(*i))
                    .map_or("state".into(), |st| state_label(&st.name));
                Expr::atom(format!("{name} after the loop"))
            }
            Op::ScanBack(_) => Expr::atom("the loop backwards".into()),
            Op::ScanBackPart(back, part) => {
                let scan = match g.op(back) {
                    Op::ScanBack(b) => Some(g.scan_of(g.backs[b as usize].scan)),
                    _ => None,
                };
                let what = match (part, scan) {
                    (Part::Seq, Some(s)) => format!("rows of {}", sub(s.seq).at(P_ATOM)),
                    (Part::Init(k), Some(s)) => {
                        let name = (s.states.get(k as usize))
                            .and_then(|i| self.net.states.get(*i))
                            .map_or("state".into(), |st| state_label(&st.name));
                        format!("start of {name}")
                    }
                    (Part::Captured(j), Some(s)) => (s.captured.get(j as usize))
                        .map_or_else(|| "value".into(), |c| sub(*c).text),
                    (Part::Param(i), Some(s)) => (s.params.get(i as usize))
                        .map_or_else(|| "parameter".into(), |p| sub(*p).text),
                    _ => "operand".into(),
                };
                Expr::atom(format!("∂L/∂({what}) from the loop backwards"))
            }
        }
    }
}
