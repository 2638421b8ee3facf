//! pest pairs → AST.
//!
//! The whole invocation is parsed with the `file` rule. If that fails, the parser
//! resynchronises on the token structure (items end at a top-level `{...}` or `;`,
//! statements at a `;` inside a net's braces) and parses each piece alone, so every syntax
//! error is reported, and a net with a broken statement is still checked as far as it
//! makes sense.

use pest::Parser as _;
use pest::error::{ErrorVariant, InputLocation};
use pest::iterators::{Pair, Pairs};

use crate::ast::{
    Attr, AttrKind, BinOp, BodyStmt, Expr, ExprKind, File, FnDef, ForLoop, Init, Item,
    NEG_PRECEDENCE, Name, Net, NumValue, Number, Setting, ShapeDecl, Signed, Span, Stmt, StmtKind,
    StrLit,
};
use crate::diag::Ctxt;
use crate::source::{Source, TokenKind};

mod grammar {
    //! The parser pest derives from `network.pest`.
    #![allow(missing_docs)]

    /// The pest parser of the network language.
    #[derive(Debug, pest_derive::Parser)]
    #[grammar = "network.pest"]
    pub struct NetworkParser;
}

pub use grammar::{NetworkParser, Rule};

/// Parses a flattened invocation, reporting every syntax error into `cx`.
pub fn parse(src: &Source, cx: &Ctxt) -> File {
    if let Some(open) = src.too_deep {
        let range = src.tokens.get(open).map_or(0..0, |t| t.range.clone());
        cx.error(
            &range,
            format!(
                "brackets are nested more than {} levels deep here; split the expression into `let`s",
                crate::source::MAX_NESTING
            ),
        );
        return File::default();
    }
    // Error detail lists the literal tokens (`;`, `=`, ...) pest expected, for messages.
    pest::set_error_detail(true);
    let b = Builder { cx, src, offset: 0 };
    match pest_parse(Rule::file, &src.text) {
        Ok(mut pairs) => {
            let items = pairs
                .next()
                .map(|file| {
                    file.into_inner()
                        .filter(|p| p.as_rule() == Rule::item)
                        .filter_map(|p| b.item(p))
                        .collect()
                })
                .unwrap_or_default();
            File { items }
        }
        Err(_) => resync(src, cx),
    }
}

/// Parses one expression written as Rust tokens, for tests: its AST or the messages.
pub fn parse_expr(text: &str) -> Result<Expr, Vec<String>> {
    parse_one(text, Rule::expr_only, Rule::expr, |b, p| b.expr(p))
}

/// Parses one `for` loop written as Rust tokens: its AST or the messages. The recurrent
/// layers' equations are such loops.
pub fn parse_for(text: &str) -> Result<ForLoop, Vec<String>> {
    parse_one(text, Rule::for_only, Rule::for_loop, |b, p| b.for_loop(p))
}

/// Parses `text` as the one `inner` that rule `whole` holds, built by `build`.
fn parse_one<T>(
    text: &str,
    whole: Rule,
    inner: Rule,
    build: impl FnOnce(&Builder, Pair<Rule>) -> Option<T>,
) -> Result<T, Vec<String>> {
    let tokens: proc_macro2::TokenStream = text
        .parse()
        .map_err(|e: proc_macro2::LexError| vec![e.to_string()])?;
    let src = Source::flatten(tokens);
    let cx = Ctxt::new();
    let b = Builder {
        cx: &cx,
        src: &src,
        offset: 0,
    };
    let built = match pest_parse(whole, &src.text) {
        Ok(mut pairs) => pairs
            .next()
            .and_then(|p| p.into_inner().find(|p| p.as_rule() == inner))
            .and_then(|p| build(&b, p)),
        Err(e) => {
            b.syntax_error(&e);
            None
        }
    };
    let messages: Vec<String> = cx.finish().into_iter().map(|d| d.message).collect();
    match built {
        Some(t) if messages.is_empty() => Ok(t),
        _ => Err(messages),
    }
}

/// Converts pairs of the text starting at byte `offset` of `src.text` into AST nodes.
struct Builder<'a> {
    cx: &'a Ctxt,
    src: &'a Source,
    offset: usize,
}

impl Builder<'_> {
    fn span(&self, p: &Pair<Rule>) -> Span {
        let s = p.as_span();
        s.start() + self.offset..s.end() + self.offset
    }

    fn name(&self, p: &Pair<Rule>) -> Name {
        Name {
            text: p.as_str().to_string(),
            span: self.span(p),
        }
    }

    /// Reports a parse tree the grammar should not produce; never expected to fire.
    fn internal(&self, p: &Pair<Rule>) {
        self.cx.error(
            &self.span(p),
            format!(
                "internal error: unexpected `{:?}` in chainrule's parser; please report this",
                p.as_rule()
            ),
        );
    }

    /// `attr* ~ (net | fn_def)`.
    fn item(&self, p: Pair<Rule>) -> Option<Item> {
        let mut attrs = Vec::new();
        for c in p.into_inner() {
            match c.as_rule() {
                Rule::attr => attrs.extend(self.attr(c)),
                Rule::net => return self.net(attrs, c).map(Item::Net),
                Rule::fn_def => return self.fn_def(attrs, c).map(Item::Fn),
                _ => self.internal(&c),
            }
        }
        None
    }

    /// `vis? ~ kw_net ~ ident ~ "{" ~ stmt* ~ "}"`, and the head of a resynchronised net.
    fn net(&self, attrs: Vec<Attr>, p: Pair<Rule>) -> Option<Net> {
        let (mut net, rest) = self.net_head(attrs, p)?;
        net.stmts = rest
            .into_iter()
            .filter(|c| c.as_rule() == Rule::stmt)
            .filter_map(|c| self.stmt(c))
            .collect();
        Some(net)
    }

    /// The net that the pairs of a net (or of a resynchronised net head) declare, without
    /// its statements, and the pairs left over, which hold them.
    fn net_head<'i>(
        &self,
        mut attrs: Vec<Attr>,
        p: Pair<'i, Rule>,
    ) -> Option<(Net, Vec<Pair<'i, Rule>>)> {
        let span = self.span(&p);
        let mut vis = None;
        let mut name = None;
        let mut rest = Vec::new();
        for c in p.into_inner() {
            match c.as_rule() {
                Rule::attr => attrs.extend(self.attr(c)),
                Rule::vis => vis = Some(self.span(&c)),
                Rule::ident if name.is_none() => name = Some(self.name(&c)),
                Rule::kw_net => {}
                _ => rest.push(c),
            }
        }
        let net = Net {
            attrs,
            vis,
            name: name?,
            stmts: Vec::new(),
            span,
        };
        Some((net, rest))
    }

    /// `"#" ~ "[" ~ (chainrule_attr | scalar_attr | other_attr) ~ "]"`.
    fn attr(&self, p: Pair<Rule>) -> Option<Attr> {
        let span = self.span(&p);
        let inner = p.into_inner().next()?;
        let kind = match inner.as_rule() {
            Rule::chainrule_attr => {
                let settings = inner
                    .into_inner()
                    .filter(|s| s.as_rule() == Rule::setting)
                    .filter_map(|s| {
                        let mut it = s.into_inner();
                        let key = self.name(&it.next()?);
                        let value = self.number(it.next()?);
                        Some(Setting { key, value })
                    })
                    .collect();
                AttrKind::Chainrule(settings)
            }
            Rule::scalar_attr => {
                let ty = inner.into_inner().find(|c| c.as_rule() == Rule::ident)?;
                AttrKind::Scalar(self.name(&ty))
            }
            Rule::tensor_attr | Rule::weights_attr => {
                let rule = inner.as_rule();
                let lit = inner.into_inner().find(|c| c.as_rule() == Rule::str_lit)?;
                // Rust's own reading of the literal: escapes, raw strings.
                let value = syn::parse_str::<syn::LitStr>(lit.as_str())
                    .ok()
                    .map(|l| l.value());
                let lit = StrLit {
                    value,
                    span: self.span(&lit),
                };
                if rule == Rule::tensor_attr {
                    AttrKind::Tensor(lit)
                } else {
                    AttrKind::Weights(lit)
                }
            }
            Rule::other_attr => {
                let path = inner
                    .into_inner()
                    .find(|c| c.as_rule() == Rule::attr_path)?;
                let name = Name {
                    text: path.as_str().split_whitespace().collect(),
                    span: self.span(&path),
                };
                if name.text == "doc" {
                    AttrKind::Doc
                } else {
                    AttrKind::Other(name)
                }
            }
            _ => {
                self.internal(&inner);
                return None;
            }
        };
        Some(Attr { kind, span })
    }

    /// `attr* ~ (input_stmt | ...)`.
    fn stmt(&self, p: Pair<Rule>) -> Option<Stmt> {
        let span = self.span(&p);
        let mut attrs = Vec::new();
        for c in p.into_inner() {
            if c.as_rule() == Rule::attr {
                attrs.extend(self.attr(c));
                continue;
            }
            let kind = self.stmt_kind(c)?;
            return Some(Stmt { attrs, kind, span });
        }
        None
    }

    fn stmt_kind(&self, p: Pair<Rule>) -> Option<StmtKind> {
        let rule = p.as_rule();
        if rule == Rule::fn_def {
            return self.fn_def(Vec::new(), p).map(StmtKind::Fn);
        }
        if rule == Rule::for_stmt {
            let l = p.into_inner().find(|c| c.as_rule() == Rule::for_loop)?;
            return Some(StmtKind::For(Box::new(self.for_loop(l)?)));
        }
        let mut name = None;
        let mut shape = None;
        let mut init = None;
        let mut expr = None;
        let mut for_loop = None;
        for c in p.into_inner() {
            match c.as_rule() {
                Rule::ident => name = Some(self.name(&c)),
                Rule::shape => shape = Some(self.shape(c)),
                Rule::init => init = self.init(c),
                Rule::expr => expr = Some(self.expr(c)),
                Rule::for_loop => for_loop = Some(self.for_loop(c)),
                _ => {}
            }
        }
        if let Some(l) = for_loop {
            return match l {
                Some(l) => Some(StmtKind::LetFor(name?, Box::new(l))),
                None => Some(StmtKind::Broken {
                    keyword: Some("let".into()),
                    name,
                }),
            };
        }
        let kind = match rule {
            Rule::input_stmt => StmtKind::Input(name?, shape?),
            Rule::target_stmt => StmtKind::Target(name?, shape?),
            Rule::param_stmt => StmtKind::Param(name?, shape?, init),
            Rule::state_stmt => StmtKind::State(name?, shape?, init),
            Rule::output_stmt => StmtKind::Output(name?),
            // An expression that could not be built (already reported) leaves the
            // statement broken but keeps its name, so uses of it are not reported again.
            Rule::let_stmt => match expr? {
                Some(e) => StmtKind::Let(name?, e),
                None => StmtKind::Broken {
                    keyword: Some("let".into()),
                    name,
                },
            },
            Rule::loss_stmt => match expr? {
                Some(e) => StmtKind::Loss(e),
                None => StmtKind::Broken {
                    keyword: Some("loss".into()),
                    name: None,
                },
            },
            _ => return None,
        };
        Some(kind)
    }

    /// `kw_for ~ ident ~ kw_in ~ expr ~ "{" ~ body_stmt* ~ expr? ~ "}"`.
    fn for_loop(&self, p: Pair<Rule>) -> Option<ForLoop> {
        let span = self.span(&p);
        let mut var = None;
        let mut seq = None;
        let mut body = Vec::new();
        let mut output = None;
        for c in p.into_inner() {
            match c.as_rule() {
                Rule::ident => var = Some(self.name(&c)),
                Rule::expr if seq.is_none() => seq = Some(self.expr(c)?),
                Rule::expr => output = Some(self.expr(c)?),
                Rule::body_let | Rule::assign => {
                    let rule = c.as_rule();
                    let mut it = c.into_inner().filter(|x| x.as_rule() != Rule::kw_let);
                    let name = self.name(&it.next()?);
                    let value = self.expr(it.find(|x| x.as_rule() == Rule::expr)?)?;
                    body.push(if rule == Rule::assign {
                        BodyStmt::Assign(name, value)
                    } else {
                        BodyStmt::Let(name, value)
                    });
                }
                _ => {}
            }
        }
        Some(ForLoop {
            var: var?,
            seq: seq?,
            body,
            output,
            span,
        })
    }

    /// `kw_fn ~ ident ~ "(" ~ ident ~ ("," ~ ident)* ~ ")" ~ "=" ~ expr ~ ";"`.
    fn fn_def(&self, attrs: Vec<Attr>, p: Pair<Rule>) -> Option<FnDef> {
        let span = self.span(&p);
        let mut idents = Vec::new();
        let mut body = None;
        for c in p.into_inner() {
            match c.as_rule() {
                Rule::ident => idents.push(self.name(&c)),
                Rule::expr => body = Some(self.expr(c)),
                _ => {}
            }
        }
        let mut idents = idents.into_iter();
        let name = idents.next()?;
        Some(FnDef {
            attrs,
            name,
            params: idents.collect(),
            body: body??,
            span,
        })
    }

    fn shape(&self, p: Pair<Rule>) -> ShapeDecl {
        ShapeDecl {
            span: self.span(&p),
            dims: self.numbers(p),
        }
    }

    /// The numbers among the children of `p`: a shape's dimensions, an index's indices.
    fn numbers(&self, p: Pair<Rule>) -> Vec<Number> {
        p.into_inner()
            .filter(|c| c.as_rule() == Rule::number)
            .map(|c| self.number(c))
            .collect()
    }

    fn init(&self, p: Pair<Rule>) -> Option<Init> {
        let span = self.span(&p);
        let mut name = None;
        let mut args = None;
        let has_parens = p.as_str().contains('(');
        for c in p.into_inner() {
            match c.as_rule() {
                Rule::init_name => name = Some(self.name(&c)),
                Rule::signed => args.get_or_insert_with(Vec::new).push(self.signed(c)?),
                _ => {}
            }
        }
        if has_parens && args.is_none() {
            args = Some(Vec::new());
        }
        Some(Init {
            name: name?,
            args,
            span,
        })
    }

    fn signed(&self, p: Pair<Rule>) -> Option<Signed> {
        let span = self.span(&p);
        let mut negative = false;
        let mut number = None;
        for c in p.into_inner() {
            match c.as_rule() {
                Rule::minus => negative = true,
                Rule::number => number = Some(self.number(c)),
                _ => {}
            }
        }
        Some(Signed {
            negative,
            number: number?,
            span,
        })
    }

    /// `num_body ~ num_suffix?`, valued here; the checker judges range and suffix.
    fn number(&self, p: Pair<Rule>) -> Number {
        let span = self.span(&p);
        let text = p.as_str().to_string();
        let mut value = NumValue::Int(None);
        let mut suffix = String::new();
        for c in p.into_inner() {
            match c.as_rule() {
                Rule::num_body => {
                    let form = c.clone().into_inner().next().map(|f| f.as_rule());
                    let digits: String = c.as_str().chars().filter(|&ch| ch != '_').collect();
                    let radix = |prefix: &str, radix: u32| {
                        let d = digits.strip_prefix(prefix).unwrap_or(&digits);
                        NumValue::Int(u128::from_str_radix(d, radix).ok())
                    };
                    value = match form {
                        Some(Rule::bin_int) => radix("0b", 2),
                        Some(Rule::oct_int) => radix("0o", 8),
                        Some(Rule::hex_int) => radix("0x", 16),
                        Some(Rule::dec_float) => {
                            NumValue::Float(digits.parse::<f64>().unwrap_or(f64::INFINITY))
                        }
                        _ => radix("", 10),
                    };
                }
                Rule::num_suffix => suffix = c.as_str().to_string(),
                _ => {}
            }
        }
        Number {
            value,
            suffix,
            text,
            span,
        }
    }

    /// Folds `prefix* ~ primary ~ postfix* ~ (infix ~ prefix* ~ primary ~ postfix*)*` by
    /// operator precedence (`ast::BinOp::precedence`; `^` is right-associative), with an
    /// explicit operator stack: a sum of a thousand terms or a long chain of `^` costs no
    /// stack depth here. Only brackets (parentheses and call arguments) recurse.
    fn expr(&self, p: Pair<Rule>) -> Option<Expr> {
        /// An operator waiting for its right operand.
        enum Pending {
            Neg(usize),
            Infix(BinOp),
        }
        impl Pending {
            fn precedence(&self) -> u8 {
                match self {
                    Pending::Neg(_) => NEG_PRECEDENCE,
                    Pending::Infix(op) => op.precedence(),
                }
            }
        }
        fn apply(pending: Pending, operands: &mut Vec<Expr>) -> Option<()> {
            let rhs = operands.pop()?;
            let e = match pending {
                Pending::Neg(start) => Expr {
                    span: start..rhs.span.end,
                    kind: ExprKind::Neg(Box::new(rhs)),
                },
                Pending::Infix(op) => {
                    let lhs = operands.pop()?;
                    Expr {
                        span: lhs.span.start..rhs.span.end,
                        kind: ExprKind::Binary(op, Box::new(lhs), Box::new(rhs)),
                    }
                }
            };
            operands.push(e);
            Some(())
        }
        let mut operands: Vec<Expr> = Vec::new();
        let mut pending: Vec<Pending> = Vec::new();
        for part in p.into_inner() {
            let op = match part.as_rule() {
                Rule::neg => {
                    pending.push(Pending::Neg(self.span(&part).start));
                    continue;
                }
                Rule::index | Rule::slice => {
                    // Indexing binds tightest: it takes the operand just read.
                    let lhs = operands.pop()?;
                    let span = lhs.span.start..self.span(&part).end;
                    let rule = part.as_rule();
                    let mut numbers = self.numbers(part);
                    let kind = if rule == Rule::slice && numbers.len() == 2 {
                        let hi = numbers.pop()?;
                        let lo = numbers.pop()?;
                        ExprKind::Slice(Box::new(lhs), Box::new((lo, hi)))
                    } else {
                        ExprKind::Index(Box::new(lhs), numbers)
                    };
                    operands.push(Expr { kind, span });
                    continue;
                }
                Rule::add => BinOp::Add,
                Rule::sub => BinOp::Sub,
                Rule::mul => BinOp::Mul,
                Rule::div => BinOp::Div,
                Rule::matmul => BinOp::MatMul,
                Rule::pow => BinOp::Pow,
                _ => {
                    operands.push(self.primary(part)?);
                    continue;
                }
            };
            // Operators already read that bind at least as tightly take their operands
            // now; `^` leaves an equal `^` waiting, which makes it right-associative.
            let p = op.precedence();
            while let Some(top) = pending.last() {
                let q = top.precedence();
                if q > p || (q == p && op != BinOp::Pow) {
                    let top = pending.pop()?;
                    apply(top, &mut operands)?;
                } else {
                    break;
                }
            }
            pending.push(Pending::Infix(op));
        }
        while let Some(top) = pending.pop() {
            apply(top, &mut operands)?;
        }
        let e = operands.pop()?;
        operands.is_empty().then_some(e)
    }

    fn primary(&self, p: Pair<Rule>) -> Option<Expr> {
        let span = self.span(&p);
        let kind = match p.as_rule() {
            Rule::number => ExprKind::Num(self.number(p)),
            Rule::ident => ExprKind::Name(p.as_str().to_string()),
            Rule::paren => {
                // Parentheses only group; the span grows to include them so an error about
                // the operand underlines what the user sees as the operand.
                let inner = p.into_inner().find(|c| c.as_rule() == Rule::expr)?;
                let mut e = crate::stack::deep(|| self.expr(inner))?;
                e.span = span;
                return Some(e);
            }
            Rule::call => {
                let mut it = p.into_inner();
                let name = self.name(&it.next()?);
                let mut args = Vec::new();
                for a in it.filter(|c| c.as_rule() == Rule::expr) {
                    args.push(crate::stack::deep(|| self.expr(a))?);
                }
                ExprKind::Call(name, args)
            }
            _ => {
                self.internal(&p);
                return None;
            }
        };
        Some(Expr { kind, span })
    }

    /// Reports a pest error with a readable list of what was expected, at the token where
    /// parsing stopped.
    fn syntax_error(&self, e: &pest::error::Error<Rule>) {
        let mut pos = match e.location {
            InputLocation::Pos(p) => p,
            InputLocation::Span((p, _)) => p,
        };
        let mut expected: Vec<String> = Vec::new();
        fn add(expected: &mut Vec<String>, s: &str) {
            if !expected.iter().any(|x| x == s) {
                expected.push(s.to_string());
            }
        }
        let message = match &e.variant {
            ErrorVariant::CustomError { message } => {
                // pest's own limits ("call limit reached", "stack limit reached").
                format!(
                    "this network is too complex to parse ({message}); split it into smaller nets"
                )
            }
            ErrorVariant::ParsingError { positives, .. } => {
                match e.parse_attempts() {
                    // With error detail, pest knows the furthest position any rule or
                    // literal was tried at, and what: the best place to point.
                    Some(attempts) if attempts.max_position >= pos => {
                        pos = attempts.max_position;
                        for stack in attempts.call_stacks() {
                            let rule = stack.deepest.get_rule().copied().or(stack.parent);
                            if let Some(s) = rule.and_then(context_name) {
                                add(&mut expected, s);
                            }
                        }
                        // The token type is private to pest; its text is the literal.
                        let tokens: Vec<String> = attempts
                            .expected_tokens()
                            .iter()
                            .map(|t| t.to_string())
                            .collect();
                        for s in token_names(&tokens) {
                            add(&mut expected, s);
                        }
                    }
                    _ => {}
                }
                // Without a telling literal, fall back to the rules pest tried where it
                // stopped.
                if expected.is_empty() {
                    pos = match e.location {
                        InputLocation::Pos(p) => p,
                        InputLocation::Span((p, _)) => p,
                    };
                    for r in positives {
                        if let Some(s) = rule_name(*r) {
                            add(&mut expected, s);
                        }
                    }
                }
                order_expected(&mut expected);
                let pos = pos + self.offset;
                let found = self.found(pos);
                let list = match expected.len() {
                    0 => String::new(),
                    1 => expected[0].clone(),
                    n => format!("{} or {}", expected[..n - 1].join(", "), expected[n - 1]),
                };
                // A missing `;` is best shown where it belongs: after the token before.
                let at = self.src.tokens.iter().position(|t| t.range.end > pos);
                let before = match at {
                    Some(i) => i.checked_sub(1),
                    None => self.src.tokens.len().checked_sub(1),
                };
                let before = before.and_then(|i| self.src.tokens.get(i));
                match before {
                    Some(t) if expected.iter().any(|e| e == "`;`") => {
                        let text = self.src.snippet(&t.range);
                        self.cx.error(
                            &t.range,
                            format!("expected {list} after `{text}`, found {found}"),
                        );
                        return;
                    }
                    _ if list.is_empty() => format!("unexpected {found}"),
                    _ if expected.iter().any(|e| e == STATEMENT)
                        && let Some(name) = at.and_then(|i| self.assignment_at(i)) =>
                    {
                        format!(
                            "`{name} = ..` sets a state, which only a `for` loop's body can do, as in `for x in xs {{ {name} = ..; }}`; to name a value here, write `let {name} = ..;`"
                        )
                    }
                    _ => format!("expected {list}, found {found}"),
                }
            }
        };
        let pos = pos + self.offset;
        let range = match self.src.token_at(pos) {
            Some(i) => self.src.tokens.get(i).map_or(pos..pos, |t| t.range.clone()),
            None => pos..pos,
        };
        self.cx.error(&range, message);
    }

    /// The name `h` if tokens from `i` read `h = ` (one `=`): an assignment.
    fn assignment_at(&self, i: usize) -> Option<&str> {
        let text = |k: usize| self.src.tokens.get(k).map(|t| self.src.snippet(&t.range));
        let name = text(i)?;
        let is_name = name
            .chars()
            .next()
            .is_some_and(|c| c == '_' || c.is_alphabetic());
        (is_name && text(i + 1)? == "=" && text(i + 2) != Some("=")).then_some(name)
    }

    /// How the token at `pos` reads in "found ...".
    fn found(&self, pos: usize) -> String {
        let tok = self
            .src
            .tokens
            .iter()
            .find(|t| t.range.end > pos)
            .map(|t| self.src.snippet(&t.range));
        match tok {
            Some(t) if !t.is_empty() => format!("`{t}`"),
            _ => "the end of the input".to_string(),
        }
    }
}

/// How a rule reads in "expected ...", or `None` for rules that say nothing to a user.
fn rule_name(r: Rule) -> Option<&'static str> {
    Some(match r {
        Rule::EOI => "the end of the input",
        Rule::item | Rule::net | Rule::net_head_only | Rule::item_only => "a `net` or a `fn`",
        Rule::attr => "`#`",
        Rule::vis | Rule::kw_pub => "`pub`",
        Rule::kw_net => "`net`",
        Rule::kw_crate => "`crate`",
        Rule::kw_super => "`super`",
        Rule::stmt | Rule::stmt_only => STATEMENT,
        Rule::input_stmt | Rule::kw_input => "`input`",
        Rule::target_stmt | Rule::kw_target => "`target`",
        Rule::param_stmt | Rule::kw_param => "`param`",
        Rule::state_stmt | Rule::kw_state => "`state`",
        Rule::let_stmt | Rule::kw_let | Rule::body_let => "`let`",
        Rule::for_stmt | Rule::for_loop | Rule::kw_for => "`for`",
        Rule::kw_in => "`in`",
        Rule::assign => "an assignment like `h = tanh(w @ h)`",
        Rule::output_stmt | Rule::kw_output => "`output`",
        Rule::loss_stmt | Rule::kw_loss => "`loss`",
        Rule::fn_def | Rule::kw_fn => "`fn`",
        Rule::shape => "a shape like `[2]`",
        Rule::init => "an initialiser like `xavier`",
        Rule::signed | Rule::number | Rule::num_body => "a number",
        Rule::num_suffix => "a suffix like `f32`",
        Rule::setting => "a setting like `max_size = 2000000`",
        Rule::chainrule_attr | Rule::kw_chainrule => "`chainrule`",
        Rule::scalar_attr | Rule::kw_scalar => "`scalar`",
        Rule::tensor_attr | Rule::kw_tensor => "`tensor`",
        Rule::weights_attr | Rule::kw_weights => "`weights`",
        Rule::str_lit => "a string like `\"fc1.weight\"`",
        Rule::other_attr | Rule::attr_path => "an attribute",
        Rule::ident => "a name",
        Rule::expr | Rule::expr_only | Rule::paren | Rule::call | Rule::neg => "an expression",
        Rule::add | Rule::sub | Rule::mul | Rule::div | Rule::matmul | Rule::pow => "an operator",
        Rule::index | Rule::slice => "`[`",
        _ => return None,
    })
}

/// How "a statement" reads in "expected ...".
const STATEMENT: &str =
    "a statement (`input`, `target`, `param`, `state`, `let`, `for`, `output`, `loss` or `fn`)";

/// Rules whose name says more than the literal tokens they start with.
fn context_name(r: Rule) -> Option<&'static str> {
    Some(match r {
        Rule::init | Rule::init_name => "an initialiser like `xavier`",
        Rule::shape => "a shape like `[2]`",
        Rule::stmt | Rule::stmt_only => STATEMENT,
        Rule::item | Rule::item_only => "a `net` or a `fn`",
        _ => return None,
    })
}

/// What the literal tokens pest tried at the error position amount to, by category:
/// digits and name starts and `(` are "an expression", `+ * / @ ^` "an operator".
fn token_names(tokens: &[String]) -> Vec<&'static str> {
    let has = |t: &str| tokens.iter().any(|x| x == t);
    let digits = tokens
        .iter()
        .any(|t| t == "0..9" || t == "0x" || t == "0b" || t == "0o");
    let name = has("BUILTIN_RULE");
    let ops = ["+", "*", "/", "@", "^"].iter().any(|o| has(o));
    let mut out = Vec::new();
    if digits && name && has("(") {
        out.push("an expression");
    } else {
        if digits {
            out.push("a number");
        }
        if name {
            out.push("a name");
        }
    }
    if ops {
        out.push("an operator");
    }
    for t in tokens {
        match t.as_str() {
            "#" => out.push("`#`"),
            "net" => out.push("`net`"),
            "pub" => out.push("`pub`"),
            "crate" => out.push("`crate`"),
            "super" => out.push("`super`"),
            "fn" => out.push("`fn`"),
            "input" | "target" | "param" | "let" | "output" | "loss" => out.push(STATEMENT),
            _ => {}
        }
        if let Some(p) = punct_name(t) {
            out.push(p);
        }
    }
    out
}

/// How a literal token of the grammar reads in "expected ...", for punctuation only
/// (letters are parts of keywords and numbers, already named by their rules).
fn punct_name(token: &str) -> Option<&'static str> {
    Some(match token {
        ";" => "`;`",
        ":" => "`:`",
        "=" => "`=`",
        "," => "`,`",
        "(" => "`(`",
        ")" => "`)`",
        "[" => "`[`",
        "]" => "`]`",
        "{" => "`{`",
        "}" => "`}`",
        "::" => "`::`",
        _ => return None,
    })
}

/// Puts the most telling alternatives first: punctuation, then names and expressions.
fn order_expected(expected: &mut Vec<String>) {
    // An expression already covers its own parts.
    if expected.iter().any(|e| e == "an expression") {
        expected.retain(|e| e != "a name" && e != "a number" && e != "`(`" && e != "`-`");
    }
    // A statement or initialiser already says a name comes next.
    if expected
        .iter()
        .any(|e| e == STATEMENT || e.starts_with("an initialiser"))
    {
        expected.retain(|e| e != "a name");
    }
    // A shape starts with its `[`.
    if expected.iter().any(|e| e.starts_with("a shape")) {
        expected.retain(|e| e != "`[`");
    }
    // A statement may start with a doc comment or be a `fn`.
    if expected.iter().any(|e| e == STATEMENT) {
        expected.retain(|e| e != "`#`" && e != "`fn`");
    }
    // So does an item, for its attributes and keywords.
    if expected.iter().any(|e| e == "a `net` or a `fn`") {
        expected.retain(|e| e != "`#`" && e != "`pub`" && e != "`net`" && e != "`fn`");
    }
    // After an operand, a missing operator is the likely mistake; a call's `(` or an
    // index's `[` would only be noise.
    // (pest also reports that the operand's name or digits could go on.)
    if expected.iter().any(|e| e == "an operator") {
        expected.retain(|e| e != "`(`" && e != "`[`" && e != "a name" && e != "a number");
    }
    expected.sort_by_key(|e| match e.as_str() {
        s if s.starts_with("`;`") => 0,
        s if s.starts_with('`') && s.len() <= 5 => 1,
        "an operator" => 3,
        "the end of the input" => 4,
        _ => 2,
    });
}

/// Re-parses the invocation piece by piece after a syntax error.
fn resync(src: &Source, cx: &Ctxt) -> File {
    let mut items = Vec::new();
    for (first, last) in pieces(src, 0, 0, src.tokens.len()) {
        let range = piece_range(src, first, last);
        let b = Builder {
            cx,
            src,
            offset: range.start,
        };
        let err = match parse_piece(Rule::item_only, Rule::item, src.snippet(&range)) {
            Ok(item) => {
                items.extend(item.and_then(|p| b.item(p)));
                continue;
            }
            Err(e) => e,
        };
        match resync_net(src, cx, first, last) {
            Some(net) => items.push(Item::Net(net)),
            None => {
                b.syntax_error(&err);
                // A shared `fn` that did not parse is still known by name, so calls to
                // it are not reported as unknown.
                let salvaged = broken_stmt(src, first, last, piece_range(src, first, last));
                if let StmtKind::Broken {
                    keyword: Some(k),
                    name: Some(name),
                } = salvaged.kind
                    && k == "fn"
                {
                    items.push(Item::BrokenFn(name));
                }
            }
        }
    }
    File { items }
}

/// Runs pest's parser with stack for the deepest nesting [`Source::flatten`] lets through:
/// pest recurses once per bracket.
fn pest_parse(rule: Rule, text: &str) -> Result<Pairs<'_, Rule>, pest::error::Error<Rule>> {
    crate::stack::for_nesting(crate::source::MAX_NESTING, || {
        NetworkParser::parse(rule, text)
    })
}

/// Parses one piece of a resynchronised invocation with `rule` (an `*_only` rule, which
/// also requires the end of the input), giving its `inner` pair.
fn parse_piece(
    rule: Rule,
    inner: Rule,
    text: &str,
) -> Result<Option<Pair<'_, Rule>>, Box<pest::error::Error<Rule>>> {
    let mut pairs = pest_parse(rule, text)?;
    Ok(pairs
        .next()
        .and_then(|p| p.into_inner().find(|c| c.as_rule() == inner)))
}

/// Re-parses a net whose head parses on its own, statement by statement. `None` when the
/// piece is not such a net or no statement is at fault (the item's own error then stands).
fn resync_net(src: &Source, cx: &Ctxt, first: usize, last: usize) -> Option<Net> {
    let (open, close) = match src.tokens.get(last).map(|t| &t.kind) {
        Some(TokenKind::Close { .. }) => {
            let open = (first..last).rev().find(|&i| {
                matches!(src.tokens.get(i).map(|t| &t.kind), Some(TokenKind::Open { close, .. }) if *close == last)
            })?;
            (open, last)
        }
        _ => return None,
    };
    if src.snippet(&src.tokens.get(open)?.range) != "{" || open == first {
        return None;
    }
    let head_range = piece_range(src, first, open - 1);
    let head_text = src.snippet(&head_range);
    let mut pairs = pest_parse(Rule::net_head_only, head_text).ok()?;
    let head_builder = Builder {
        cx,
        src,
        offset: head_range.start,
    };
    let (mut net, _) = head_builder.net_head(Vec::new(), pairs.next()?)?;

    let depth = src.tokens.get(open)?.depth + 1;
    let errors_before = cx.count();
    let mut stmts = Vec::new();
    for (f, l) in pieces(src, depth, open + 1, close) {
        let range = piece_range(src, f, l);
        let b = Builder {
            cx,
            src,
            offset: range.start,
        };
        match parse_piece(Rule::stmt_only, Rule::stmt, src.snippet(&range)) {
            Ok(stmt) => stmts.extend(stmt.and_then(|p| b.stmt(p))),
            Err(e) => {
                b.syntax_error(&e);
                stmts.push(broken_stmt(src, f, l, range));
            }
        }
    }
    if cx.count() == errors_before {
        return None;
    }
    net.stmts = stmts;
    net.span = piece_range(src, first, last);
    Some(net)
}

/// What can be salvaged from a statement that did not parse: its keyword and the name it
/// declares, skipping attributes in front.
fn broken_stmt(src: &Source, first: usize, last: usize, span: Span) -> Stmt {
    let mut i = first;
    // Skip `#[...]` attributes.
    while let (Some(hash), Some(next)) = (src.tokens.get(i), src.tokens.get(i + 1)) {
        let is_hash = src.snippet(&hash.range) == "#";
        match (&next.kind, is_hash) {
            (TokenKind::Open { close, .. }, true) => i = close + 1,
            _ => break,
        }
    }
    let word = |i: usize| -> Option<Name> {
        if i > last {
            return None;
        }
        let t = src.tokens.get(i)?;
        match &t.kind {
            TokenKind::Ident(id) => Some(Name {
                text: id.to_string(),
                span: t.range.clone(),
            }),
            _ => None,
        }
    };
    let keyword = word(i).map(|n| n.text).filter(|k| {
        [
            "input", "target", "param", "state", "let", "output", "loss", "fn", "for",
        ]
        .contains(&k.as_str())
    });
    let name = if keyword
        .as_deref()
        .is_some_and(|k| k != "loss" && k != "for")
    {
        word(i + 1)
    } else {
        None
    };
    Stmt {
        attrs: Vec::new(),
        kind: StmtKind::Broken { keyword, name },
        span,
    }
}

/// Splits tokens `from..to` at nesting `depth` into pieces ending at a `;` or a `{...}`
/// (the latter only at the top level, where nets end with their body).
fn pieces(src: &Source, depth: usize, from: usize, to: usize) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = None;
    let mut i = from;
    while i < to {
        let Some(t) = src.tokens.get(i) else { break };
        if t.depth != depth {
            i += 1;
            continue;
        }
        let first = *start.get_or_insert(i);
        let ends = match &t.kind {
            TokenKind::Punct(p) => p.as_char() == ';',
            TokenKind::Close { .. } => depth == 0 && src.snippet(&t.range) == "}",
            _ => false,
        };
        if ends {
            out.push((first, i));
            start = None;
        }
        i += 1;
    }
    if let Some(first) = start {
        // The last piece runs to the last token at this depth (or inside it).
        let last = (first..to)
            .rev()
            .find(|&j| src.tokens.get(j).is_some_and(|t| t.depth >= depth));
        out.push((first, last.unwrap_or(first)));
    }
    out
}

/// The bytes from the start of token `first` to the end of token `last`, and the space
/// after it: pest then sees that a name or number at the end is complete.
fn piece_range(src: &Source, first: usize, last: usize) -> Span {
    let start = src.tokens.get(first).map_or(0, |t| t.range.start);
    let mut end = src
        .tokens
        .get(last)
        .map_or(start, |t| t.range.end)
        .max(start);
    if src.text.get(end..end + 1) == Some(" ") {
        end += 1;
    }
    start..end
}
