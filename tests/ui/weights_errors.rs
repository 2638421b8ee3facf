use chainrule::network;

// Each net's file misses its `LAYOUT` in one way: one error each, at the attribute. The
// files are `tests/reference/weights/`, written by `tests/reference/weights.py`; trybuild
// compiles this from `target/tests/trybuild/chainrule-tests`, four levels below the
// repository.
network! {
    #[weights("../../../../tests/reference/weights/missing.safetensors")]
    net Missing { input x: [2]; param w: [3, 2]; param b: [3]; let y = sum(w @ x + b); output y; loss y; }

    #[weights("../../../../tests/reference/weights/extra.safetensors")]
    net Extra { input x: [2]; param w: [3, 2]; param b: [3]; let y = sum(w @ x + b); output y; loss y; }

    #[weights("../../../../tests/reference/weights/shape.safetensors")]
    net Shape { input x: [2]; param w: [3, 2]; param b: [3]; let y = sum(w @ x + b); output y; loss y; }

    #[weights("../../../../tests/reference/weights/dtype.safetensors")]
    net Dtype { input x: [2]; param w: [3, 2]; param b: [3]; let y = sum(w @ x + b); output y; loss y; }

    #[weights("../../../../tests/reference/weights/int.safetensors")]
    net Int { input x: [2]; param w: [3, 2]; param b: [3]; let y = sum(w @ x + b); output y; loss y; }

    #[weights("../../../../tests/reference/weights/garbage.safetensors")]
    net Garbage { input x: [2]; param w: [3, 2]; param b: [3]; let y = sum(w @ x + b); output y; loss y; }

    #[weights("no/such/file.safetensors")]
    net NoFile { input x: [2]; param w: [3, 2]; param b: [3]; let y = sum(w @ x + b); output y; loss y; }

    #[weights("")]
    net Empty { input x: [2]; param w: [3, 2]; param b: [3]; let y = sum(w @ x + b); output y; loss y; }
}

// The stubs keep `WEIGHTS`, so this adds no error.
static NET: Missing = Missing::WEIGHTS;

fn main() {
    let _ = &NET;
}
