"""Sentence pairs: the readers, one file:line error per fault, normalisation, filters, split."""
import numpy as np
import pytest

from tinyrnn.data.pairs import NORMALIZATIONS, Pairs, filter_pairs, normalize, normalize_pairs, read_pairs, split_pairs
from tinyrnn.errors import ConfigError, DataError

ANKI = ("Go.\tVa !\tCC-BY 2.0 (France) Attribution: tatoeba.org #2877272 (CM) & #1158250 (Wittydev)\n"
        "\n"
        "Hi.\tSalut !\tCC-BY 2.0 (France) Attribution: tatoeba.org #538123 (CM) & #509819 (Aiji)\r\n")


def test_tab_separated_pairs_with_an_attribution_column(write):
    path = write("fra.txt", ANKI)
    pairs = read_pairs(path)
    assert (pairs.sources, pairs.targets) == (["Go.", "Hi."], ["Va !", "Salut !"])
    assert pairs.origins == [f"{path}:1", f"{path}:3"] and pairs.skipped == [] and len(pairs) == 2


def test_csv_jsonl_two_files_and_tsv_agree(write):
    expected = (["I am cold.", "Hi, you."], ["J'ai froid.", "Salut, toi."])
    paths = [write("p.csv", 'id,target,source\n1,J\'ai froid.,I am cold.\n2,"Salut, toi.","Hi, you."\n'),
             write("p.jsonl", '{"source": "I am cold.", "target": "J\'ai froid."}\n\n'
                              '{"target": "Salut, toi.", "source": "Hi, you.", "n": 2}\n'),
             write("p.tsv", "source\ttarget\nI am cold.\tJ'ai froid.\nHi, you.\tSalut, toi.\n")]
    for path in paths:
        pairs = read_pairs(path)
        assert (pairs.sources, pairs.targets) == expected, path
    english, french = write("en.txt", "I am cold.\nHi, you.\n\n\n"), write("fr.txt", "J'ai froid.\r\nSalut, toi.")
    pairs = read_pairs(english, target_path=french)
    assert (pairs.sources, pairs.targets) == expected
    assert pairs.origins == [f"{english}:1", f"{english}:2"]


def test_other_columns_encoding_and_byte_order_mark(write):
    path = write("q.csv", "\ufeffen,fr\ntired,fatigu\u00e9\n".encode("utf-8"))
    pairs = read_pairs(path, source_column="en", target_column="fr")
    assert (pairs.sources, pairs.targets) == (["tired"], ["fatigu\u00e9"])
    latin = write("q.txt", "tired\tfatigu\u00e9\n".encode("latin-1"))
    assert read_pairs(latin, encoding="latin-1").targets == ["fatigu\u00e9"]
    records = read_pairs(write("q.jsonl", '{"en": "a", "fr": "b"}\n'), source_column="en", target_column="fr")
    assert (records.sources, records.targets) == (["a"], ["b"])


FAULTS = [
    ("notab.txt", "Go.\tVa !\nRun!\n", ":2: expected source<TAB>target, found no tab"),
    ("nosource.txt", "Go.\tVa !\n\n \tCours !\n", ":3: empty source"),
    ("notarget.tsv", "Go.\t\tCC-BY\n", ":1: empty target"),
    ("blank.txt", "\n \n", "file is empty"),
    ("header.csv", "source,target\n", "no sentence pairs"),
    ("column.csv", "en,target\na,b\n", ":1: no column 'source' in the header (columns: en, target)"),
    ("fields.csv", "source,target\na,b\nc,d,e\n", ":3: expected 2 fields, found 3"),
    ("quote.csv", 'source,target\na,b\n"c,d\ne,f\n', ":3: unexpected end of data"),
    ("json.jsonl", '{"source": "a", "target": "b"}\n{"source": "a",\n', ":2: invalid JSON"),
    ("array.jsonl", '[1, 2]\n', ":1: expected a JSON object, got array"),
    ("key.jsonl", '{"source": "a", "target": "b"}\n{"source": "a"}\n', ":2: missing key 'target'"),
    ("number.jsonl", '{"source": 3, "target": "b"}\n', ":1: source must be a string, got number"),
    ("null.jsonl", '{"source": "a", "target": null}\n', ":1: target must be a string, got null"),
    ("bytes.txt", b"a\tb\nc\t\xff\n", ":2: cannot decode byte 0xff as utf-8"),
]


@pytest.mark.parametrize("name, content, message", FAULTS, ids=[f[0] for f in FAULTS])
def test_each_fault_names_its_file_and_line(write, name, content, message):
    path = write(name, content)
    with pytest.raises(DataError) as caught:
        read_pairs(path)
    assert str(caught.value).startswith(path) and message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_the_line_named_is_the_bad_one(write):
    lines = [f"s{i}\tt{i}" for i in range(1, 8)]
    lines[4] = "s5 without a tab"                       # line 5
    path = write("five.txt", "\n".join(lines))
    with pytest.raises(DataError, match=r"five\.txt:5: "):
        read_pairs(path)


def test_skip_bad_keeps_good_rows_and_lists_the_rest(write):
    path = write("mixed.txt", "Go.\tVa !\nRun!\nHi.\t \nWho?\tQui ?\n")
    pairs = read_pairs(path, skip_bad=True)
    assert pairs.sources == ["Go.", "Who?"] and pairs.origins == [f"{path}:1", f"{path}:4"]
    assert pairs.skipped == [f"{path}:2: expected source<TAB>target, found no tab", f"{path}:3: empty target"]
    with pytest.raises(DataError, match=r"no sentence pairs \(2 bad row"):
        read_pairs(write("bad.txt", "Run!\nGo.\t\n"), skip_bad=True)


def test_two_files_must_pair_up(write):
    english = write("en.txt", "Go.\nRun!\nHi.\n")
    with pytest.raises(DataError, match=r"en\.txt has 3 lines but .*fr\.txt has 2"):
        read_pairs(english, target_path=write("fr.txt", "Va !\nCours !\n\n"))
    holes = write("holes.txt", "Va !\n\nSalut !\n")
    with pytest.raises(DataError, match=r"holes\.txt:2: empty line"):
        read_pairs(english, target_path=holes)
    pairs = read_pairs(english, target_path=holes, skip_bad=True)
    assert (pairs.sources, pairs.targets) == (["Go.", "Hi."], ["Va !", "Salut !"])
    with pytest.raises(DataError, match="no such file"):
        read_pairs(english, target_path=english + ".missing")


def test_swapped_translates_the_other_way():
    pairs = Pairs(["go", "hi"], ["va", "salut"], ["f:1", "f:2"], ["f:3: empty target"])
    back = pairs.swapped()
    assert (back.sources, back.targets, back.origins) == (["va", "salut"], ["go", "hi"], ["f:1", "f:2"])
    assert back.skipped == pairs.skipped and pairs.sources == ["go", "hi"]
    part = pairs.subset([1])
    assert (part.sources, part.targets, part.origins) == (["hi"], ["salut"], ["f:2"])


@pytest.mark.parametrize("mode, text, expected", [
    ("none", "Je suis Fatigué!", "Je suis Fatigué!"),
    ("accents", "Je suis Fatigué!", "je suis fatigue!"),
    ("accents", "Ça déçoit \ufb01n", "ca decoit fin"),          # ligature fi unfolded by NFKD
    ("letters", "Je suis fatigué!", "je suis fatigue !"),       # the tutorial's example
    ("letters", "I'm tired.", "i m tired ."),
    ("letters", "Va !", "va !"),
    ("letters", "J'ai 3 chats.", "j ai chats ."),
    ("letters", "Wait...  What?!", "wait . . . what ? !"),
    ("letters", "Qu\u2019est-ce\u202fque c\u2019est\u202f?", "qu est ce que c est ?"),
    ("letters", "Привет, мир!", "привет мир !"),               # letters of every script are kept
])
def test_normalisations(mode, text, expected):
    assert normalize(text, mode) == expected


def test_unknown_normalisation_names_the_choices():
    with pytest.raises(ValueError, match=r"'ascii'.*none, accents, letters"):
        normalize("x", "ascii")
    assert NORMALIZATIONS == ("none", "accents", "letters")


def test_normalize_pairs_leaves_out_pairs_emptied():
    pairs = normalize_pairs(Pairs(["Go.", "42"], ["Va !", "Quarante-deux"], ["f:1", "f:2"]), "letters")
    assert (pairs.sources, pairs.targets, pairs.origins) == (["go ."], ["va !"], ["f:1"])
    assert pairs.skipped == ["f:2: empty source after letters normalisation"]


def test_filter_by_length_is_at_most_max_length_tokens_per_side():
    pairs = Pairs(["a b c", "a b", "a", "a b c d"], ["x", "x y z", "x y z w", "x"], ["1", "2", "3", "4"])
    assert filter_pairs(pairs, max_length=3).origins == ["1", "2"]
    assert filter_pairs(pairs, max_length=4).origins == ["1", "2", "3", "4"]
    assert filter_pairs(pairs, max_length=1, tokenize=lambda text: text.replace(" ", "")).origins == []
    assert filter_pairs(pairs).origins == pairs.origins
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ConfigError):
            filter_pairs(pairs, max_length=bad)


def test_filter_by_target_prefix_is_the_tutorials_startswith():
    targets = ["i am cold .", "i m ok .", "he isn t here .", "iam .", "you are here .", "he s gone ."]
    pairs = Pairs(["s"] * 6, targets, [str(i) for i in range(6)])
    kept = filter_pairs(pairs, target_prefixes=["i am ", "i m ", "he is", "you are"])
    assert kept.targets == ["i am cold .", "i m ok .", "he isn t here .", "you are here ."]
    assert filter_pairs(pairs, target_prefixes="he s ").targets == ["he s gone ."]
    assert filter_pairs(pairs, max_length=4, target_prefixes=["i", "he"]).targets == \
        ["i am cold .", "i m ok .", "iam .", "he s gone ."]
    with pytest.raises(ConfigError):
        filter_pairs(pairs, target_prefixes=[])


def test_the_tutorials_pipeline_on_a_few_lines(write):
    """prepareData('eng', 'fra', reverse=True): French -> English, both under 10 words, English
    starting with one of eng_prefixes."""
    path = write("eng-fra.txt", "I'm tired.\tJe suis fatigué !\n"
                                "I'm not sure it's the right one.\tJe ne suis pas sûr que ce soit la bonne.\n"
                                "Go.\tVa !\nHe's 30.\tIl a 30 ans.\n")
    pairs = normalize_pairs(read_pairs(path), "letters").swapped()
    kept = filter_pairs(pairs, max_length=9, target_prefixes=("i m ", "he s "))
    assert (kept.sources, kept.targets) == (["je suis fatigue !", "il a ans ."], ["i m tired .", "he s ."])


def _many_pairs():
    sources = [f"s{i // 5}" for i in range(200)]                 # 40 sources, 5 translations each
    return Pairs(sources, [f"t{i}" for i in range(200)], [f"f:{i + 1}" for i in range(200)])


def test_split_keeps_each_source_on_one_side():
    pairs = _many_pairs()
    kept, held = split_pairs(pairs, 0.25, np.random.default_rng(3))
    assert not set(kept.sources) & set(held.sources)
    assert len(set(held.sources)) == 10 and len(held) == 50 and len(kept) == 150
    assert sorted(kept.origins + held.origins) == sorted(pairs.origins)
    assert kept.origins == sorted(kept.origins, key=lambda o: int(o[2:]))       # order kept
    again = split_pairs(pairs, 0.25, np.random.default_rng(3))
    assert again[1].origins == held.origins
    other = split_pairs(pairs, 0.25, np.random.default_rng(4))
    assert other[1].origins != held.origins


def test_split_by_a_key_and_its_limits():
    pairs = Pairs(["Go.", "go.", "Hi."], ["a", "b", "c"], ["1", "2", "3"])
    kept, held = split_pairs(pairs, 0.5, np.random.default_rng(0), key=str.casefold)
    assert sorted(len(part) for part in (kept, held)) == [1, 2]
    assert {"Go.", "go."} <= set(kept.sources) or {"Go.", "go."} <= set(held.sources)
    kept, held = split_pairs(pairs, 0.01, np.random.default_rng(0))
    assert len(set(held.sources)) == 1                           # at least one source each way
    for bad in (0, 1, 1.5, -0.1):
        with pytest.raises(ConfigError, match="between 0 and 1"):
            split_pairs(pairs, bad, np.random.default_rng(0))
    with pytest.raises(DataError, match="1 distinct source"):
        split_pairs(Pairs(["Go."] * 3, ["a", "b", "c"], ["1", "2", "3"]), 0.5, np.random.default_rng(0))


@pytest.mark.parametrize("mode", ["accents", "letters"])
def test_normalising_twice_changes_nothing(mode):
    """Training normalises the pairs and the model normalises what it reads again."""
    for text in ["ℌello", "㎒", "Ça été", "I'm tired.", "ǅemal", "ﬁnal", "Straße"]:
        once = normalize(text, mode)
        assert normalize(once, mode) == once, (text, once)


def test_a_classifiers_tab_separated_file_is_not_read_as_pairs(tmp_path):
    path = tmp_path / "reviews.tsv"
    path.write_text("text\tlabel\ngood film\tpos\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"reviews.tsv:1: a header text<TAB>label: a classifier's data"):
        read_pairs(str(path))
