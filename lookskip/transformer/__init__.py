"""The BERT stage: fine-tune a small BERT on the labels, export it for candle (Rust).

TF-IDF is fast but coarse; a fine-tuned BERT reads a line in context of its
words and understands failure wording no training system used. ``lookskip classify
--model transformer|cascade|blend`` scores with it in Rust, each distinct input once
(:mod:`lookskip.classify.modes`). torch and transformers are imported only
inside this package, so the rest of lookskip never pays for them.
"""
