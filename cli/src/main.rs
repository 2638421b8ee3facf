//! `chainrule-expand <definition file> [-o <out.rs>]`: writes the code `network!` generates
//! for a definition file, formatted, to `out.rs` or to standard output (`-` reads the
//! definition from standard input). Exits with 1 and the diagnostics on standard error
//! when the definition has mistakes, and with 2 on a usage or file error.
#![forbid(unsafe_code)]

use std::ffi::OsString;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "usage: chainrule-expand <definition file> [-o <out.rs>]

Writes the code `network!` generates for the definition (what goes inside
`network! { ... }`), formatted, to <out.rs> or to standard output.
A definition file of `-` is read from standard input.";

/// What the command line asks for.
struct Args {
    input: OsString,
    output: Option<PathBuf>,
}

/// The arguments, or `Err` with the message to print (`None` for `--help`).
fn parse_args(mut args: impl Iterator<Item = OsString>) -> Result<Args, Option<String>> {
    let mut input = None;
    let mut output = None;
    while let Some(arg) = args.next() {
        match arg.to_str() {
            Some("-h" | "--help") => return Err(None),
            Some("-o" | "--output") => match args.next() {
                Some(path) if output.is_none() => output = Some(PathBuf::from(path)),
                Some(_) => return Err(Some("`-o` given twice".into())),
                None => return Err(Some("`-o` needs a file name".into())),
            },
            Some(flag) if flag.starts_with('-') && flag != "-" => {
                return Err(Some(format!("unknown option `{flag}`")));
            }
            _ if input.is_none() => input = Some(arg),
            _ => return Err(Some("more than one definition file".into())),
        }
    }
    let input = input.ok_or_else(|| Some("no definition file".to_string()))?;
    Ok(Args { input, output })
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args_os().skip(1)) {
        Ok(args) => args,
        Err(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(Some(message)) => {
            eprintln!("chainrule-expand: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let name = if args.input == "-" {
        "<stdin>".to_string()
    } else {
        PathBuf::from(&args.input).display().to_string()
    };
    let mut src = String::new();
    let read = if args.input == "-" {
        std::io::stdin().read_to_string(&mut src).map(drop)
    } else {
        std::fs::read_to_string(&args.input).map(|s| src = s)
    };
    if let Err(e) = read {
        eprintln!("chainrule-expand: cannot read {name}: {e}");
        return ExitCode::from(2);
    }
    let code = match chainrule_cli::expand_source(&src, &name) {
        Ok(code) => code,
        Err(diagnostics) => {
            for d in &diagnostics {
                eprintln!("{}", d.render(&name));
            }
            return ExitCode::from(1);
        }
    };
    let written = match &args.output {
        Some(path) => std::fs::write(path, &code).map_err(|e| (path.display().to_string(), e)),
        None => std::io::stdout()
            .write_all(code.as_bytes())
            .map_err(|e| ("standard output".to_string(), e)),
    };
    match written {
        Ok(()) => ExitCode::SUCCESS,
        Err((target, e)) => {
            eprintln!("chainrule-expand: cannot write {target}: {e}");
            ExitCode::from(2)
        }
    }
}
