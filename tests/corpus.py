"""The malformed-cassette corpus (tests/data/malformed, see its README): each file and
the one line every command (verify, show, replay, record) must print for it."""

from __future__ import annotations

from support import DATA

MALFORMED = DATA / "malformed"

# file -> a fragment of the one line every command must print for it
CORPUS: dict[str, str] = {
    "empty.yaml": "empty file, not a cassette",
    "whitespace_only.yaml": "empty file, not a cassette",
    "binary_gzip.yaml": "not valid UTF-8",
    "control_chars.yaml": "control characters are not allowed",
    "invalid_utf8.yaml": "not valid UTF-8",
    "syntax_error.yaml": "did not find expected ',' or '}'",
    "bad_indentation.yaml": "did not find expected key",
    "top_level_list.yaml": "not an fc-cassette cassette",
    "top_level_scalar.yaml": "not an fc-cassette cassette",
    "not_a_cassette.yaml": "not an fc-cassette cassette",
    "json_document.yaml": "not an fc-cassette cassette",
    "unknown_version.yaml": "unknown cassette format version 99",
    "version_as_string.yaml": "unknown cassette format version '1'",
    "python_tag_header.yaml": "YAML tag '!!python/object/apply:os.system' is not allowed",
    "python_tag_entry.yaml": "YAML tag '!!python/object/apply:os.system' is not allowed",
    "unknown_tag.yaml": "YAML tag '!fc/custom' is not allowed",
    "alias_bomb.yaml": "aliases/anchors are not allowed",
    "deep_nesting.yaml": "nest",
    "entry_is_a_list.yaml": "interaction 1: (entry)",
    "wrong_field_types.yaml": "interaction 1: response.status",
    "wrong_body_kind.yaml": "interaction 1: response.body",
    "missing_response.yaml": "interaction 1: response: Field required",
    "missing_method.yaml": "interaction 1: request.method: Field required",
    "cut_in_header.yaml": "cut short inside its header",
    "binary_method.yaml": "YAML tag '!!binary' is not allowed",
    "binary_path.yaml": "YAML tag '!!binary' is not allowed",
    "binary_query.yaml": "YAML tag '!!binary' is not allowed",
    "str_tag.yaml": "YAML tag '!!str' is not allowed",
    "duplicate_key.yaml": "duplicate key 'path'",
    "crlf_in_method.yaml": "interaction 1: request.method: method 'GET\\r\\n' is not an "
    "HTTP token (control character U+000D)",
    "crlf_in_path.yaml": "interaction 1: request.path: control character U+000D in the path",
    "nul_in_header_value.yaml": "interaction 1: response.headers.Content-Type: control "
    "character U+0000 in a header value",
    "esc_in_header_value.yaml": "interaction 1: request.headers.Authorization: control "
    "character U+001B in a header value",
    "control_in_header_name.yaml": "header name 'X-Note\\x01' is not an HTTP token",
    "nan_in_json_body.yaml": "'.nan' is not a finite number",
    "infinity_in_json_body.yaml": "'-.inf' is not a finite number",
    "seq_as_string.yaml": "interaction 1: seq: Input should be a valid integer",
    "int_key_in_body.yaml": "key '404' is read as a number, not as a string",
}
# where the problem is: file:line:column for YAML errors, file:line when the line is known
LOCATED = {
    "syntax_error.yaml": r":14:3: ",
    "bad_indentation.yaml": r":12:2: ",
    "alias_bomb.yaml": r":3:7: ",
    "python_tag_entry.yaml": r":17:11: ",
    "invalid_utf8.yaml": r":19: ",
    "missing_method.yaml": r":10: ",
    "unknown_version.yaml": r":1: ",
    "wrong_field_types.yaml": r":17: ",
    "binary_method.yaml": r":11:11: ",
    "binary_path.yaml": r":12:9: ",
    "binary_query.yaml": r":13:10: ",
    "str_tag.yaml": r":19:19: ",
    "duplicate_key.yaml": r":13:3: ",
    "crlf_in_method.yaml": r":11: ",
    "crlf_in_path.yaml": r":12: ",
    "nul_in_header_value.yaml": r":19: ",
    "esc_in_header_value.yaml": r":15: ",
    "control_in_header_name.yaml": r":15: ",
    "nan_in_json_body.yaml": r":24:17: ",
    "infinity_in_json_body.yaml": r":24:17: ",
    "seq_as_string.yaml": r":9: ",
    "int_key_in_body.yaml": r":24:9: ",
}
