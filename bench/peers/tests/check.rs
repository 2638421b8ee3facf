//! Every peer computes what chainrule computes, on every net, at batch 1 and 64.
#![forbid(unsafe_code)]

use chainrule_peers::check::{TOLERANCE, check};
use chainrule_peers::{BATCHES, Net, Peer};

fn agree(net: Net) {
    for n in BATCHES {
        for a in check(net, n, &Peer::ALL) {
            println!(
                "{} batch {n} {}: outputs {:.1e}, loss {:.1e}, gradient {:.1e}",
                net.key(),
                a.peer.name(),
                a.outputs,
                a.loss,
                a.gradient
            );
            assert!(a.passes(), "{a:?} is beyond the tolerance {TOLERANCE:e}");
        }
    }
}

#[test]
fn n2_8_1() {
    agree(Net::N281);
}

#[test]
fn n4_16_16_3() {
    agree(Net::N4_16_16_3);
}

#[test]
fn n64_rows() {
    agree(Net::N64Rows);
}

#[test]
fn n64_cols() {
    agree(Net::N64Cols);
}

#[test]
fn n784_128_10() {
    agree(Net::N784);
}

/// The check can fail: ndarray built from weights one step away from chainrule's.
#[test]
fn a_changed_weight_is_caught() {
    use chainrule_peers::check::compare;
    use chainrule_peers::spec::Batch;
    let net = Net::N64Rows;
    let spec = net.spec();
    let batch = Batch::new(&spec, 64, 7);
    let mut changed = spec.clone();
    changed.layers[1].w[5] += 0.1;
    let mut reference = Peer::Chainrule.prepare(net, &spec, &batch);
    let mut same = Peer::Ndarray.prepare(net, &spec, &batch);
    let mut other = Peer::Ndarray.prepare(net, &changed, &batch);
    assert!(
        compare(&mut *same, &mut *reference)
            .iter()
            .all(|d| *d <= TOLERANCE)
    );
    let [outputs, loss, gradient] = compare(&mut *other, &mut *reference);
    assert!(outputs > TOLERANCE && loss > TOLERANCE && gradient > TOLERANCE);
}
