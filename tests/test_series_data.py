"""Numeric sequence readers (data/series.py): .ts, .npz, long CSV and forecasting CSV; each fault
one DataError naming file:line."""
import pickle

import numpy as np
import pytest

from tinyrnn.data.series import NumericSet, read_long_csv, read_npz, read_numeric, read_series, read_ts
from tinyrnn.errors import DataError

UNIVARIATE = """# A comment
@problemName Tiny
@TIMESTAMPS false
@univariate true
@equalLength true
@seriesLength 3
@classLabel true a b

@data
1,2,3:a
# between examples
4.5,-5,6e1:b
"""


def ts(header, *examples):
    return "\n".join(header.split("|") + ["@data", *examples]) + "\n"


MULTI = "@dimensions 2|@classLabel true x y"


def test_univariate_ts(write):
    path = write("u.ts", UNIVARIATE)
    data = read_ts(path)
    assert [s.tolist() for s in data.series] == [[[1], [2], [3]], [[4.5], [-5], [60]]]
    assert data.labels == ["a", "b"] and data.targets is None and data.target_names is None
    assert data.sources == [f"{path}:10", f"{path}:12"]
    assert data.feature_names == ["dim_0"] and data.num_features == 1 and len(data) == 2
    part = data.subset([1, 0])
    assert isinstance(part, NumericSet) and part.labels == ["b", "a"] and part.sources == data.sources[::-1]
    assert part.series[0].dtype == np.float64 and part.series[0][0, 0] == 4.5


def test_multivariate_ts_is_time_by_feature(write):
    data = read_ts(write("m.ts", ts(MULTI, "1,2,3:4,5,6:y", " 7,8:9,10 :x")))
    assert data.series[0].shape == (3, 2)
    assert data.series[0].tolist() == [[1, 4], [2, 5], [3, 6]]
    assert data.series[1].tolist() == [[7, 9], [8, 10]] and data.labels == ["y", "x"]
    assert data.feature_names == ["dim_0", "dim_1"]


def test_ts_trailing_missing_values_are_padding(write):
    data = read_ts(write("p.ts", ts(MULTI, "1,2,?,?:3,4,?,?:x", "1,2,3,nan:4,5,6,NaN:y", "1,2,3,4:5,6,7,8:y")))
    assert [len(s) for s in data.series] == [2, 3, 4]
    assert data.series[0].tolist() == [[1, 3], [2, 4]]
    assert data.series[1].tolist() == [[1, 4], [2, 5], [3, 6]]


def test_ts_regression_and_task(write):
    path = write("r.ts", ts("@univariate true|@targetLabel true", "1,2,3:0.5", "4,5:-2e1"))
    data = read_ts(path)
    assert data.labels is None and data.target_names == ["target"]
    assert data.targets.shape == (2, 1) and data.targets[:, 0].tolist() == [0.5, -20.0]
    with pytest.raises(DataError, match="real targets"):
        read_ts(path, task="classify")
    numbers = read_ts(write("c.ts", ts("@classLabel true 1 2", "1,2:2", "3,4:1")), task="regress")
    assert numbers.targets[:, 0].tolist() == [2.0, 1.0] and numbers.labels is None


@pytest.mark.parametrize("text, line, message", [
    (ts("@timeStamps true|@classLabel true a", "1:a"), 1, "@timeStamps true is not supported"),
    (ts("@dimensions x|@classLabel true a", "1:a"), 1, "@dimensions expects a whole number"),
    (ts("@classLabel true a|@colour blue", "1:a"), 2, "unknown header @colour"),
    (ts("@missing maybe|@classLabel true a", "1:a"), 1, "@missing expects true or false, got 'maybe'"),
    (ts("@classLabel true", "1:a"), 1, "@classLabel true lists no labels"),
    ("@classLabel true a\n1,2:a\n", 2, "data before the @data line"),
    (ts("@classLabel true a"), 2, "no examples after @data"),
    (ts("@dimensions 2|@classLabel true a", "1:2:a", "1:2:3:a"), 5, "3 dimensions, expected 2"),
    (ts("@classLabel true a", "1,2:a", "1:2:a"), 4, "2 dimensions, expected 1"),
    (ts(MULTI, "1,2,3:4,?,6:x"), 4, "a missing value inside the series (dimension 2, step 2)"),
    (ts(MULTI, "1,2,3:4,5:x"), 4, "a missing value inside the series (dimension 2, step 3)"),
    (ts(MULTI, "1,2,3:?,?,?:x"), 4, "(dimension 2, step 1)"),
    (ts(MULTI, "?,?:?,?:x"), 4, "every value is missing"),
    (ts("@equalLength true|@seriesLength 3|@classLabel true a", "1,2,3:a", "1,2:a"), 6,
     "2 steps; @seriesLength is 3"),
    (ts("@dimensions 2|@equalLength true|@seriesLength 2|@classLabel true a", "1,2:3:a"), 6,
     "1 steps; @seriesLength is 2"),
    (ts(MULTI, "1,2:3,4:z"), 4, "label 'z' is not one of @classLabel's: x y"),
    (ts(MULTI, "1,abc:3,4:x"), 4, "dimension 1, step 2 is not a number ('abc')"),
    (ts(MULTI, "1,2:3,inf:x"), 4, "dimension 2, step 2 is not a finite number ('inf')"),
    (ts(MULTI, "1,2,3"), 4, "no label"),
    (ts("@targetLabel true", "1,2:high"), 3, "the target is not a number ('high')"),
])
def test_ts_faults_name_file_and_line(write, text, line, message):
    path = write("bad.ts", text)
    with pytest.raises(DataError) as caught:
        read_ts(path)
    assert str(caught.value).startswith(f"{path}:{line}: ") and message in str(caught.value)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("text, message", [
    ("# only a header\n@classLabel true a\n", "no @data line"),
    (ts("@univariate true", "1,2"), "no labels or targets"),
])
def test_ts_faults_of_the_whole_file(write, text, message):
    path = write("bad.ts", text)
    with pytest.raises(DataError, match=message) as caught:
        read_ts(path)
    assert str(caught.value).startswith(f"{path}: ")


def test_npz_nan_padding_lengths_and_labels(tmp_path):
    X = np.arange(24, dtype=np.float32).reshape(3, 4, 2)
    X[0, 2:] = np.nan
    X[1, 3:] = np.nan
    path = tmp_path / "padded.npz"
    np.savez(path, X=X, y=np.array([1.0, 2.0, 2.5]))
    data = read_npz(path)
    assert [len(s) for s in data.series] == [2, 3, 4] and data.series[0].dtype == np.float64
    assert data.series[1].tolist() == X[1, :3].tolist() and data.labels == ["1", "2", "2.5"]
    assert data.feature_names == ["x0", "x1"] and data.sources == [f"{path}:row {i}" for i in range(3)]
    np.savez(path, X=np.ones((2, 5)), lengths=np.array([2, 5]), y=np.array(["cat", "dog"]))
    data = read_npz(path)
    assert [s.shape for s in data.series] == [(2, 1), (5, 1)] and data.labels == ["cat", "dog"]


def test_npz_regression(tmp_path):
    path = tmp_path / "r.npz"
    np.savez(path, X=np.ones((3, 2, 1)), y=np.array([[1, 2], [3, 4], [5, 6]]))
    data = read_numeric(path, task="regress")
    assert data.targets.tolist() == [[1, 2], [3, 4], [5, 6]] and data.target_names == ["y0", "y1"]
    np.savez(path, X=np.ones((3, 2, 1)), y=np.array([0.5, 1, 2]))
    data = read_npz(path, task="regress")
    assert data.targets.shape == (3, 1) and data.target_names == ["y"] and data.labels is None


def _nan_inside():
    X = np.ones((2, 4, 2))
    X[1, 1] = np.nan                                # a whole missing step before real ones
    return {"X": X, "y": np.array([0, 1])}


def _half_missing_step():
    X = np.ones((2, 4, 2))
    X[0, 3, 1] = np.nan
    return {"X": X, "y": np.array([0, 1])}


@pytest.mark.parametrize("arrays, message", [
    (_nan_inside(), "row 1, step 1: a missing value (NaN) inside the series"),
    (_half_missing_step(), "row 0, step 3: a missing value (NaN)"),
    ({"X": np.ones((2, 3)), "y": np.array([0, 1]), "lengths": np.array([2, 4])}, "lengths must be (2,)"),
    ({"X": np.array([[1.0, np.nan, 1.0]]), "y": np.array([0]), "lengths": np.array([3])}, "row 0, step 1"),
    ({"X": np.full((1, 3), np.nan), "y": np.array([0])}, "row 0: every step is missing"),
    ({"X": np.array([[1.0, np.inf]]), "y": np.array([0])}, "row 0, step 1: an infinite value"),
    ({"y": np.array([0])}, "no array 'X' in the archive (arrays: y)"),
    ({"X": np.ones((1, 2))}, "no array 'y'"),
    ({"X": np.ones((2, 2)), "y": np.array([0, 1, 1])}, "y is int64 of shape (3,); expected (2,)"),
    ({"X": np.ones((1, 2)), "y": np.array([np.nan])}, "finite if numbers"),
    ({"X": np.array([["a", "b"]]), "y": np.array([0])}, "X is <U1"),
])
def test_npz_faults(tmp_path, arrays, message):
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises(DataError) as caught:
        read_npz(path)
    assert str(caught.value).startswith(f"{path}: ") and message in str(caught.value)


def test_npz_never_unpickles(tmp_path):
    objects = tmp_path / "objects.npz"
    np.savez(objects, X=np.ones((1, 2)), y=np.array([{"a": 1}], dtype=object))
    with pytest.raises(DataError, match="array of Python objects"):
        read_npz(objects)
    pickled = tmp_path / "pickled.npz"
    pickled.write_bytes(pickle.dumps({"X": [1.0]}))
    with pytest.raises(DataError, match="but a pickle"):
        read_npz(pickled)
    text = tmp_path / "text.npz"
    text.write_text("X,y\n")
    with pytest.raises(DataError, match="not a NumPy .npz archive$"):
        read_npz(text)


LONG = """series,t,a,b,label
s2,10,5,50,neg
s1,2,2,20,pos
s2,2,4,40,neg
s1,1,1,10,pos

s2,9,6,60,neg
"""


def test_long_csv_sorts_each_series_by_numeric_time(write):
    path = write("long.csv", LONG)
    data = read_long_csv(path, time_column="t")
    assert data.labels == ["neg", "pos"] and data.feature_names == ["a", "b"]
    assert data.series[0].tolist() == [[4, 40], [6, 60], [5, 50]]      # 2 < 9 < 10 as numbers
    assert data.series[1].tolist() == [[1, 10], [2, 20]]
    assert data.sources == [f"{path}:2", f"{path}:3"]
    unsorted = read_long_csv(path, feature_columns=["b"])     # no time column: file order
    assert unsorted.series[0][:, 0].tolist() == [50, 40, 60] and unsorted.feature_names == ["b"]


def test_long_csv_string_times_regression_and_tsv(write):
    path = write("long.tsv", "id\twhen\tx\ty\nA\t2020-02\t2\t1.5\nA\t2020-01\t1\t1.5\n")
    data = read_numeric(path, id_column="id", time_column="when", target_column="y", task="regress")
    assert data.series[0][:, 0].tolist() == [1, 2] and data.targets.tolist() == [[1.5]]
    assert data.target_names == ["y"] and data.labels is None


@pytest.mark.parametrize("text, options, message", [
    ("series,x,label\na,1,p\na,2,q\n", {}, ":3: series 'a' has label 'q' here but 'p' at"),
    ("series,x,label\na,1,p\na,abc,p\n", {}, ":3: column 'x' is not a number ('abc')"),
    ("series,x,label\na,,p\n", {}, ":2: column 'x' is not a number ('')"),
    ("series,x,label\n,1,p\n", {}, ":2: column 'series' is empty"),
    ("series,t,x,label\na,1,1,p\na,1,2,p\n", {"time_column": "t"}, ":3: series 'a' has t '1' twice"),
    ("series,x,label\na,1\n", {}, ":2: expected 3 fields, found 2"),
    ("series,x\na,1\n", {}, ":1: no column 'label' in the header (columns: series, x)"),
    ("series,x,label\na,1,p\n", {"feature_columns": ["z"]}, ":1: no column 'z'"),
    ("series,x,label\na,\"1,p\n", {}, ":2: "),
    ("series,x,label\na,1,p\n", {"task": "regress"}, ":2: column 'label' is not a number ('p')"),
])
def test_long_csv_faults(write, text, options, message):
    path = write("bad.csv", text)
    with pytest.raises(DataError) as caught:
        read_numeric(path, **options)
    assert str(caught.value).startswith(path) and message in str(caught.value)


def test_read_series_with_a_date_column_and_two_value_columns(write):
    path = write("air.csv", "Date,Passengers\n1949-01,112\n1949-02,118\n\n1949-03,132\n")
    series = read_series(path)
    assert series.names == ["Passengers"] and series.times == ["1949-01", "1949-02", "1949-03"]
    assert series.values.shape == (3, 1) and series.values[:, 0].tolist() == [112, 118, 132]
    assert series.source == path
    path = write("two.csv", "step,load,temp,note\n1,0.5,20,x\n2,0.7,21,y\n")
    series = read_series(path)
    assert series.times is None and series.names == ["step", "load", "temp"]    # step is a number
    series = read_series(path, time_column="step", columns=["temp", "load"])
    assert series.values.tolist() == [[20, 0.5], [21, 0.7]] and series.times == ["1", "2"]


@pytest.mark.parametrize("text, options, message", [
    ("Date,x\n1949-01,1\n1949-02,abc\n", {}, ":3: column 'x' is not a number ('abc')"),
    ("Date,x\n1949-01,1\n1949-02,nan\n", {}, ":3: column 'x' is not a finite number ('nan')"),
    ("Date,x\n1949-01,1\n1949-02,\n", {}, ":3: column 'x' is not a number ('')"),
    ("Date,x\n1949-01,1\n", {}, ": 1 row of values; a series needs at least 2"),
    ("Date,x\n1949-01,1\n1949-02,2\n", {"columns": ["y"]}, ":1: no column 'y' in the header (columns: Date, x)"),
    ("Date,note\n1949-01,a\n1949-02,b\n", {}, ":2: no numeric columns"),
])
def test_read_series_faults(write, text, options, message):
    path = write("bad.csv", text)
    with pytest.raises(DataError) as caught:
        read_series(path, **options)
    assert str(caught.value).startswith(path) and message in str(caught.value)


def test_files_that_cannot_be_read(write, tmp_path):
    with pytest.raises(DataError, match="no such file"):
        read_numeric(tmp_path / "missing.ts")
    (tmp_path / "folder.csv").mkdir()
    with pytest.raises(DataError, match="is a directory"):
        read_series(tmp_path / "folder.csv")
    path = write("latin.ts", "@classLabel true caf\xe9\n@data\n1:caf\xe9\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"latin\.ts:1: cannot decode byte 0xe9 as utf-8") as caught:
        read_numeric(path)
    assert caught.value.remedy == "encoding"
    assert read_numeric(path, encoding="latin-1").labels == ["caf\xe9"]
    with pytest.raises(DataError, match="cannot tell the format"):
        read_numeric(write("x.arff", "@relation x\n"))
    with pytest.raises(DataError, match="id_column apply only to long CSV"):
        read_numeric(write("u.ts", UNIVARIATE), id_column="id")
    with pytest.raises(ValueError, match="task must be"):
        read_numeric(write("u.ts", UNIVARIATE), task="cluster")
