//! Prints what the front end makes of a file holding the body of a `network!` invocation:
//! the checked model of each net, or every error with the text it underlines.
//!
//! `cargo run -p chainrule-grammar --example check_file -- path/to/nets.txt`

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: check_file <file>");
        std::process::exit(2);
    };
    let src = match std::fs::read_to_string(&path) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("cannot read {path}: {e}");
            std::process::exit(2);
        }
    };
    let front = chainrule_grammar::check_str(&src);
    for net in &front.nets {
        println!("{net:#?}");
    }
    for stub in &front.stubs {
        println!("stub {}", stub.name);
    }
    for (message, text) in chainrule_grammar::check_str_located(&src) {
        println!("error: {message}\n  at: {text}");
    }
}
