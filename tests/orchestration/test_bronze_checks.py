"""The bronze checks of the code location, built from the settings: the contract check's
error budget (``Settings.quarantine_tolerance``) and ``row_count_sanity`` when a table shrinks."""

from __future__ import annotations

import dagster as dg
import pytest
from deltalake import DeltaTable

from base.settings import Settings
from lake.ingest import LandingZone
from tests.conftest import drop, extract_lines
from tests.lake.test_ingest import mutate

BOOKINGS = dg.AssetKey(["bronze", "pms_bookings"])


def platform(settings: Settings) -> dg.Definitions:
    from orchestration.definitions import build_definitions
    from orchestration.warehouse.resources import prepare_manifest

    prepare_manifest(settings)
    return build_definitions(settings)


def materialize(defs: dg.Definitions, settings: Settings, instance: dg.DagsterInstance):
    """The code location's bronze bookings asset, with the resources the definitions built
    from the settings (the landing zone of ``settings.home``)."""
    asset = defs.resolve_assets_def(BOOKINGS)
    return dg.materialize([asset], instance=instance, raise_on_error=False)


def check(result, name):
    [evaluation] = [e.asset_check_evaluation_data for e in result.all_events
                    if e.event_type_value == "ASSET_CHECK_EVALUATION"
                    and e.asset_check_evaluation_data.asset_check_key.name == name]
    return evaluation


def export_with_bad_rows(n_rows: int, n_bad: int) -> str:
    """The first n_rows real bookings, n_bad of them (spread through the file) with an
    unknown hotel."""
    lines = extract_lines(n_rows)
    step = n_rows // max(n_bad, 1)
    bad = {1 + i * step for i in range(n_bad)}
    body = [mutate(line, hotel="Nowhere Inn") if i in bad else line
            for i, line in enumerate(lines) if i > 0]
    return "\n".join([lines[0], *body]) + "\n"


@pytest.mark.parametrize("n_bad, passes", [(0, True), (2, True), (3, False), (40, False)])
def test_the_contract_check_passes_within_the_default_error_budget(tmp_path, n_bad, passes):
    """Default budget 0.1 %: 2 bad rows of 2,000 are within it, 3 are not."""
    settings = Settings(home=tmp_path / "home")
    assert settings.quarantine_tolerance == 0.001
    drop(settings.home, "pms", "export.csv", export_with_bad_rows(2_000, n_bad))
    with dg.DagsterInstance.ephemeral() as instance:
        result = materialize(platform(settings), settings, instance)
    assert result.success  # good rows land either way
    contract = check(result, "contract")
    assert contract.metadata["quarantined_rows"].value == n_bad
    assert contract.metadata["rows_read"].value == 2_000
    assert contract.passed is passes
    assert contract.severity == dg.AssetCheckSeverity.WARN
    assert check(result, "row_count_sanity").passed


def test_the_error_budget_is_the_settings_one(tmp_path):
    """The same file (1 % bad) fails the default budget and passes a 2 % budget."""
    text = export_with_bad_rows(1_000, 10)
    outcomes = {}
    for tolerance in (0.001, 0.02):
        settings = Settings(home=tmp_path / f"home_{tolerance}", quarantine_tolerance=tolerance)
        drop(settings.home, "pms", "export.csv", text)
        with dg.DagsterInstance.ephemeral() as instance:
            contract = check(materialize(platform(settings), settings, instance), "contract")
        assert contract.metadata["error_budget"].value == f"{tolerance:.2%} of rows read"
        outcomes[tolerance] = contract.passed
    assert outcomes == {0.001: False, 0.02: True}


def test_row_count_sanity_fails_when_the_table_shrinks_between_runs(tmp_path):
    settings = Settings(home=tmp_path / "home")
    defs = platform(settings)
    lines = extract_lines(120)
    drop(settings.home, "pms", "day1.csv", "\n".join(lines[:61]) + "\n")
    with dg.DagsterInstance.ephemeral() as instance:
        first = materialize(defs, settings, instance)
        assert first.success and check(first, "row_count_sanity").passed
        loaded = first.asset_materializations_for_node("bronze__pms_bookings")[0].metadata[
            "dagster/row_count"].value

        # Between two runs, rows disappear from bronze (a stray delete, a bad restore...).
        uri = LandingZone.from_settings(settings).lake.uri("bronze/pms_bookings")
        table = DeltaTable(uri)
        gone = table.to_pyarrow_table(columns=["booking_id"])["booking_id"].to_pylist()[:5]
        table.delete("booking_id in (" + ", ".join(f"'{b}'" for b in gone) + ")")
        assert DeltaTable(uri).to_pyarrow_table(columns=["booking_id"]).num_rows == loaded - 5

        # The next run brings a new file; the table is still smaller than it was.
        drop(settings.home, "pms", "day2.csv", "\n".join([lines[0], *lines[61:64]]) + "\n")
        second = materialize(defs, settings, instance)
    assert second.success
    sanity = check(second, "row_count_sanity")
    assert not sanity.passed, sanity.metadata
    assert sanity.metadata["rows_before"].value == loaded  # as the last run left it
    assert sanity.metadata["rows_after"].value == loaded - 5 + 3 < loaded


def test_row_count_sanity_passes_when_the_table_only_grows(tmp_path):
    settings = Settings(home=tmp_path / "home")
    defs = platform(settings)
    lines = extract_lines(80)
    drop(settings.home, "pms", "day1.csv", "\n".join(lines[:41]) + "\n")
    with dg.DagsterInstance.ephemeral() as instance:
        first = materialize(defs, settings, instance)
        drop(settings.home, "pms", "day2.csv", "\n".join([lines[0], *lines[41:]]) + "\n")
        second = materialize(defs, settings, instance)
    before = first.asset_materializations_for_node("bronze__pms_bookings")[0].metadata["dagster/row_count"].value
    sanity = check(second, "row_count_sanity")
    assert sanity.passed
    assert sanity.metadata["rows_before"].value == before
    assert sanity.metadata["rows_after"].value > before
