"""The knowledge base's job."""

import dagster as dg

from orchestration.language.assets import KNOWLEDGE_BASE

KNOWLEDGE_JOB = dg.define_asset_job(
    "build_knowledge_base", selection=[KNOWLEDGE_BASE],
    description="Re-embed the knowledge documents into LanceDB.")
