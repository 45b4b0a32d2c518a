"""The Feast feature repository: model inputs defined once (``inputs``), sources exported
from the marts, entities / views / services, and the store API (``store.FeatureStore``)."""
