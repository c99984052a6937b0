"""Texts with lone surrogates become valid Unicode (property-based)."""

from hypothesis import given
from hypothesis import strategies as st

from skpersona.text._inputs import check_texts, valid_unicode

ANY_CODE_POINT = st.text(st.characters(min_codepoint=0, max_codepoint=0x10FFFF,
                                       categories=("L", "N", "P", "Z", "S", "Cs", "Co")))


def _reference(text):
    """Pairs of surrogates joined, any other surrogate replaced: written out by hand."""
    out, i = [], 0
    while i < len(text):
        c = ord(text[i])
        if 0xD800 <= c <= 0xDBFF and i + 1 < len(text) and 0xDC00 <= ord(text[i + 1]) <= 0xDFFF:
            out.append(chr(0x10000 + ((c - 0xD800) << 10) + ord(text[i + 1]) - 0xDC00))
            i += 2
            continue
        out.append("\ufffd" if 0xD800 <= c <= 0xDFFF else text[i])
        i += 1
    return "".join(out)


@given(ANY_CODE_POINT)
def test_valid_unicode_replaces_lone_surrogates_and_keeps_everything_else(text):
    fixed = valid_unicode(text)
    fixed.encode("utf-8")  # never raises
    assert fixed == _reference(text)


@given(st.lists(ANY_CODE_POINT, max_size=5))
def test_check_texts_returns_encodable_texts(items):
    texts, blank = check_texts(items)
    assert len(texts) == len(items) == len(blank)
    for text in texts:
        text.encode("utf-8")
