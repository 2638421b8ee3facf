//! No generated method binds a name twice in one scope, nor shadows a name of an enclosing
//! scope: each local names exactly one value, so no read can pick up another value bound
//! under the same name (issue 7, where `d_y` was bound once for the residual `y − t` and
//! again for the scaled adjoint that read it).
//!
//! Checked on the expansion of hundreds of random nets in both code forms, parsed with
//! `syn`, without compiling them.

use std::collections::BTreeSet;

use syn::visit::{self, Visit};

include!("../src/netgen.rs");

/// Every binding in the functions of an expansion that repeats a name already in scope.
fn rebindings(file: &syn::File) -> Vec<String> {
    let mut check = Bindings::default();
    check.visit_file(file);
    check.errors
}

#[derive(Default)]
struct Bindings {
    /// The names bound in each enclosing scope, innermost last.
    scopes: Vec<BTreeSet<String>>,
    /// The function being walked, for messages.
    function: String,
    errors: Vec<String>,
}

impl Bindings {
    fn bind_pattern(&mut self, pat: &syn::Pat) {
        let mut names = PatNames::default();
        names.visit_pat(pat);
        for name in names.0 {
            if self.scopes.iter().any(|s| s.contains(&name)) {
                self.errors
                    .push(format!("`{name}` is bound twice in `{}`", self.function));
            }
            self.scopes
                .last_mut()
                .expect("a binding inside a function")
                .insert(name);
        }
    }

    fn function(&mut self, name: &syn::Ident, sig: &syn::Signature, block: &syn::Block) {
        self.function = name.to_string();
        self.scopes.push(BTreeSet::new());
        for input in &sig.inputs {
            if let syn::FnArg::Typed(arg) = input {
                self.bind_pattern(&arg.pat);
            }
        }
        self.visit_block(block);
        self.scopes.pop();
    }
}

impl<'ast> Visit<'ast> for Bindings {
    fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
        self.function(&f.sig.ident, &f.sig, &f.block);
    }

    fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
        self.function(&f.sig.ident, &f.sig, &f.block);
    }

    fn visit_block(&mut self, b: &'ast syn::Block) {
        self.scopes.push(BTreeSet::new());
        visit::visit_block(self, b);
        self.scopes.pop();
    }

    fn visit_local(&mut self, local: &'ast syn::Local) {
        // The initializer runs before the name exists.
        if let Some(init) = &local.init {
            self.visit_expr(&init.expr);
        }
        self.bind_pattern(&local.pat);
    }

    fn visit_expr_for_loop(&mut self, f: &'ast syn::ExprForLoop) {
        self.visit_expr(&f.expr);
        self.scopes.push(BTreeSet::new());
        self.bind_pattern(&f.pat);
        self.visit_block(&f.body);
        self.scopes.pop();
    }
}

/// The identifiers a pattern binds.
#[derive(Default)]
struct PatNames(Vec<String>);

impl<'ast> Visit<'ast> for PatNames {
    fn visit_pat_ident(&mut self, p: &'ast syn::PatIdent) {
        self.0.push(p.ident.to_string());
        visit::visit_pat_ident(self, p);
    }
}

/// The expansion of a net that the front end accepts, parsed.
fn expansion(source: &str) -> syn::File {
    let tokens: proc_macro2::TokenStream = source.parse().expect("valid tokens");
    let front = chainrule_grammar::check_tokens(tokens.clone());
    assert!(
        front.errors.is_empty(),
        "rejected: {:?}\n{source}",
        front
            .errors
            .iter()
            .map(|e| e.to_string())
            .collect::<Vec<_>>()
    );
    syn::parse2(chainrule_codegen::expand(tokens)).expect("the expansion parses")
}

/// The source with its code form forced: the attribute goes before the first `net` item
/// (and its visibility).
fn forced(source: &str, attribute: &str) -> String {
    let at = source
        .match_indices("net ")
        .map(|(i, _)| i)
        .find(|&i| i == 0 || source[..i].ends_with(char::is_whitespace))
        .expect("a net item");
    let at = ["pub(crate) ", "pub(super) ", "pub "]
        .iter()
        .find_map(|vis| source[..at].strip_suffix(vis).map(str::len))
        .unwrap_or(at);
    format!("{}{attribute} {}", &source[..at], &source[at..])
}

/// Checks the net as written and, unless it picks its code form itself, in loop form and
/// unrolled.
fn assert_no_rebinding(source: &str) {
    let mut forms = vec![source.to_string()];
    if !source.contains("#[chainrule(") {
        forms.push(forced(source, "#[chainrule(unroll = 1)]"));
        forms.push(forced(source, "#[chainrule(unroll = 65536)]"));
    }
    for form in forms {
        let errors = rebindings(&expansion(&form));
        assert!(
            errors.is_empty(),
            "{errors:#?}\nin the expansion of\n{form}"
        );
    }
}

#[test]
fn the_checker_sees_a_name_bound_twice() {
    let file: syn::File = syn::parse_quote! {
        impl A {
            fn fine(&self, x: &[f32; 2]) -> f32 {
                let a = x[0];
                for __i in 0..2 { let b = a; }
                for __i in 0..2 { let b = a; }
                a
            }
            fn twice(&self, x: &[f32; 2]) -> f32 {
                let a = x[0];
                let a = a * 2.0;
                a
            }
            fn shadows_a_parameter(&self, x: &[f32; 2]) -> f32 {
                let x = x[0];
                x
            }
            fn shadows_in_a_loop(&self) {
                let mut d = [0f32; 2];
                for __i in 0..2 { let d = 1.0; }
            }
        }
    };
    assert_eq!(
        rebindings(&file),
        [
            "`a` is bound twice in `twice`",
            "`x` is bound twice in `shadows_a_parameter`",
            "`d` is bound twice in `shadows_in_a_loop`",
        ]
    );
}

#[test]
fn issue_7_and_audit_nets_bind_each_name_once() {
    for net in [
        "#[scalar(f64)] #[chainrule(unroll = 1)] net Min1 { input x: [2]; target t: [2]; param w: [2]; param b: [2]; let y = w * x + b; output y; loss mse(y, t); }",
        "net Unr2 { input x: [3]; param w: [3]; param b: [3]; param q: [3]; param r: [3]; let y = w * x + b; output y; loss sum(y * tanh(q * x + r)); }",
        "pub net Reg { input x: [16]; target t: [2]; let h = dense(x, 32, tanh); let y = dense(h, 2); output y; loss mse(y, t); }",
        "net Half { input x: [3]; target t: [3]; param w: [3]; let y = w * x; output y; loss 0.5 * sum((y - t) ^ 2); }",
        "net Lin { input x: [3]; target t: [3]; param w: [3]; let y = w * x; output y; loss sum(y * t); }",
        "net Twin { input x: [3]; target t: [3]; param w: [3]; param b: [3]; let a = w * x + b; let y = w * x + b; output y; loss mse(y, t) + 0.1 * sum(a); }",
        "net Cross { input x: [3]; param w: [3]; param q: [3]; let y = w * x; let z = tanh(q * x); output y; loss sum(y * z); }",
        "net Names { input x: [3]; target t: [3]; param w: [3]; param b: [3]; let y = w * x + b; let y_1 = tanh(y); let d_y = y_1 * y; let v_y = 2 * d_y; output v_y; loss 0.5 * sum((v_y - t) ^ 2) + mse(y, t); }",
    ] {
        assert_no_rebinding(net);
    }
}

#[test]
fn random_nets_bind_each_name_once_in_every_method() {
    let count = std::env::var("CHAINRULE_BINDING_NETS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200u64);
    for seed in 0..count {
        assert_no_rebinding(&random_net(seed, "Random").source);
    }
}
