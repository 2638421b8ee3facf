//! Prints the code `network!` generates for a definition, formatted:
//! `cargo run -p chainrule-codegen --example expand -- path/to/net.txt` (or the
//! definition on standard input). The file holds what goes inside `network! { ... }`.

use std::io::Read;

fn main() {
    let mut src = String::new();
    match std::env::args().nth(1) {
        Some(path) => {
            src = std::fs::read_to_string(&path).unwrap_or_else(|e| {
                eprintln!("cannot read {path}: {e}");
                std::process::exit(2)
            })
        }
        None => {
            if let Err(e) = std::io::stdin().read_to_string(&mut src) {
                eprintln!("cannot read standard input: {e}");
                std::process::exit(2);
            }
        }
    }
    let tokens: proc_macro2::TokenStream = match src.parse() {
        Ok(t) => t,
        Err(e) => {
            eprintln!("not valid Rust tokens: {e}");
            std::process::exit(1);
        }
    };
    let front = chainrule_grammar::check_tokens(tokens.clone());
    for e in &front.errors {
        eprintln!("error: {e}");
    }
    if !front.errors.is_empty() {
        std::process::exit(1);
    }
    let out = chainrule_codegen::expand(tokens);
    match syn::parse2::<syn::File>(out) {
        Ok(file) => print!("{}", prettyplease::unparse(&file)),
        Err(e) => {
            eprintln!("generated code does not parse: {e}");
            std::process::exit(1);
        }
    }
}
