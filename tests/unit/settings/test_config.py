"""Config: bundled defaults, user overrides, and one-line errors with file, line and key."""

import pytest

from fc_cassette.cassette import yamlio
from fc_cassette.settings.config import DEFAULT_CONFIG, ConfigError, Settings, load_settings


def test_bundled_default_file_matches_the_models_defaults():
    assert DEFAULT_CONFIG.exists()
    assert load_settings() == Settings()
    # every section of the schema is written out in the bundled file
    assert set(yamlio.load(DEFAULT_CONFIG.read_text())) == set(Settings.model_fields)


def test_user_file_overrides_key_by_key(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("replay:\n  on_exhausted: repeat_last\nmatching:\n  headers: []\n")
    s = load_settings(f)
    assert s.replay.on_exhausted == "repeat_last"
    assert s.replay.miss_status == 400  # untouched sibling keeps its default
    assert s.matching.headers == []  # lists replace lists
    assert s.scope == Settings().scope


@pytest.mark.parametrize(
    "text, where, words",
    [
        (
            "replay:\n  on_exhausted: sometimes\n",
            ":2: replay.on_exhausted:",
            "'miss' or 'repeat_last'",
        ),
        ("replay:\n  miss_status: 409\n", ":2: replay.miss_status:", "retried"),
        ("scope:\n  paths: ['(']\n", ":2: scope.paths:", "invalid regex"),
        ("\n\nrecrod:\n  mode: all\n", ":3: recrod:", "unknown key"),
        ("record:\n  fsync: maybe\n", ":2: record.fsync:", "boolean"),
        ("- a\n", ":1:", "must be a mapping"),
        ("replay: [\n", ":2:", ""),
        ("a: !!python/object/apply:os.system ['true']\n", ":1:", "constructor"),
        ("webhooks:\n  retry_after_s: [1, -2]\n", ":2: webhooks.retry_after_s:", "between 0"),
        ("webhooks:\n  retry_after_s: [.nan]\n", ":2: webhooks.retry_after_s:", ""),
        ("webhooks:\n  retry_after_s: 3\n", ":2: webhooks.retry_after_s:", "list"),
    ],
)
def test_bad_config_is_one_line_with_file_line_and_key(tmp_path, text, where, words):
    f = tmp_path / "bad.yaml"
    f.write_text(text)
    with pytest.raises(ConfigError) as e:
        load_settings(f)
    msg = str(e.value)
    assert msg.startswith(str(f) + where), msg
    assert words in msg and "\n" not in msg


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match="no such config file"):
        load_settings(tmp_path / "nope.yaml")


def test_a_pipe_or_a_device_is_refused_without_reading(tmp_path):
    import os

    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    for path in (fifo, "/dev/zero"):
        with pytest.raises(ConfigError, match="not a regular file"):
            load_settings(path)
    with pytest.raises(ConfigError, match="is a directory"):
        load_settings(tmp_path)


def test_every_config_error_is_listed_with_its_line_and_a_did_you_mean(tmp_path):
    f = tmp_path / "bad.yaml"
    f.write_text(
        "replay:\n  on_exhausted: sometimes\n  miss_status: 409\n"
        "recrod:\n  mode: all\nmatching:\n  header: []\n"
    )
    with pytest.raises(ConfigError) as e:
        load_settings(f)
    msg = str(e.value)
    assert "\n" not in msg and "more)" not in msg
    parts = msg.split(f"; {f}")
    parts[1:] = [f"{f}{p}" for p in parts[1:]]
    assert parts[0] == f"{f}:2: replay.on_exhausted: Input should be 'miss' or 'repeat_last'"
    assert parts[1].startswith(f"{f}:3: replay.miss_status: 409 and 429 are retried")
    assert parts[2] == (f"{f}:4: recrod: unknown key (did you mean 'record'?)")
    assert parts[3] == (f"{f}:7: matching.header: unknown key (did you mean 'headers'?)")
    assert len(parts) == 4


def test_an_unknown_key_far_from_any_lists_the_known_ones(tmp_path):
    f = tmp_path / "bad.yaml"
    f.write_text("replay:\n  zzz: 1\n")
    with pytest.raises(ConfigError) as e:
        load_settings(f)
    assert str(e.value) == (
        f"{f}:2: replay.zzz: unknown key (known keys: on_exhausted, miss_status)"
    )
