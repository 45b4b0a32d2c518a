"""The asset catalog as a data engineer reads it in the Dagster UI: one key convention for
every layer, dbt models described by their yml docs (never their SQL) and stored in the
published marts file, no "(unserializable)" row, bronze columns with types and descriptions."""

from __future__ import annotations

import json

import dagster as dg
import pytest
from dagster._core.definitions.metadata import normalize_metadata

from base.settings import Settings
from lake.sources import SOURCES
from lake.tables import bronze

LAYERS = {"bronze", "staging", "intermediate", "marts", "warehouse", "features", "models", "pricing",
          "vision", "language", "ops", "reports"}
# What the UI leaves out of an asset's metadata (MetadataEntry.tsx, HIDDEN_METADATA_ENTRY_LABELS).
HIDDEN_IN_THE_UI = {"dagster_dbt/manifest", "dagster_dbt/dagster_dbt_translator"}


@pytest.fixture(scope="module")
def catalog(tmp_path_factory) -> tuple[Settings, dict[str, dg.AssetSpec], dict]:
    from orchestration.definitions import build_definitions
    from orchestration.warehouse.resources import prepare_manifest

    settings = Settings(home=tmp_path_factory.mktemp("catalog") / "home")
    manifest = json.loads(prepare_manifest(settings).read_text())
    specs = {spec.key.to_user_string(): spec
             for spec in build_definitions(settings).resolve_all_asset_specs()}
    return settings, specs, manifest


def models(manifest: dict) -> list[dict]:
    return [n for n in manifest["nodes"].values() if n["resource_type"] == "model"]


def test_every_asset_key_is_its_layer_or_domain_then_its_name(catalog):
    _, specs, manifest = catalog
    for key, spec in specs.items():
        assert len(spec.key.path) == 2 and spec.key.path[0] in LAYERS, key
    for node in models(manifest):
        layer = node["fqn"][1]
        assert f"{layer}/{node['name']}" in specs
        assert specs[f"{layer}/{node['name']}"].group_name == layer
    marts = {k for k in specs if k.startswith("marts/")}
    assert {"marts/fct_bookings", "marts/dim_hotels"} <= marts and len(marts) >= 10


def test_the_models_are_stored_in_the_published_file(catalog):
    settings, specs, manifest = catalog
    assert settings.marts_path.stem == "marts"
    for node in models(manifest):
        spec = specs[f"{node['fqn'][1]}/{node['name']}"]
        schema = "main" if node["fqn"][1] == "marts" else node["fqn"][1]
        assert spec.metadata["dagster/table_name"] == f"marts.{schema}.{node['name']}"
        assert spec.metadata["dagster/uri"] == str(settings.marts_path)
        assert spec.metadata["dagster/storage_kind"] == "duckdb"
    assert not any("marts_build" in str(v) for spec in specs.values()
                   for k, v in spec.metadata.items() if k not in HIDDEN_IN_THE_UI)


def test_descriptions_are_the_yml_docs_never_the_sql(catalog):
    _, specs, manifest = catalog
    for node in models(manifest):
        assert node["description"], f"{node['name']} has no description in its _*.yml"
        description = specs[f"{node['fqn'][1]}/{node['name']}"].description
        assert description == node["description"]
    for key, spec in specs.items():
        text = (spec.description or "").lower()
        assert text and "raw sql" not in text and not text.lstrip().startswith(("select", "with ", "{{")), key


def test_no_metadata_row_reads_unserializable(catalog):
    _, specs, _ = catalog
    for key, spec in specs.items():
        shown = {k: v for k, v in normalize_metadata(spec.metadata, allow_invalid=True).items()
                 if k not in HIDDEN_IN_THE_UI}
        assert not [k for k, v in shown.items() if "(unserializable)" in str(v.value)], key


def test_bronze_columns_have_types_and_the_descriptions_of_the_dbt_sources(catalog):
    _, specs, manifest = catalog
    for name, source in SOURCES.items():
        schema = specs[f"bronze/{name}"].metadata["dagster/column_schema"]
        documented = manifest["sources"][f"source.innsight.bronze.{name}"]["columns"]
        assert [c.name for c in schema.columns] == list(bronze(source).schema)
        for column in schema.columns:
            assert column.type and column.type != "?"
            assert column.description and column.description == documented[column.name]["description"]
