"""The one input module (trl_rrm.inputs) behind ``label`` and ``eval``: reading, numbering, validation."""

import json

import pytest

from trl_rrm.inputs import ROLES, InputError, Rows, check_text, load_rows, read_file


def test_reads_jsonl_json_lists_and_columns(tmp_path):
    rows = [{"prompt": "a", "n": 1}, {"prompt": "b", "n": 2}]
    (tmp_path / "r.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n\n")
    (tmp_path / "r.json").write_text(json.dumps(rows))
    (tmp_path / "c.json").write_text(json.dumps({"prompt": ["a", "b"], "n": [1, 2]}))
    for name in ("r.jsonl", "r.json", "c.json"):
        assert read_file(tmp_path / name).rows == rows


def test_one_numbering_scheme_per_source(tmp_path):
    # jsonl: the file's line numbers, blank lines counted (what an editor shows)
    (tmp_path / "r.jsonl").write_text('{"prompt": "a"}\n\n{"prompt": "b"}\n')
    rows = read_file(tmp_path / "r.jsonl")
    assert rows.at(1) == f"{tmp_path / 'r.jsonl'}: line 3"
    # anything else: the row index
    assert Rows([{}, {}], "dataset").at(1) == "dataset: row 1"
    with pytest.raises(InputError, match=r"r.jsonl: line 3: field 'prompt': message 0 has role 'robot'"):
        bad = tmp_path / "r.jsonl"
        bad.write_text('{"prompt": "a"}\n\n{"prompt": [{"role": "robot", "content": "x"}]}\n')
        rows = read_file(bad)
        for i, row in enumerate(rows.rows):
            check_text(row["prompt"], rows.at(i), "prompt")


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
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(InputError) as err:
        read_file(path)
    assert str(path) in str(err.value) and needle in str(err.value)


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="missing.jsonl: cannot read input file: FileNotFoundError"):
        read_file(tmp_path / "missing.jsonl")
    with pytest.raises(InputError, match="missing.jsonl: no such file"):
        load_rows(str(tmp_path / "missing.jsonl"))


@pytest.mark.parametrize(
    "value, needle",
    [
        ([{"role": 3, "content": "x"}], "message 0 has role 3"),
        ([{"role": "robot", "content": "x"}], "message 0 has role 'robot'"),
        ([{"content": "x"}], "message 0 has no 'role'"),
        ([{"role": "user", "content": 5}], "message 0 content must be a string"),
        ([{"role": "user"}], "message 0 content must be a string"),
        (["just a string in a list"], "message 0 must be a dict"),
        ([], "is an empty message list"),
        ([{"role": "user", "content": "  "}], "every message is empty"),
        ("   ", "is empty"),
        (42, "must be text or a list of chat messages, got int"),
        (None, "is missing"),
    ],
)
def test_chat_messages_are_validated_fully(value, needle):
    with pytest.raises(InputError) as err:
        check_text(value, "in.jsonl: line 4", "prompt")
    assert str(err.value).startswith("in.jsonl: line 4: field 'prompt'") and needle in str(err.value)


def test_valid_texts_pass():
    assert check_text("hi", "w", "prompt") == "hi"
    messages = [{"role": role, "content": "x"} for role in ROLES]
    assert check_text(messages, "w", "prompt") == messages
    parts = [{"role": "user", "content": [{"type": "text", "text": "multi"}]}]
    assert check_text(parts, "w", "prompt") == parts
    assert check_text({"role": "assistant", "content": "one"}, "w", "completions[0]") == [{"role": "assistant", "content": "one"}]


@pytest.mark.parametrize(
    "value, needle",
    [
        ("ab\ud800c", "field 'prompt': character 2 is a lone surrogate (U+D800)"),
        ([{"role": "user", "content": "x\udfff"}], "field 'prompt' [0]['content']: character 1 is a lone surrogate (U+DFFF)"),
        ([{"role": "user", "content": [{"type": "text", "text": "\udc80"}]}],
         "field 'prompt' [0]['content'][0]['text']: character 0 is a lone surrogate (U+DC80)"),
        ([{"role": "assistant", "content": None, "tool_calls": [{"function": {"name": "f", "arguments": "\ud83d"}}]}],
         "[0]['tool_calls'][0]['function']['arguments']: character 0 is a lone surrogate (U+D83D)"),
    ],
    ids=["text", "message", "text part", "tool call"],
)
def test_a_lone_surrogate_is_refused_where_it_is(value, needle):
    """Issue 46 item 8: a lone surrogate (JSON "\\ud800") passed validation and ``label`` failed
    later with "'utf-8' codec can't encode character", naming no file or line."""
    with pytest.raises(InputError) as err:
        check_text(value, "in.jsonl: line 4", "prompt")
    assert str(err.value).startswith("in.jsonl: line 4: field 'prompt'") and needle in str(err.value)
    assert "not text: it cannot be written as UTF-8" in str(err.value)
    assert check_text("a pair \U0001f600 of surrogates in JSON is one character", "w", "prompt")
