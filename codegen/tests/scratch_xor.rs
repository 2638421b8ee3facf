use chainrule_grammar::model::*;
use quote::format_ident;

fn e(kind: ExprKind, shape: Shape) -> Expr {
    Expr { kind, shape }
}
fn sym(s: Sym, shape: Shape) -> Expr {
    e(ExprKind::Sym(s), shape)
}

#[test]
fn scratch() {
    let v2 = Shape::Vector(2);
    let v1 = Shape::Vector(1);
    let z1 = e(
        ExprKind::Binary(
            BinOp::Add,
            Box::new(e(
                ExprKind::Binary(
                    BinOp::MatMul,
                    Box::new(sym(Sym::Param(0), Shape::Matrix(2, 2))),
                    Box::new(sym(Sym::Input, v2)),
                ),
                v2,
            )),
            Box::new(sym(Sym::Param(1), v2)),
        ),
        v2,
    );
    let h = e(ExprKind::Call(Func::Sigmoid, vec![z1]), v2);
    let z2 = e(
        ExprKind::Binary(
            BinOp::Add,
            Box::new(e(
                ExprKind::Binary(
                    BinOp::MatMul,
                    Box::new(sym(Sym::Param(2), Shape::Matrix(1, 2))),
                    Box::new(sym(Sym::Let(0), v2)),
                ),
                v1,
            )),
            Box::new(sym(Sym::Param(3), v1)),
        ),
        v1,
    );
    let y = e(ExprKind::Call(Func::Sigmoid, vec![z2]), v1);
    let loss = e(
        ExprKind::Call(Func::Bce, vec![sym(Sym::Let(1), v1), sym(Sym::Target, v1)]),
        Shape::Scalar,
    );
    let p = |n: &str, s: Shape, init: Init| Param {
        name: n.into(),
        shape: s,
        init,
        fan_in: 2,
        fan_out: 2,
        docs: vec![],
    };
    let unroll: usize = std::env::var("UNROLL")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(512);
    let net = Net {
        attrs: vec![],
        vis: quote::quote!(pub),
        name: format_ident!("Xor"),
        scalar: Scalar::F32,
        unroll,
        input: Var {
            name: "x".into(),
            shape: v2,
        },
        target: Some(Var {
            name: "t".into(),
            shape: v1,
        }),
        params: vec![
            p("w1", Shape::Matrix(2, 2), Init::Xavier),
            p("b1", v2, Init::Zeros),
            p("w2", Shape::Matrix(1, 2), Init::Xavier),
            p("b2", v1, Init::Zeros),
        ],
        lets: vec![
            Let {
                name: "h".into(),
                value: h,
            },
            Let {
                name: "y".into(),
                value: y,
            },
        ],
        output: Sym::Let(1),
        loss,
        fns: vec![],
    };
    let ts = chainrule_codegen::generate::generate(&net);
    let file: syn::File = syn::parse2(ts).unwrap();
    std::fs::write("/work/main/wip/xor.rs", prettyplease::unparse(&file)).unwrap();
}
