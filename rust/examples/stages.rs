//! `cargo run --release --example stages -- MODEL FILE...`: CPU time per line of each
//! scoring stage on its own (normalize, word tokens+counts, word dot, char counts,
//! char dot, handcrafted features), to see where a line's time goes.

use lookskip_rs::chargrams::{CharBlock, LineCounts};
use lookskip_rs::features::Features;
use lookskip_rs::model::ModelSpec;
use lookskip_rs::ngrams::{Counts, WordBlock};
use lookskip_rs::normalize::Normalizer;

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
    let norm = Normalizer::new(&spec.normalization.rules).unwrap();
    let word = WordBlock::new(&spec.word, &spec.coef.word).unwrap();
    let char = CharBlock::new(&spec.char, &spec.coef.char).unwrap();
    let feats = Features::new(&spec.handcrafted).unwrap();
    let mut cache = norm.create_cache();
    let normalized: Vec<Vec<u8>> = lines
        .iter()
        .map(|l| {
            let mut o = Vec::new();
            norm.normalize_into(&mut cache, l, &mut o);
            o.make_ascii_lowercase();
            o
        })
        .collect();
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
        println!("{name:>14}: {:7.0} ns/line  ({acc:.3})", best / n * 1e9);
    };
    let mut out = Vec::new();
    time("normalize", &mut || {
        let mut s = 0.0;
        for l in &lines {
            out.clear();
            norm.normalize_into(&mut cache, l, &mut out);
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
    for key in ["LEVEL", "STACK", "NEGATIVE", "PATH", "HEX", "REPEATED_PUNCT", "KV", "ALLCAPS", "EMPHASIS"] {
        let re = lookskip_rs::rx::compile(key, spec.handcrafted.patterns.get(key).unwrap()).unwrap();
        let mut c = re.create_cache();
        time(&format!("{key} count"), &mut || {
            lines.iter().map(|l| lookskip_rs::rx::count(&re, &mut c, l) as f64).sum()
        });
        time(&format!("{key} match"), &mut || {
            lines.iter().map(|l| f64::from(u8::from(lookskip_rs::rx::is_match(&re, &mut c, l)))).sum()
        });
    }
    for key in ["LEVEL", "NEGATIVE"] {
        let pat = spec.handcrafted.patterns.get(key).unwrap().strip_prefix("(?i)").unwrap();
        let re = lookskip_rs::rx::compile(key, pat).unwrap();
        let mut c = re.create_cache();
        time(&format!("{key} lower count"), &mut || {
            padded.iter().map(|l| lookskip_rs::rx::count(&re, &mut c, &l[..l.len() - 8]) as f64).sum()
        });
    }
    for (key, pat) in [("STACK-lit", r#"Traceback \(most recent call last\)|Caused by:|Exception in thread|\.java:[0-9]+\)|File "[^"]*", line [0-9]+"#), ("STACK-anch", r"^\s*at [A-Za-z_$][A-Za-z0-9_$.<>]*\(")] {
        let re = lookskip_rs::rx::compile(key, pat).unwrap();
        let mut c = re.create_cache();
        time(&format!("{key} match"), &mut || {
            lines.iter().map(|l| f64::from(u8::from(lookskip_rs::rx::is_match(&re, &mut c, l)))).sum()
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
