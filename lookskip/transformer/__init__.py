"""The BERT stage: fine-tune a small BERT on the labels, export it for candle (Rust).

TF-IDF is fast but coarse; a fine-tuned BERT reads a line in context of its
words and is far more precise. It is too slow to run on every line of an
archive, so ``classify --bert`` runs it only on the lines TF-IDF flags
(:mod:`lookskip.classify.cascade`). torch and transformers are imported only
inside this package, so the rest of lookskip never pays for them.
"""
