//! Naming and hygiene: every local a generated method binds gets its name here, from one
//! [`Scope`] per method that cannot hand out the same name twice.
//!
//! The generated code's own names never collide with anything the user picks. Method
//! parameters are `x`, `t`, `grad`, `scale`; a `let h` of the user's is stored as `v_h`
//! and its adjoint as `d_h`; unnamed values are `__v_h_1` (built in `let h`), `__loss_1`,
//! `__d_h_1`, `__dloss_1`, `__t_1`; loop counters and the indices of reductions are `__i`
//! and `__j`; batched methods take `xs`, `ts`, `ys` and name a chunk of them `__xs`,
//! `__ts`, `__ys`, its sample `__b`, its length `__n`, and the running `__total`. User names appear bare only as struct fields (`self.w1`, `grad.w1`). Paths are absolute (`::chainrule::__private`,
//! `::core::primitive::f32`).
//!
//! Roles are computed per method: a node that is the adjoint `∂L/∂y` in one method (the
//! residual `y − t` when the seed is 1) may be a plain forward value in another (where the
//! seed is `scale`), so one net-wide role table would give two nodes the name `d_y`.

use std::collections::{BTreeMap, BTreeSet};

use chainrule_grammar::model::Net;
use proc_macro2::{Ident, Span};

use crate::diff::Adjoints;
use crate::ir::Id;
use crate::lower::{Lowered, Owner};
use crate::plan::{Place, Plan};

/// Names the generated code binds itself, outside any scope's numbering: method
/// parameters, loop counters, and a chunk's samples (`__b`) and length (`__n`).
pub const RESERVED: &[&str] = &[
    "self", "x", "t", "grad", "scale", "xs", "ts", "ys", "__i", "__j", "__xs", "__ts", "__ys",
    "__b", "__n", "__total", "__t", "__y", "__dx",
];

/// The locals of one method: each name is handed out at most once.
#[derive(Debug)]
pub struct Scope {
    taken: BTreeSet<String>,
    /// The next number to try for each prefix, so numbering stays linear.
    next: BTreeMap<String, usize>,
}

impl Default for Scope {
    fn default() -> Self {
        Self::new()
    }
}

impl Scope {
    /// A method's scope, with [`RESERVED`] already taken.
    pub fn new() -> Self {
        Self {
            taken: RESERVED.iter().map(|s| s.to_string()).collect(),
            next: BTreeMap::new(),
        }
    }

    /// `name` itself when it is free, else the first free `name_1`, `name_2`, ….
    pub fn bind(&mut self, name: &str) -> Ident {
        if self.taken.insert(name.to_string()) {
            return Ident::new(name, Span::call_site());
        }
        self.numbered(&format!("{name}_"))
    }

    /// The first free `prefix1`, `prefix2`, ….
    pub fn numbered(&mut self, prefix: &str) -> Ident {
        let k = self.next.entry(prefix.to_string()).or_insert(1);
        loop {
            let name = format!("{prefix}{k}");
            *k += 1;
            if self.taken.insert(name.clone()) {
                return Ident::new(&name, Span::call_site());
            }
        }
    }
}

/// What a node is to a reader, for naming it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Role {
    /// The value of the user's `let name`.
    Value(String),
    /// The adjoint `∂L/∂name` of a named value or of the input.
    Adjoint(String),
    /// An unnamed forward value built in a `let` or in the loss.
    Forward(Owner),
    /// An unnamed node built by the chain rule for a forward node with this owner.
    Backward(Option<Owner>),
    /// Anything else.
    Other,
}

/// The roles of every node of a lowered net, as one method sees them.
///
/// `created` lists every differentiation run on the graph, to tell chain-rule nodes from
/// forward ones; `adjoints` is the one whose totals this method reads as `∂L/∂name`
/// (`None` for methods that differentiate nothing); `extra` overrides single nodes.
pub fn roles(
    net: &Net,
    low: &Lowered,
    created: &[&Adjoints],
    adjoints: Option<&Adjoints>,
    extra: &[(Id, Role)],
) -> Vec<Role> {
    let g = &low.graph;
    let mut roles = vec![Role::Other; g.len()];
    for (id, owner) in low.owners.iter().enumerate() {
        if let Some(owner) = owner {
            roles[id] = Role::Forward(*owner);
        }
    }
    for adj in created {
        for &(node, by) in &adj.created_by {
            if roles[node.index()] == Role::Other {
                roles[node.index()] = Role::Backward(low.owners.get(by.index()).copied().flatten());
            }
        }
    }
    if let Some(adj) = adjoints {
        for (i, binding) in net.lets.iter().enumerate().rev() {
            if let Some(Some(total)) = adj.total.get(low.lets[i].index())
                && !g.op(*total).is_leaf()
            {
                roles[total.index()] = Role::Adjoint(binding.name.clone());
            }
        }
    }
    for (id, role) in extra {
        roles[id.index()] = role.clone();
    }
    // Earlier lets win when two share one node.
    for (i, binding) in net.lets.iter().enumerate().rev() {
        let id = low.lets[i];
        if !g.op(id).is_leaf() {
            roles[id.index()] = Role::Value(binding.name.clone());
        }
    }
    roles
}

/// The local of every node a planned method stores, from one [`Scope`], so no two
/// buffers share a name. Nodes computed in place one after another (`plan.reuse`) are one
/// buffer, named after the last of them (`h = relu(z)` in `z`'s buffer is `v_h`): it holds
/// each one's value in turn, and nothing reads a value after the next overwrites it.
pub fn locals(net: &Net, plan: &Plan, roles: &[Role]) -> Vec<Option<Ident>> {
    let mut scope = Scope::new();
    let owner_name = |o: Owner| match o {
        Owner::Let(i) => net.lets[i].name.as_str(),
        Owner::Loss => "",
    };
    let mut reused_by = vec![false; plan.place.len()];
    for a in plan.reuse.iter().flatten() {
        reused_by[a.index()] = true;
    }
    let mut names: Vec<Option<Ident>> = vec![None; plan.place.len()];
    for (i, (place, role)) in plan.place.iter().zip(roles).enumerate() {
        // A buffer is named once, at the last node it holds.
        if *place != Place::Let || reused_by[i] {
            continue;
        }
        let name = match role {
            Role::Value(n) => scope.bind(&format!("v_{n}")),
            Role::Adjoint(n) => scope.bind(&format!("d_{n}")),
            Role::Forward(Owner::Loss) => scope.numbered("__loss_"),
            Role::Forward(o) => scope.numbered(&format!("__v_{}_", owner_name(*o))),
            Role::Backward(Some(Owner::Loss)) => scope.numbered("__dloss_"),
            Role::Backward(Some(o)) => scope.numbered(&format!("__d_{}_", owner_name(*o))),
            Role::Backward(None) | Role::Other => scope.numbered("__t_"),
        };
        let mut at = Some(Id(i as u32));
        while let Some(id) = at {
            names[id.index()] = Some(name.clone());
            at = plan.reuse[id.index()];
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scope_never_hands_out_a_name_twice() {
        let mut s = Scope::new();
        let names: Vec<String> = [
            s.bind("d_y"),
            s.bind("d_y"),
            s.bind("d_y_1"),
            s.numbered("d_y_"),
            s.bind("x"),
            s.numbered("__t_"),
            s.bind("__t_2"),
            s.numbered("__t_"),
        ]
        .iter()
        .map(|i| i.to_string())
        .collect();
        assert_eq!(
            names,
            [
                "d_y", "d_y_1", "d_y_1_1", "d_y_2", "x_1", "__t_1", "__t_2", "__t_3"
            ]
        );
    }
}
