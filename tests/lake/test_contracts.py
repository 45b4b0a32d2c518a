import polars as pl

from lake.contracts import REASON, Col, Contract, Reference, Rule
from lake.properties import PropertyMaster
from lake.pseudonymise import Pseudonymiser

REFERENCE = Reference(PropertyMaster.load(), Pseudonymiser(b"test-key"))


def contract() -> Contract:
    return Contract(
        columns=[Col("id", pl.String, required=True),
                 Col("nights", pl.Int32, min=0, max=30),
                 Col("kind", pl.String, allowed=frozenset({"a", "b"})),
                 Col("day", pl.Date),
                 Col("flag", pl.Boolean)],
        rules=[Rule(reason="nights must be even", ok=lambda ref: pl.col("nights") % 2 == 0)],
    )


def typed(rows: dict) -> pl.DataFrame:
    c = contract()
    return c.apply_rules(c.type_columns(pl.DataFrame(rows, schema={k: pl.String for k in rows})), REFERENCE)


def test_good_rows_are_typed_and_have_no_reason():
    df = typed({"id": ["x"], "nights": ["4"], "kind": ["a"], "day": ["2017-03-01"], "flag": ["1"]})
    assert df[REASON].to_list() == [None]
    assert df.schema["nights"] == pl.Int32 and df.schema["day"] == pl.Date
    assert df["flag"].to_list() == [True]


def test_each_violation_is_named_with_its_value():
    df = typed({"id": [None, "y", "z", "w"], "nights": ["2", "-2", "x", "3.5"],
                "kind": ["a", "c", "a", "b"], "day": ["2017-02-30", None, None, None],
                "flag": [None, None, "maybe", None]})
    reasons = df[REASON].to_list()
    assert "missing id" in reasons[0] and "unparseable day '2017-02-30'" in reasons[0]
    assert "nights -2 is below 0" in reasons[1] and "kind 'c' is not one of" in reasons[1]
    assert "unparseable nights 'x'" in reasons[2] and "unparseable flag 'maybe'" in reasons[2]
    assert "unparseable nights '3.5'" in reasons[3]


def test_spreadsheet_integers_are_accepted_and_null_tokens_are_null():
    df = typed({"id": ["x", "y"], "nights": ["4.0", "NULL"], "kind": ["NA", ""],
                "day": [None, None], "flag": [None, None]})
    assert df["nights"].to_list() == [4, None]
    assert df["kind"].to_list() == [None, None]
    assert df[REASON].to_list() == [None, None]


def test_row_rules_add_to_column_reasons():
    df = typed({"id": ["x"], "nights": ["31"], "kind": ["a"], "day": [None], "flag": [None]})
    assert df[REASON][0] == "nights 31 is above 30; nights must be even"


def test_rules_check_rows_against_the_reference_they_are_given():
    """A rule reads the property master it is handed: the same row passes against one master
    and fails against another (nothing is looked up behind the caller's back)."""
    c = Contract(columns=[Col("hotel", pl.String, required=True)],
                 rules=[Rule(reason="unknown hotel",
                             ok=lambda ref: pl.col("hotel").is_in(ref.properties.names()))])
    rows = c.type_columns(pl.DataFrame({"hotel": ["Resort Hotel", "Nowhere Inn"]}))
    assert c.apply_rules(rows, REFERENCE)[REASON].to_list() == [None, "unknown hotel"]
    only_city = Reference(PropertyMaster(tuple(p for p in REFERENCE.properties.records
                                               if p["name"] == "City Hotel")),
                          REFERENCE.pseudonymiser)
    assert c.apply_rules(rows, only_city)[REASON].to_list() == ["unknown hotel", "unknown hotel"]
