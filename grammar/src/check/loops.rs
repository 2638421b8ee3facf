//! `state` and `for`: which loop carries each state, a state's initial value, and the
//! typing of a loop and its body.
//!
//! A state belongs to the one loop whose body assigns it. Inside that loop its name is
//! its value at that point of the step (the previous step's until the body assigns it);
//! after the loop, anywhere, it is its final value; before the loop it has none.

use crate::ast::{self, BodyStmt, ForLoop, Span};
use crate::diag::Ctxt;
use crate::model::{self, CellStmt, ExprKind, Init, StateInit, Sym};

use super::attrs::{self, INITS};
use super::dense::{Kind, Stmt};
use super::expr::{ExprChecker, Sh, Typed, show};
use super::scope::{DeclKind, Decls, Scope, did_you_mean};

/// The loop being typed, for names its body declares.
pub(super) struct Body {
    /// The loop's position after desugaring, which owns the states it assigns.
    pub(super) pos: usize,
    /// The row variable and its shape.
    pub(super) row: (String, Sh),
    /// The body's `let`s so far, in order: [`Sym::Local`] by place.
    pub(super) locals: Vec<(String, Option<Sh>)>,
}

/// Finds the loop that carries each state, before anything is typed, so a use of a state
/// anywhere can tell its current value from its final one. Rejects an assignment to a
/// name that is not a state (`w = w * 2;` with a parameter `w`), a state assigned by two
/// loops, and a state no loop assigns.
pub(super) fn owners(cx: &Ctxt, stmts: &[Stmt], scope: &mut Scope) {
    for (pos, stmt) in stmts.iter().enumerate() {
        let Kind::LetFor {
            for_loop: Some(l), ..
        } = &stmt.kind
        else {
            continue;
        };
        let lets: Vec<&str> = (l.body.iter())
            .filter_map(|s| match s {
                BodyStmt::Let(n, _) => Some(n.text.as_str()),
                BodyStmt::Assign(..) => None,
            })
            .collect();
        for s in &l.body {
            let BodyStmt::Assign(name, _) = s else {
                continue;
            };
            let decls = &mut scope.decls;
            match decls.by_name.get_mut(&name.text) {
                Some(d) if d.kind == DeclKind::State => match d.owner {
                    None => d.owner = Some(pos),
                    Some(p) if p == pos => {}
                    Some(_) => cx.error(
                        &name.span,
                        format!(
                            "state `{}` is already carried by another `for` loop; a state belongs to the one loop that assigns it, so give this loop a state of its own",
                            name.text
                        ),
                    ),
                },
                Some(d) if d.sym.is_none() => {} // a failed declaration (reported)
                Some(d) => cx.error(
                    &name.span,
                    format!(
                        "`{}` is {}, and a loop body assigns only states; declare one with `state {}: [..];` above the loop",
                        name.text,
                        d.describe(),
                        name.text
                    ),
                ),
                None if lets.contains(&name.text.as_str()) || l.var.text == name.text => {
                    cx.error(
                        &name.span,
                        format!(
                            "`{}` is a value of this step and cannot be assigned; a value carried to the next step is a state, declared with `state {}: [..];` above the loop",
                            name.text, name.text
                        ),
                    )
                }
                None => cx.error(
                    &name.span,
                    format!(
                        "unknown state `{}`{}; declare it with `state {}: [..];` above the loop",
                        name.text,
                        did_you_mean(&name.text, state_names(decls)),
                        name.text
                    ),
                ),
            }
        }
    }
    // Rejects: `state h: [4];` that no loop assigns. A layer's hidden state ("h c") has
    // its layer's loop, unless the layer was refused, which is reported already.
    for n in &scope.decls.order {
        if let Some(d) = scope.decls.by_name.get(n)
            && d.kind == DeclKind::State
            && !n.contains(' ')
            && d.sym.is_some()
            && d.owner.is_none()
            && !scope.broken
        {
            cx.error(
                &d.span,
                format!(
                    "state `{n}` is never assigned; give it its value for the next step inside a `for` loop, like `{n} = tanh(w @ {n} + u @ x);`"
                ),
            );
        }
    }
}

fn state_names(decls: &Decls) -> impl Iterator<Item = &str> {
    (decls.order.iter())
        .filter(|n| {
            decls
                .by_name
                .get(*n)
                .is_some_and(|d| d.kind == DeclKind::State)
        })
        .map(String::as_str)
}

/// A state's value before the first step: `zeros` (also without `=`), `ones`,
/// `constant(c)`, or a parameter of its shape declared above it, which then learns it.
/// Rejects: `= xavier`, `= w` with `w` of another shape or below, `= h2` for a state.
pub(super) fn state_init(
    cx: &Ctxt,
    decls: &Decls,
    shape: Option<Sh>,
    init: Option<&ast::Init>,
    pos: usize,
) -> Option<StateInit> {
    let how = "a state starts at `zeros` (the default), `ones`, `constant(c)`, or a parameter's value, learned with it";
    let Some(i) = init else {
        return Some(StateInit::Zeros);
    };
    let name = i.name.text.as_str();
    if INITS.contains(&name) {
        return match attrs::init(cx, Some(i))? {
            Init::Zeros => Some(StateInit::Zeros),
            Init::Ones => Some(StateInit::Ones),
            Init::Constant(c) => Some(StateInit::Constant(c)),
            _ => {
                cx.error(
                    &i.span,
                    format!("`{name}` draws random values, which cannot start a state: {how}"),
                );
                None
            }
        };
    }
    let Some(d) = decls.by_name.get(name).filter(|_| i.args.is_none()) else {
        cx.error(
            &i.span,
            format!("unknown initialiser or parameter `{name}`: {how}"),
        );
        return None;
    };
    let (Some(Sym::Param(p)), DeclKind::Param | DeclKind::Dense) = (d.sym, d.kind) else {
        cx.error(
            &i.span,
            format!("`{name}` is {}, not a parameter; {how}", d.describe()),
        );
        return None;
    };
    if d.pos > pos {
        cx.error(
            &i.span,
            format!("parameter `{name}` is declared below this state; declare it above"),
        );
        return None;
    }
    match (d.shape, shape) {
        (Some(a), Some(b)) if a != b => {
            cx.error(
                &i.span,
                format!("the state is {b} but parameter `{name}` is {a}; a state starts at a parameter of its own shape"),
            );
            None
        }
        (Some(_), Some(_)) => Some(StateInit::Param(p)),
        _ => None,
    }
}

impl ExprChecker<'_> {
    /// Types `for x in xs { .. }` standing at position `pos`: the rows of a matrix, the
    /// body in order, the step's output. Its value is the output rows stacked: `[steps, m]`
    /// for a vector output, `[steps]` for a scalar one, a scalar for none. Rejects: `for x
    /// in v` with a vector `v`, a `let` in the body that takes a net's name, an assignment
    /// whose shape is not its state's, a matrix output, a loop that computes nothing, a
    /// `let` of a loop with no output, and an output of a loop standing alone.
    pub(super) fn for_loop(&mut self, l: &ForLoop, pos: usize, standalone: bool) -> Option<Typed> {
        let seq = self.expr(&l.seq);
        let seq = seq?;
        let Sh::M(steps, width) = seq.sh else {
            self.cx.error(
                &l.seq.span,
                format!(
                    "`for` runs over the rows of a matrix `[steps, features]`, one row per step, but {} is {}",
                    show(&l.seq),
                    seq.sh
                ),
            );
            return None;
        };
        self.unique(&l.var);
        self.body = Some(Body {
            pos,
            row: (l.var.text.clone(), Sh::V(width)),
            locals: Vec::new(),
        });
        let mut body = Vec::new();
        let mut ok = true;
        for s in &l.body {
            match s {
                BodyStmt::Let(name, e) => {
                    let fresh = self.unique(name);
                    let typed = self.expr(e);
                    // A refused name has no shape, so its uses add no errors of their own.
                    if let Some(b) = &mut self.body {
                        let sh = typed.as_ref().filter(|_| fresh).map(|t| t.sh);
                        b.locals.push((name.text.clone(), sh));
                    }
                    match typed {
                        Some(t) => body.push(CellStmt::Let(t.e)),
                        None => ok = false,
                    }
                }
                BodyStmt::Assign(name, e) => {
                    let typed = self.expr(e);
                    match (self.carried(name, pos), typed) {
                        (Some((s, sh)), Some(t)) if sh == t.sh => {
                            body.push(CellStmt::Assign(s, t.e))
                        }
                        (Some((_, sh)), Some(t)) => {
                            ok = false;
                            self.cx.error(
                                &e.span,
                                format!(
                                    "shape mismatch in the assignment to state `{}`: the state is {sh} but {} is {}",
                                    name.text,
                                    show(e),
                                    t.sh
                                ),
                            );
                        }
                        _ => ok = false,
                    }
                }
            }
        }
        let output = match &l.output {
            None => None,
            Some(o) => {
                let t = self.expr(o);
                match t {
                    Some(t) if matches!(t.sh, Sh::M(..)) => {
                        self.cx.error(
                            &o.span,
                            format!(
                                "a step's output is one row of the loop's value, a vector or a number, but {} is {}",
                                show(o),
                                t.sh
                            ),
                        );
                        ok = false;
                        None
                    }
                    Some(t) => Some(t),
                    None => {
                        ok = false;
                        None
                    }
                }
            }
        };
        self.body = None;
        let carried: Vec<usize> = self.carried_states(pos);
        // Every state the loop carries is kept for each step, for backpropagation.
        for s in &carried {
            let Some((name, sh)) = (self.decls.by_name.iter())
                .find(|(_, d)| d.sym == Some(Sym::State(*s)))
                .and_then(|(n, d)| Some((n.clone(), d.shape?)))
            else {
                continue;
            };
            self.size = self.size.saturating_add(sh.elems().saturating_mul(steps));
            self.tapes.push(super::expr::Tape {
                state: name,
                steps,
                per_step: sh.elems(),
            });
        }
        // A mistake in the body (reported) leaves the loop's type known when its output
        // typed, so a failed net's stub keeps its API; the net itself is never built.
        if l.output.is_some() && output.is_none() {
            return None;
        }
        let keyword = l.span.start..l.span.start + "for".len();
        let mistake = match (&l.output, standalone) {
            (None, _) if carried.is_empty() => Some((
                keyword,
                "this loop carries no state and gives no rows, so it computes nothing; assign a `state` in its body, or end the body with the step's output row".to_string(),
            )),
            (None, false) => Some((
                keyword,
                "this loop gives no rows for its `let`: end its body with the step's output row, like `wo @ h + bo`, or write the loop as a statement (`for x in xs { .. }`) and read its states after it".to_string(),
            )),
            (Some(out), true) => Some((
                out.span.clone(),
                format!(
                    "the step's output {} is never used: a loop standing alone only carries its states; bind its rows with `let ys = for ..`, or remove the output",
                    show(out)
                ),
            )),
            _ => None,
        };
        if let Some((span, message)) = mistake.filter(|_| ok) {
            self.cx.error(&span, message);
            return None;
        }
        let sh = match output.as_ref().map(|t| t.sh) {
            Some(Sh::V(m)) => Sh::M(steps, m),
            Some(_) => Sh::V(steps),
            None => Sh::S,
        };
        let recurrence = model::Recurrence {
            seq: seq.e,
            carried,
            body,
            output: output.map(|t| t.e),
        };
        Some(self.node(ExprKind::For(Box::new(recurrence)), sh))
    }

    /// A name of the body must be new: it would shadow a net's name or an earlier one.
    /// Rejects: `for x in xs { let w = x; .. }` with a parameter `w`. False if reported.
    fn unique(&self, name: &ast::Name) -> bool {
        let in_body = self
            .body
            .as_ref()
            .is_some_and(|b| b.row.0 == name.text || b.locals.iter().any(|(n, _)| *n == name.text));
        if let Some(d) = self.decls.by_name.get(&name.text) {
            self.cx.error(
                &name.span,
                format!(
                    "`{}` is already defined (as {}); names must be unique within a net",
                    name.text,
                    d.describe()
                ),
            );
        } else if in_body {
            self.cx.error(
                &name.span,
                format!(
                    "`{}` is already defined in this loop; names must be unique within a net",
                    name.text
                ),
            );
        } else {
            return true;
        }
        false
    }

    /// The state `name` names if the loop at `pos` carries it (checked by [`owners`]).
    fn carried(&self, name: &ast::Name, pos: usize) -> Option<(usize, Sh)> {
        let d = self.decls.by_name.get(&name.text)?;
        match (d.kind, d.sym, d.owner) {
            (DeclKind::State, Some(Sym::State(s)), Some(p)) if p == pos => Some((s, d.shape?)),
            _ => None,
        }
    }

    /// The states the loop at `pos` carries, by index.
    fn carried_states(&self, pos: usize) -> Vec<usize> {
        let mut out: Vec<usize> = (self.decls.by_name.values())
            .filter(|d| d.kind == DeclKind::State && d.owner == Some(pos))
            .filter_map(|d| match d.sym {
                Some(Sym::State(s)) => Some(s),
                _ => None,
            })
            .collect();
        out.sort_unstable();
        out
    }

    /// A name of the loop body being typed: its row variable or one of its `let`s so far.
    pub(super) fn body_name(&mut self, n: &str) -> Option<Option<Typed>> {
        let body = self.body.as_ref()?;
        if let Some(k) = body.locals.iter().rposition(|(name, _)| name == n) {
            let sh = body.locals.get(k).and_then(|(_, sh)| *sh);
            return Some(sh.map(|sh| self.node(ExprKind::Sym(Sym::Local(k)), sh)));
        }
        if body.row.0 == n {
            let sh = body.row.1;
            return Some(Some(self.node(ExprKind::Sym(Sym::Row), sh)));
        }
        None
    }

    /// A use of state `n` (declared as `d`) at this point: inside the loop that carries
    /// it, or anywhere after that loop. Rejects a use before the loop, or in a loop or
    /// `let` above it.
    pub(super) fn state_use(&mut self, n: &str, span: &Span, owner: Option<usize>) -> bool {
        let Some(owner) = owner else {
            // Never assigned: reported at its declaration.
            self.unresolved = true;
            return false;
        };
        let here = match (&self.body, self.mode) {
            (Some(b), _) => Some(b.pos),
            (None, super::expr::Mode::Let { pos, .. }) => Some(pos),
            _ => None,
        };
        match here {
            Some(p) if p < owner => {
                self.unresolved = true;
                self.cx.error(
                    span,
                    format!(
                        "state `{n}` is carried by a `for` loop below; it has a value only inside that loop, and after it (its final value)"
                    ),
                );
                false
            }
            _ => true,
        }
    }
}

/// The states of the loops a failed net's `step` would run, if its output looks like the
/// rows of a loop over the input, or over such a loop's rows: the loops from the output
/// back to the input by their `for x in ..` (a layer's by its input), each loop's states
/// by owner, or a refused layer's by their hidden names. Over-approximates: a stub with a
/// `step` the net would not have had costs nothing, one without it adds errors.
pub(super) fn stub_stream(
    stmts: &[Stmt],
    scope: &Scope,
    checked: &super::expr::Checked,
) -> Option<Vec<(String, model::Shape)>> {
    let decls = &scope.decls;
    let input = scope.input.as_deref()?;
    let mut name = checked.output_name.as_ref()?.text.clone();
    let mut chain = Vec::new();
    // Each step follows one `let` back; a chain is at most as long as the statements.
    for _ in 0..=stmts.len() {
        if name == input {
            break;
        }
        let (pos, stmt) = stmts.iter().enumerate().find(|(_, s)| match &s.kind {
            Kind::LetFor { name: n, .. } | Kind::Let { name: n, .. } => n.text == name,
            _ => false,
        })?;
        name = match &stmt.kind {
            Kind::LetFor {
                name: n, for_loop, ..
            } => {
                chain.push((pos, n.text.clone()));
                match for_loop {
                    Some(l) => rows_name(&l.seq)?,
                    None => format!("{} input", n.text),
                }
            }
            // A layer's hidden binding of its input.
            Kind::Let {
                value: Some(v),
                hidden: true,
                ..
            } if chain
                .last()
                .is_some_and(|(_, n)| name == format!("{n} input")) =>
            {
                rows_name(v)?
            }
            _ => return None,
        };
    }
    if chain.is_empty() || name != input {
        return None;
    }
    let mut out = Vec::new();
    for (pos, layer) in chain.iter().rev() {
        let mut owned: Vec<(usize, String, model::Shape)> = (decls.by_name.iter())
            .filter(|(n, d)| {
                d.kind == DeclKind::State
                    && (d.owner == Some(*pos)
                        || n.strip_prefix(layer.as_str())
                            .is_some_and(|r| r == " h" || r == " c"))
            })
            .filter_map(|(n, d)| Some((d.pos, n.clone(), d.shape?.model())))
            .collect();
        owned.sort_by_key(|(p, ..)| *p);
        out.extend(owned.into_iter().map(|(_, n, sh)| (n, sh)));
    }
    Some(out)
}

/// The name a loop's rows are, if they are a bare name.
fn rows_name(e: &ast::Expr) -> Option<String> {
    match &e.kind {
        ast::ExprKind::Name(n) => Some(n.clone()),
        _ => None,
    }
}

/// [`stub_stream`] for a net that checked (and fails with its invocation), from its model.
pub(super) fn model_stream(net: &model::Net) -> Option<Vec<(String, model::Shape)>> {
    let mut at = net.output;
    let mut loops = Vec::new();
    for _ in 0..=net.lets.len() {
        match at {
            Sym::Input => break,
            Sym::Let(l) => match &net.lets.get(l)?.value.kind {
                ExprKind::For(r) => {
                    loops.push(r.carried.clone());
                    at = match r.seq.kind {
                        ExprKind::Sym(s) => s,
                        _ => return None,
                    };
                }
                _ => return None,
            },
            _ => return None,
        }
    }
    if loops.is_empty() || at != Sym::Input {
        return None;
    }
    let states = loops.iter().rev().flatten();
    Some(
        states
            .filter_map(|s| net.states.get(*s).map(|st| (st.name.clone(), st.shape)))
            .collect(),
    )
}
