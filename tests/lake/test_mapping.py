"""Another PMS's export, read through lake/mappings/opera_style.yaml without code."""

from lake.tables import QUARANTINE
from tests.conftest import drop

HEADER = ("ConfNo;Property;Arrival;Departure;LeadDays;Adults;Children;Infants;Board;Nationality;"
          "Segment;Channel;RoomType;RoomAssigned;Deposit;GuestType;DailyRate;Status;StatusDate;"
          "ProfileId;Room")
ROWS = [
    # Friday 3 March 2017 → Sunday 5 March: a Friday night (week) and a Saturday night (weekend)
    "OP-1;LIS01;03/03/2017;05/03/2017;30;2;0;0;BB;PRT;OTA;OTA;A;A;NONE;TRN;95.5;CO;06/03/2017;P9;101",
    "OP-2;ALG01;10/07/2017;17/07/2017;120;2;1;0;HB;GBR;DIR;DIR;D;D;NRF;TRN;140;CXL;01/06/2017;P7;",
    "OP-3;LIS01;31/02/2017;02/03/2017;5;1;0;0;BB;PRT;DIR;DIR;A;A;NONE;TRN;80;CO;02/03/2017;P1;",
    "OP-4;LIS01;03/03/2017;04/03/2017;5;1;0;0;BB;PRT;WALKIN;DIR;A;A;NONE;TRN;80;CO;04/03/2017;P2;",
]


def test_a_mapped_pms_export_lands_in_the_reference_model(home, zone, lake):
    path = drop(home, "pms", "opera_20170301.csv", "\n".join([HEADER, *ROWS]) + "\n")
    result = zone.ingest(path)
    assert result.layout == "mapping:opera_style"
    assert (result.rows_loaded, result.rows_quarantined) == (2, 2)

    b = lake.read("bronze/pms_bookings").sort("booking_id")
    one, two = b.iter_rows(named=True)
    assert (one["booking_id"], one["hotel"], str(one["arrival_date"])) == ("OP-1", "City Hotel", "2017-03-03")
    assert (one["nights"], one["stays_in_weekend_nights"], one["stays_in_week_nights"]) == (2, 1, 1)
    assert (one["market_segment"], one["distribution_channel"], one["is_canceled"]) == ("Online TA", "TA/TO", False)
    assert str(one["booking_date"]) == "2017-02-01" and one["room_number"] == "101"
    assert (two["hotel"], two["is_canceled"], two["reservation_status"]) == ("Resort Hotel", True, "Canceled")
    assert (two["deposit_type"], two["meal"], two["nights"]) == ("Non Refund", "HB", 7)

    q = lake.read(QUARANTINE.name).sort("line_number")
    assert "unparseable arrival_date '31/02/2017'" in q["reason"][0]
    assert "market_segment 'WALKIN' is not one of" in q["reason"][1]
    assert q["raw"][1] == ROWS[3]


def test_the_mappings_are_those_of_the_settings_folder(tmp_path):
    """A landing zone reads the mappings folder it is configured with: without the
    opera_style mapping the same export is an unknown layout and nothing lands."""
    import shutil

    import pytest

    from base.settings import Settings
    from lake.delta_tables import Lake
    from lake.ingest import LandingZone
    from lake.readers import LandingFileError

    empty, only_opera = tmp_path / "no_mappings", tmp_path / "opera_only"
    empty.mkdir()
    only_opera.mkdir()
    shutil.copy(Settings().mappings_dir / "opera_style.yaml", only_opera)
    text = "\n".join([HEADER, *ROWS]) + "\n"

    bare = Settings(home=tmp_path / "bare", mappings_dir=empty)
    path = drop(bare.home, "pms", "opera_20170301.csv", text)
    with pytest.raises(LandingFileError, match=r"no mapping in lake/mappings/ fits \(tried \[\]\)"):
        LandingZone.from_settings(bare).ingest(path)
    assert Lake.from_settings(bare).read("bronze/pms_bookings").is_empty()

    mapped = Settings(home=tmp_path / "mapped", mappings_dir=only_opera)
    path = drop(mapped.home, "pms", "opera_20170301.csv", text)
    assert LandingZone.from_settings(mapped).ingest(path).layout == "mapping:opera_style"
    assert Lake.from_settings(mapped).read("bronze/pms_bookings").height == 2
