"""The shared row reader (trl_rrm.rows) used by the labeler and the evaluator."""

import json

import pytest

from trl_rrm.rows import read_rows


def test_reads_jsonl_json_lists_and_columns(tmp_path):
    rows = [{"prompt": "a", "n": 1}, {"prompt": "b", "n": 2}]
    (tmp_path / "r.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n\n")
    (tmp_path / "r.json").write_text(json.dumps(rows))
    (tmp_path / "c.json").write_text(json.dumps({"prompt": ["a", "b"], "n": [1, 2]}))
    for name in ("r.jsonl", "r.json", "c.json"):
        assert read_rows(tmp_path / name) == rows


@pytest.mark.parametrize(
    "name, content, needle",
    [
        ("bad.jsonl", '{"a": 1}\n{"a": \n', "line 2: not valid JSON"),
        ("bad.json", '{"a": 1}', "expected a JSON list of rows, got dict"),
        ("ragged.json", '{"a": [1, 2], "b": [1]}', "columns have different lengths"),
        ("broken.json", "[1, ", "cannot read input file: JSONDecodeError"),
        ("rows.csv", "a,b\n", "unknown file type '.csv'"),
        ("x.parquet", "not parquet", "cannot read input file"),
    ],
)
def test_errors_name_the_file_and_the_problem(tmp_path, name, content, needle):
    class MyError(ValueError):
        pass

    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(MyError) as err:
        read_rows(path, MyError)
    assert str(path) in str(err.value) and needle in str(err.value)


def test_missing_file(tmp_path):
    with pytest.raises(ValueError, match="missing.jsonl: cannot read input file: FileNotFoundError"):
        read_rows(tmp_path / "missing.jsonl")
