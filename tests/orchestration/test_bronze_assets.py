"""Bronze assets in Dagster: metadata, contract and row-count checks, unreadable files."""

import dagster as dg

from lake.sources import SOURCES
from orchestration.ingest.assets import build_bronze_asset
from tests.conftest import drop, extract_lines
from tests.lake.test_ingest import mutate


def materialize_bookings(zone, tolerance: float = 0.001):
    asset = build_bronze_asset(SOURCES["pms_bookings"], freshness_hours=26, tolerance=tolerance)
    return dg.materialize([asset], resources={"landing": zone},
                          instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)


def check(result, name):
    [evaluation] = [e.asset_check_evaluation_data for e in result.all_events
                    if e.event_type_value == "ASSET_CHECK_EVALUATION"
                    and e.asset_check_evaluation_data.asset_check_key.name == name]
    return evaluation


def test_good_file_materialises_with_counts_and_passing_checks(home, zone):
    drop(home, "pms", "export.csv", "\n".join(extract_lines(100)) + "\n")
    result = materialize_bookings(zone)
    assert result.success
    metadata = result.asset_materializations_for_node("bronze__pms_bookings")[0].metadata
    assert metadata["dagster/row_count"].value == 100
    assert metadata["files_ingested"].value == 1 and metadata["rows_quarantined"].value == 0
    assert check(result, "contract").passed and check(result, "row_count_sanity").passed


def test_broken_rows_fail_the_contract_check_with_reasons(home, zone):
    lines = extract_lines(20)
    bad = [mutate(lines[1], hotel="Nowhere Inn"), mutate(lines[2], adr="-5")]
    drop(home, "pms", "broken.csv", "\n".join([lines[0], *bad, *lines[3:]]) + "\n")
    result = materialize_bookings(zone)
    assert result.success  # good rows landed
    contract = check(result, "contract")
    assert not contract.passed
    assert contract.metadata["quarantined_rows"].value == 2
    reasons = contract.metadata["reasons"].value
    assert any("unknown hotel" in r for r in reasons) and any("adr -5" in r for r in reasons)
    assert check(result, "row_count_sanity").passed  # 18 loaded + 2 quarantined = 20 read


def test_an_unreadable_file_fails_the_run_naming_it_and_good_files_still_land(home, zone):
    drop(home, "pms", "a_good.csv", "\n".join(extract_lines(10)) + "\n")
    drop(home, "pms", "z_corrupt.csv.gz", b"\x1f\x8b\x08\x00 definitely not gzip")
    result = materialize_bookings(zone)
    assert not result.success
    [failure] = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert "z_corrupt.csv.gz" in failure.step_failure_data.error.message
    assert zone.lake.read("bronze/pms_bookings").height == 10
    # The next run does not fail again on the same unreadable file; it is in the ingest log.
    assert materialize_bookings(zone).success
