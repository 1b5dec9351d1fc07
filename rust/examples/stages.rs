//! `cargo run --release --example stages -- MODEL FILE...`: time per line of each
//! scoring stage on its own (template key, word tokens+counts, word dot, char counts,
//! char dot, each handcrafted pattern, all features; the blocks on the keys), and a
//! whole line with the key cache on and off, to see where a line's time goes.
//! Wall time, best of 7 runs: on a shared machine the best run is the least disturbed.

use lookskip_rs::chargrams::{CharBlock, LineCounts};
use lookskip_rs::features::Features;
use lookskip_rs::key::TemplateKey;
use lookskip_rs::model::ModelSpec;
use lookskip_rs::ngrams::{Counts, WordBlock};
use lookskip_rs::rx::{Pattern, Use};
use lookskip_rs::score::Classifier;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let spec = ModelSpec::load(&args[0]).expect("model");
    let mut lines: Vec<Vec<u8>> = Vec::new();
    for f in &args[1..] {
        let data = std::fs::read(f).expect("file");
        lines.extend(
            data.split(|&b| b == b'\n')
                .map(|l| String::from_utf8_lossy(l).into_owned().into_bytes()),
        );
    }
    let keyer = TemplateKey::new(&spec.key).unwrap();
    let word = WordBlock::new(&spec.word, &spec.coef.word).unwrap();
    let char = CharBlock::new(&spec.char, &spec.coef.char).unwrap();
    let feats = Features::new(&spec.handcrafted).unwrap();
    let mut cache = keyer.create_cache();
    let raw = lines;
    // every block reads the key: time them on the keys
    let lines: Vec<Vec<u8>> = raw
        .iter()
        .map(|l| {
            let mut o = Vec::new();
            keyer.key_into(&mut cache, l, &mut o);
            o
        })
        .collect();
    let normalized: Vec<Vec<u8>> = lines.iter().map(|l| l.to_ascii_lowercase()).collect();
    let padded: Vec<Vec<u8>> = lines
        .iter()
        .map(|l| {
            let mut o = l.to_ascii_lowercase();
            o.extend_from_slice(&[0; 8]);
            o
        })
        .collect();
    let n = lines.len() as f64;
    let time = |name: &str, f: &mut dyn FnMut() -> f64| {
        let mut best = f64::MAX;
        let mut acc = 0.0;
        for _ in 0..7 {
            // Wall time, best of 7: the quietest moment of a shared machine.
            let t = std::time::Instant::now();
            acc += f();
            best = best.min(t.elapsed().as_secs_f64());
        }
        println!(
            "{name:>16}: {:7.0} ns/line  (checksum {acc:.3})",
            best / n * 1e9
        );
    };
    let mut out = Vec::new();
    time("template key", &mut || {
        let mut s = 0.0;
        for l in &raw {
            out.clear();
            keyer.key_into(&mut cache, l, &mut out);
            s += out.len() as f64;
        }
        s
    });
    let mut spans = Vec::new();
    let mut ids = Vec::new();
    let mut buf = Vec::new();
    let mut wc = Counts::new(spec.word.vocabulary.len());
    time("word count", &mut || {
        let mut s = 0.0;
        for l in &normalized {
            word.tokens(None, l, &mut spans);
            word.count(l, &spans, &mut ids, &mut buf, &mut wc);
            s += wc.touched.len() as f64;
        }
        s
    });
    time("word count+dot", &mut || {
        let mut s = 0.0;
        for l in &normalized {
            word.tokens(None, l, &mut spans);
            word.count(l, &spans, &mut ids, &mut buf, &mut wc);
            s += word.weights.tfidf_dot(&wc);
        }
        s
    });
    let mut cc = LineCounts::default();
    time("char count", &mut || {
        let mut s = 0.0;
        for (l, p) in lines.iter().zip(&padded) {
            char.count(p, l.len(), &mut cc);
            s += cc.hits() as f64;
        }
        s
    });
    time("char count+dot", &mut || {
        let mut s = 0.0;
        for (l, p) in lines.iter().zip(&padded) {
            char.count(p, l.len(), &mut cc);
            s += char.dot(&mut cc);
        }
        s
    });
    // Each handcrafted pattern as the scorer runs it (rx::Pattern): a regex that
    // costs much more than the others is the next thing to look at.
    let uses = [
        ("LEVEL", Use::Match),
        ("STACK", Use::Match),
        ("NEGATIVE", Use::Count),
        ("PATH", Use::Match),
        ("REPEATED_PUNCT", Use::Match),
        ("KV", Use::Count),
        ("EMPHASIS", Use::Count),
    ];
    for (key, usage) in uses {
        let Some(pattern) = spec.handcrafted.patterns.get(key) else {
            continue;
        };
        let re = Pattern::new(key, pattern, usage).unwrap();
        let mut c = re.create_cache();
        time(&format!("  {key}"), &mut || {
            let mut s = 0.0;
            for (l, p) in lines.iter().zip(&padded) {
                let lowered = &p[..l.len()];
                s += match usage {
                    Use::Count => re.count(&mut c, l, lowered) as f64,
                    Use::Match => f64::from(u8::from(re.is_match(&mut c, l, lowered))),
                };
            }
            s
        });
    }
    let clf = Classifier::from_spec(&spec).unwrap();
    for (name, budget) in [("line, no cache", 0), ("line, cached", 64 << 20)] {
        let mut sc = clf.scratch_with_cache(budget);
        time(name, &mut || {
            raw.iter().map(|l| clf.score(l, &mut sc)).sum()
        });
    }
    let mut fs = feats.scratch();
    let mut fo = Vec::new();
    time("features", &mut || {
        let mut s = 0.0;
        for (l, p) in lines.iter().zip(&padded) {
            feats.compute(&mut fs, l, &p[..l.len()], &mut fo);
            s += fo[0];
        }
        s
    });
}
