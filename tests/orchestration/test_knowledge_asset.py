"""The knowledge base asset and its sensor: a changed document re-indexes the table."""

from __future__ import annotations

import dagster as dg

from base.settings import Settings
from orchestration.language.assets import knowledge_base
from orchestration.language.resources import Knowledge
from orchestration.language.sensors import knowledge_sensor
from tests.language.test_knowledge_base import PETS, write


def tick(knowledge: Knowledge):
    with dg.build_sensor_context(resources={"knowledge": knowledge}) as context:
        return knowledge_sensor(context)


def test_the_sensor_reindexes_when_a_document_changes(tmp_path):
    settings = Settings(home=tmp_path / "home", knowledge_dir=write(tmp_path / "docs"))
    knowledge = Knowledge.from_settings(settings)
    first = tick(knowledge)
    assert isinstance(first, dg.RunRequest)  # nothing built yet

    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize([knowledge_base], resources={"knowledge": knowledge},
                                instance=instance)
    assert result.success
    [event] = result.get_asset_materialization_events()
    metadata = event.materialization.metadata
    assert metadata["dagster/row_count"].value == 7 and metadata["languages"].value == "en, vi"
    assert f"knowledge:{metadata['digest'].value}" == first.run_key
    assert isinstance(tick(knowledge), dg.SkipReason)  # current

    (settings.knowledge_dir / "en" / "pets.md").write_text(PETS + "\nCats are welcome too.\n",
                                                           encoding="utf-8")
    again = tick(knowledge)
    assert isinstance(again, dg.RunRequest) and again.run_key != first.run_key
