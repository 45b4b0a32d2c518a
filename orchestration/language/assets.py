"""The knowledge base asset: the hotels' policies, SOPs and FAQ embedded into LanceDB."""

import dagster as dg

from orchestration.language.resources import Knowledge

LANGUAGE = "language"
KNOWLEDGE_BASE = dg.AssetKey([LANGUAGE, "knowledge_base"])


@dg.asset(key=KNOWLEDGE_BASE, group_name=LANGUAGE, kinds={"lancedb"},
          description="The Markdown documents of the knowledge folder (one folder per language) "
                      "cut into passages at their headings, embedded with the configured text "
                      "embedder and stored in the LanceDB table `knowledge` with a full-text "
                      "index (accents folded). Rebuilt whole, as one new table version; the "
                      "`knowledge_sensor` starts it when a document changes.")
def knowledge_base(context: dg.AssetExecutionContext,
                   knowledge: dg.ResourceParam[Knowledge]) -> dg.MaterializeResult:
    built = knowledge.base.rebuild(knowledge.folder)
    context.log.info(f"knowledge base: {built['passages']} passages of {built['documents']} "
                     f"documents ({', '.join(built['languages'])})")
    return dg.MaterializeResult(metadata={
        "dagster/row_count": built["passages"], "documents": built["documents"],
        "languages": ", ".join(built["languages"]), "digest": built["digest"],
        "embedder": built["embedder"], "folder": str(knowledge.folder)},
        data_version=dg.DataVersion(built["digest"]))
