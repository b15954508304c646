"""The line index that lets validation reports point at the offending line."""

from __future__ import annotations

from kg.positions import RDF_TYPE, index_turtle

EX = "http://example.org/"

TRICKY = '''\
PREFIX ex: <http://example.org/>
@base <http://example.org/base/> .
# a comment with "quotes" and <brackets> ; , .
ex:a a ex:Thing ;
    ex:note """a long string
with # not a comment, "quotes" and a ; semicolon
""" ;
    ex:n 100.42, -3, 1e5 ;
    ex:nested [ ex:inner "x"@en ;
                ex:deeper [ ex:leaf <relative> ] ] ;
    ex:list ( ex:one "two" 3 ) .

<b> ex:p 'single \\' quoted', "tab\\tescape"^^ex:dt .
ex:esc\\-aped ex:q ex:r .
[] ex:anon ex:x .
ex:a ex:later true .
'''


def test_subjects_predicates_and_objects_are_found_on_their_lines():
    index = index_turtle(TRICKY)
    assert index.line_of(EX + "a") == 4
    assert index.line_of(EX + "a", RDF_TYPE) == 4
    assert index.line_of(EX + "a", EX + "note") == 5
    assert index.line_of(EX + "a", EX + "n", "-3") == 8
    assert index.line_of(EX + "a", EX + "nested") == 9
    assert index.line_of(EX + "a", EX + "list") == 11
    assert index.line_of(EX + "a", EX + "later") == 16


def test_base_escapes_and_later_statements():
    index = index_turtle(TRICKY)
    assert index.line_of(EX + "base/b") == 13
    assert index.line_of(EX + "base/b", EX + "p", "single ' quoted") == 13
    assert index.line_of(EX + "base/b", EX + "p", "tab\tescape") == 13
    assert index.line_of(EX + "esc-aped", EX + "q", EX + "r") == 14


def test_objects_in_nested_blank_nodes_are_mentions():
    index = index_turtle(TRICKY)
    assert index.line_of(EX + "base/relative") == 10  # only ever an object: its first mention


def test_unknown_terms_have_no_line():
    index = index_turtle(TRICKY)
    assert index.line_of(EX + "nowhere") is None
